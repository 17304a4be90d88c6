#!/usr/bin/env bash
# Checks of the deployment files that need no Docker engine and no cluster; run by
# ./scripts/test.sh after the tests (CI). Every check runs; the exit code is 1 if
# any failed. See docs/operations.md, "What CI checks".
#
#   scripts/check_deploy.sh
#   KUBECTL=/path/to/kubectl scripts/check_deploy.sh     render with another kubectl
#
# 1. shellcheck: every shell script (scripts/*.sh, .ci/run, deploy/**/*.sh)
# 2. yamllint: deploy/ and docker-compose.yml
# 3. docker-compose config -q: the compose file as Debian's docker-compose reads it
# 4. kustomize: every overlay renders (kubectl kustomize), written so that the
#    kustomize v2.0.3 in Debian 12's kubectl renders it too (no folder under
#    `resources:`; no `patches:`, `components:`, `labels:`)
# 5. the dev overlay's copy of the dev JWT secret equals libs/auth/dev/dev_hs256.secret
# 6. schema: the rendered objects against the Kubernetes API schemas, offline
#    (deploy/validate: npm package kubernetes-models, installed by `npm ci` from the
#    lock file and kept while the lock file is unchanged), unknown fields rejected,
#    plus the suite's policy for its workloads; the validator's self-test first
# 7. image: deploy/docker/runtime-packages.txt is exactly the packages owning the
#    shared libraries of the built binaries (ldd), plus tzdata when a binary loads
#    time zones by name, and .dockerignore lets in every folder the build needs
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
root=$PWD
kubectl=${KUBECTL:-kubectl}
build_dir=${CRM_BUILD_DIR:-build}
overlays=(dev production strimzi)
start=$SECONDS
passed=0
failed=0
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# check NAME COMMAND...: runs one check, reports it, counts it.
check() {
  local name=$1
  shift
  local t0=$SECONDS
  if "$@" > "$work/out" 2>&1; then
    passed=$((passed + 1))
    echo "ok    $name ($((SECONDS - t0)) s)"
  else
    failed=$((failed + 1))
    echo "FAIL  $name"
    sed 's/^/      /' "$work/out"
  fi
}

