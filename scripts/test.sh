#!/usr/bin/env bash
# The newcomer's test command: installs what is missing, builds, runs every test,
# then the deployment checks (scripts/check_deploy.sh).
#   ./scripts/test.sh            all tests, then the deployment checks
#   ./scripts/test.sh -R Event   only tests matching a regex (extra args go to ctest;
#                                the deployment checks are left out)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
scripts/build.sh --build-dir build
ctest --test-dir build --output-on-failure -j"$(nproc)" "$@"
if [ $# -eq 0 ]; then
  scripts/check_deploy.sh
fi
