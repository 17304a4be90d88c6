#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests and the local run need.
# Does nothing when they are all present. Safe to run again and again.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev librdkafka-dev libabsl-dev libssl-dev
  nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
  # tests and benchmarks
  googletest libgtest-dev libgmock-dev libbenchmark-dev openssl rocksdb-tools kcat
)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
