#!/usr/bin/env bash
# The one build. CI (scripts/test.sh) and the container image's build stage
# (deploy/docker/Dockerfile) both run it, so a green CI means the image's build
# stage configures and compiles the same way.
#
#   scripts/build.sh                          configure build/ (Ninja, RelWithDebInfo), build all
#   scripts/build.sh crm-customer crmctl      build only these targets
#   scripts/build.sh --shipped                build only the binaries the image ships
#   scripts/build.sh --build-dir DIR ...      build in DIR (default: $CRM_BUILD_DIR, else build)
#   scripts/build.sh --install PREFIX [--strip] ...
#                                             then copy the shipped binaries that were built
#                                             to PREFIX/bin (--strip: drop debug info)
#
# Shipped binaries: crm-<svc> of every services/<svc>/ that defines that target
# (crm-customer today), crmctl, crm-devbroker and crm-bench.
# CRM_BUILD_TYPE overrides RelWithDebInfo.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${CRM_BUILD_DIR:-build}
build_type=${CRM_BUILD_TYPE:-RelWithDebInfo}
prefix=""
strip=0
shipped_only=0
targets=()

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
}

while [ $# -gt 0 ]; do
  case $1 in
    --build-dir) build_dir=${2:?--build-dir needs a directory}; shift 2 ;;
    --build-dir=*) build_dir=${1#*=}; shift ;;
    --install) prefix=${2:?--install needs a prefix}; shift 2 ;;
    --install=*) prefix=${1#*=}; shift ;;
    --strip) strip=1; shift ;;
    --shipped) shipped_only=1; shift ;;
    -h | --help) usage; exit 0 ;;
    -*) echo "build.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done

# ccache (the compiler launcher, CMakeLists.txt) hashes paths under the checkout
# relative to it and leaves the working directory out, so that a fresh clone in
# another directory (every CI run) hits the cache of the previous one. The price:
# an object from the cache names the first clone's paths in its debug info and
# __FILE__ (gtest's failure messages).
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD}
export CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE="$build_type" > /dev/null

# The binaries an installation carries: the tools, and crm-<svc> of each service
# folder whose binary target exists yet (a service under construction may have
# libraries and tests but no binary).
defined=$(cmake --build "$build_dir" --target help | sed -n 's/^\([^:]*\): phony$/\1/p')
is_defined() { grep -qxF "$1" <<< "$defined"; }
shipped=(crmctl crm-devbroker crm-bench)
for dir in services/*/; do
  name=crm-$(basename "$dir")
  if is_defined "$name"; then
    shipped+=("$name")
  elif [ -f "$dir/CMakeLists.txt" ] && [ -n "$prefix" ]; then
    echo "build.sh: services/$(basename "$dir") has no $name target yet: not shipped"
  fi
done

if [ "$shipped_only" -eq 1 ]; then
  targets+=("${shipped[@]}")
fi
if [ ${#targets[@]} -gt 0 ]; then
  cmake --build "$build_dir" -j"$(nproc)" --target "${targets[@]}"
else
  cmake --build "$build_dir" -j"$(nproc)"
fi

[ -n "$prefix" ] || exit 0

# Install: the shipped binaries this run built (all of them after a full build).
requested() {
  local t
  [ ${#targets[@]} -eq 0 ] && return 0
  for t in "${targets[@]}"; do [ "$t" = "$1" ] && return 0; done
  return 1
}
mkdir -p "$prefix/bin"
installed=0
for name in "${shipped[@]}"; do
  requested "$name" || continue
  mapfile -t found < <(find "$build_dir/services" "$build_dir/tools" -mindepth 2 -maxdepth 2 \
    -type f -perm -u+x -name "$name" 2> /dev/null)
  if [ ${#found[@]} -ne 1 ]; then
    echo "build.sh: expected one built $name under $build_dir/{services,tools}/*/, found ${#found[@]}" >&2
    exit 1
  fi
  install -m 0755 "${found[0]}" "$prefix/bin/$name"
  [ "$strip" -eq 0 ] || strip --strip-debug "$prefix/bin/$name"
  installed=$((installed + 1))
done
if [ "$installed" -eq 0 ]; then
  echo "build.sh: --install: none of the shipped binaries (${shipped[*]}) was built" >&2
  exit 1
fi
echo "build.sh: installed $installed binaries in $prefix/bin"
