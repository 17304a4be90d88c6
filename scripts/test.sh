#!/usr/bin/env bash
# The newcomer's test command: installs what is missing, builds, runs every test.
#   ./scripts/test.sh            all tests
#   ./scripts/test.sh -R Event   only tests matching a regex (extra args go to ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build build -j"$(nproc)"
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
