#!/usr/bin/env bash
# Installs every Debian 12 package the build, the tests, the deployment checks and
# the local run need. Does nothing when they are all present. Safe to run again.
#
#   scripts/bootstrap.sh         everything ./scripts/test.sh and ./scripts/run.sh need
#   scripts/bootstrap.sh build   only what scripts/build.sh needs (the container
#                                image's build stage, deploy/docker/Dockerfile)
#   scripts/bootstrap.sh bench   what scripts/build.sh needs plus the peers
#                                bench/compare.sh measures against (PostgreSQL
#                                server and pgbench, RocksDB's db_bench); not
#                                part of `all`, so the test run never installs them
set -euo pipefail

mode=${1:-all}
case $mode in
  all | build | bench) ;;
  *)
    echo "usage: $0 [build|bench]" >&2
    exit 2
    ;;
esac

# What `cmake -S . -B build` and the build need: the top-level CMakeLists.txt
# requires GTest and benchmark even when only the binaries are built.
packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config git
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev librdkafka-dev libabsl-dev libssl-dev
  nlohmann-json3-dev libcpp-httplib-dev libcli11-dev
  # test and benchmark libraries
  googletest libgtest-dev libgmock-dev libbenchmark-dev
)
if [ "$mode" = all ]; then
  packages+=(
    # tools the tests and the local run call
    openssl rocksdb-tools kcat
    # IANA time zones: crm-ticket's business calendars (its tests and the local run)
    tzdata
    # deployment checks (scripts/check_deploy.sh)
    shellcheck docker-compose yamllint
  )
  # kubectl and npm may come from outside Debian on a machine (this machine kind
  # ships Google's kubectl and NodeSource's nodejs, which conflict with Debian's
  # packages): install Debian's only when the command is missing.
  command -v kubectl > /dev/null || packages+=(kubernetes-client)
  command -v npm > /dev/null || packages+=(npm)
fi
if [ "$mode" = bench ]; then
  # bench/compare.sh: postgresql-15 has initdb, postgres, pg_ctl and pgbench
  # (/usr/lib/postgresql/15/bin); rocksdb-tools has db_bench and ldb. Installing
  # postgresql-15 also creates (and may start) Debian's cluster "15 main" on port
  # 5432; compare.sh does not use it and runs its own server in a temp dir.
  packages+=(postgresql-15 rocksdb-tools)
fi

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2> /dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