shell_scripts() {
  {
    ls scripts/*.sh
    ls bench/*.sh
    echo .ci/run
    find deploy -name node_modules -prune -o -name '*.sh' -print
  } | sort -u
}

check_shellcheck() {
  mapfile -t files < <(shell_scripts)
  shellcheck "${files[@]}" && echo "${#files[@]} scripts"
}

check_yamllint() {
  yamllint -c deploy/yamllint.yaml -f parsable deploy docker-compose.yml
}

check_compose() {
  docker-compose -f docker-compose.yml config -q
}

# Items of the top-level list `key:` in a kustomization file.
kustomization_list() {
  awk -v key="$2:" '
    $0 ~ "^" key { inlist = 1; next }
    inlist && /^[^ #-]/ { inlist = 0 }
    inlist && /^ *- / { sub(/^ *- */, ""); sub(/ *#.*/, ""); print }' "$1"
}

check_kustomize() {
  local ok=0 k item
  while IFS= read -r k; do
    local dir
    dir=$(dirname "$k")
    if grep -qE '^(patches|components|labels|replacements):' "$k"; then
      echo "$k: uses a field kustomize v2.0.3 (Debian 12's kubectl) does not know"
      ok=1
    fi
    while IFS= read -r item; do
      if [ -d "$dir/$item" ]; then
        echo "$k: folder $item under resources: (kustomize v2.0.3 needs it under bases:)"
        ok=1
      fi
    done < <(kustomization_list "$k" resources)
  done < <(find deploy/k8s -name kustomization.yaml | sort)
  for o in "${overlays[@]}"; do
    if ! "$kubectl" kustomize "deploy/k8s/overlays/$o" > "$work/$o.yaml" 2> "$work/$o.err"; then
      echo "overlays/$o does not render:"
      cat "$work/$o.err"
      ok=1
      continue
    fi
    # Current kustomize warns that `bases` and `patchesStrategicMerge` are
    # deprecated (kept on purpose, see deploy/k8s/base/kustomization.yaml).
    grep -v -e "Warning: 'bases' is deprecated" -e "Warning: 'patchesStrategicMerge' is deprecated" \
      "$work/$o.err" || true
    echo "overlays/$o: $(grep -c '^kind:' "$work/$o.yaml") objects"
  done
  return $ok
}

check_dev_secret() {
  cmp libs/auth/dev/dev_hs256.secret deploy/k8s/overlays/dev/dev_hs256.secret
}

check_schema() {
  local v=deploy/validate stamp lock_sum
  lock_sum=$(sha256sum "$v/package-lock.json" | cut -d' ' -f1)
  stamp="$v/node_modules/.crm-lock-sha256"
  if [ "$(cat "$stamp" 2> /dev/null)" != "$lock_sum" ]; then
    (cd "$v" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    echo "$lock_sum" > "$stamp"
  fi
  node "$v/validate.cjs" --self-test || return 1
  local renders=()
  for o in "${overlays[@]}"; do
    [ -s "$work/$o.yaml" ] && renders+=("$work/$o.yaml")
  done
  [ ${#renders[@]} -eq ${#overlays[@]} ] || { echo "not every overlay rendered"; return 1; }
  (cd "$work" && node "$root/$v/validate.cjs" --policy "${overlays[@]/%/.yaml}")
}

# The Debian package owning a file, looking through /lib <-> /usr/lib (usrmerge).
owner_of() {
  local f=$1 real
  real=$(readlink -f "$f")
  for candidate in "$real" "${real#/usr}" "$f" "${f#/usr}"; do
    if dpkg -S "$candidate" 2> /dev/null | head -n1 | cut -d: -f1; then return 0; fi
  done
  echo "?$f"
}

check_image() {
  local ok=0 dir name
  # Every folder the top-level CMakeLists.txt builds from is in the build context.
  for dir in cmake scripts $(sed -n 's/^add_subdirectory(\([A-Za-z0-9_]*\)).*/\1/p' CMakeLists.txt); do
    if ! grep -qxF "!$dir/" .dockerignore; then
      echo ".dockerignore: $dir/ is needed by the build but not let into the context"
      ok=1
    fi
  done
  # runtime-packages.txt = the owners of the libraries the shipped binaries load.
  local bins=()
  for name in crm-devbroker crm-bench crmctl; do
    [ -x "$build_dir/tools/${name#crm-}/$name" ] && bins+=("$build_dir/tools/${name#crm-}/$name")
  done
  for dir in services/*/; do
    name=crm-$(basename "$dir")
    [ -x "$build_dir/services/$(basename "$dir")/$name" ] && bins+=("$build_dir/services/$(basename "$dir")/$name")
  done
  if [ ${#bins[@]} -eq 0 ]; then
    echo "no built binaries under $build_dir: runtime package list not checked (run scripts/build.sh first)"
    return $ok
  fi
  ldd "${bins[@]}" | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u > "$work/libs"
  if ldd "${bins[@]}" | grep 'not found'; then ok=1; fi
  {
    while IFS= read -r lib; do owner_of "$lib"; done < "$work/libs"
    # Data, not a library: the IANA zones (/usr/share/zoneinfo) that absl::LoadTimeZone
    # reads (crm-ticket's business calendars), imported from libabsl as cctz::load_time_zone.
    # (grep without -q: under pipefail an early exit would fail the pipeline.)
    if nm -D --undefined-only "${bins[@]}" 2> /dev/null | grep 'cctz.*load_time_zone' > /dev/null; then
      echo tzdata
    fi
  } | sort -u > "$work/needed"
  grep -v -e '^#' -e '^$' deploy/docker/runtime-packages.txt | sort -u > "$work/listed"
  if ! diff "$work/needed" "$work/listed" > "$work/diff"; then
    echo "deploy/docker/runtime-packages.txt differs from what ${bins[*]} load"
    echo "(< needed but not listed, > listed but not needed):"
    grep '^[<>]' "$work/diff"
    ok=1
  fi
  echo "${#bins[@]} binaries, $(wc -l < "$work/libs") libraries, $(wc -l < "$work/needed") packages"
  return $ok
}

check "shellcheck" check_shellcheck
check "yamllint" check_yamllint
check "docker-compose config" check_compose
check "kustomize render (${overlays[*]})" check_kustomize
check "dev JWT secret copy" check_dev_secret
check "schema validation (kubernetes-models)" check_schema
check "image runtime packages and build context" check_image

echo "check_deploy: took $((SECONDS - start)) s"
# (Worded so as not to read as a test runner's summary: ctest's is the one that counts.)
echo "deployment checks: $passed ok, $failed failing"
[ "$failed" -eq 0 ]
