#!/usr/bin/env bash
# Smoke test of `crm-bench grpc` (ctest crm_bench_grpc_smoke, label bench): starts
# crm-devbroker and the four services as processes on free loopback ports, runs
# every scenario for 1 s with 4 callers and --preload=20 (generate: 20 customers, 40
# follow-ups, 10 tickets; then get on those with --existing), and checks that each
# run ends with its final line and counts zero errors. Never checks a speed.
#
#   grpc_bench_smoke.sh CRM_BENCH DEVBROKER CUSTOMER INTERACTION TICKET CLASSIFICATION SECRET
set -uo pipefail
if [[ $# -ne 7 ]]; then
  echo "usage: $0 crm-bench crm-devbroker crm-customer crm-interaction crm-ticket crm-classification secret-file" >&2
  exit 2
fi
bench=$1 devbroker=$2 customer=$3 interaction=$4 ticket=$5 classification=$6 secret=$7

dir=$(mktemp -d /tmp/crm-bench-grpc-smoke-XXXXXX)
pids=()
# Stops what this script started, services first, the broker last.
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2> /dev/null || true
    wait "${pids[$i]}" 2> /dev/null || true
  done
  rm -rf "$dir"
}
trap cleanup EXIT

fail() {
  echo "grpc smoke: FAIL: $*"
  for log in "$dir"/*.log; do
    echo "--- last lines of $log"
    tail -n 20 "$log"
  done
  exit 1
}

# Waits (up to 60 s) for a line matching `pattern` in `file`; prints the line.
wait_for() {
  local file=$1 pattern=$2 line
  for _ in $(seq 600); do
    line=$(grep -m1 "$pattern" "$file" 2> /dev/null) && {
      echo "$line"
      return 0
    }
    sleep 0.1
  done
  return 1
}

# Starts a service on port 0; sets `addr` to the gRPC address from its ready line.
start_service() {
  local name=$1 binary=$2
  shift 2
  "$binary" --data_dir="$dir/$name" --grpc_port=0 --admin_port=0 --kafka_brokers="$brokers" \
    --jwt_secret_file="$secret" "$@" > "$dir/$name.log" 2>&1 &
  pids+=($!)
  local ready
  ready=$(wait_for "$dir/$name.log" '"event":"ready"') || fail "$name did not become ready"
  addr=$(sed -E 's/.*"grpc":"([^"]+)".*/\1/' <<< "$ready")
}

"$devbroker" --bootstrap_file="$dir/bootstrap" > "$dir/devbroker.log" 2>&1 &
pids+=($!)
wait_for "$dir/bootstrap" . > /dev/null || fail "crm-devbroker did not write its bootstrap file"
brokers=$(cat "$dir/bootstrap")

start_service customer "$customer"
customer_addr=$addr
start_service interaction "$interaction" --customer_addr="$customer_addr"
interaction_addr=$addr
start_service ticket "$ticket" --customer_addr="$customer_addr"
ticket_addr=$addr
# Reclassifies queued customers every 50 ms (default 1 s) so propagation stays short.
start_service classification "$classification" --scan_interval_ms=50
classification_addr=$addr
echo "grpc smoke: suite up: customer $customer_addr, interaction $interaction_addr," \
  "ticket $ticket_addr, classification $classification_addr"

common=(--callers=4 --seconds=1 --warmup_seconds=0.2 --preload=20 --jwt_secret_file="$secret"
  --customer_addr="$customer_addr" --interaction_addr="$interaction_addr"
  --ticket_addr="$ticket_addr" --classification_addr="$classification_addr")

# run NAME EXPECTED_FINAL_LINE_REGEX ARGS...
run() {
  local name=$1 final=$2
  shift 2
  local out="$dir/run-$name.out"
  "$bench" grpc "$@" > "$out" 2> "$dir/run-$name.err"
  local rc=$?
  cat "$out"
  [[ -s "$dir/run-$name.err" ]] && sed 's/^/  stderr: /' "$dir/run-$name.err"
  [[ $rc -eq 0 ]] || fail "$name: exit code $rc"
  tail -n 1 "$out" | grep -Eq "^$final\$" || fail "$name: the last line is not '$final'"
  grep -qx "errors: 0" "$out" || fail "$name: errors counted"
  echo "grpc smoke: ok: $name"
}

for scenario in register update log-interaction ticket get list mixed opportunity pipeline-report; do
  run "$scenario" "rate $scenario: [0-9]+\.[0-9]" --scenario="$scenario" "${common[@]}"
done
run noop-in-process "rate noop: [0-9]+\.[0-9]" --scenario=noop --callers=4 --seconds=1 \
  --warmup_seconds=0.2
run noop-customer "rate noop: [0-9]+\.[0-9]" --scenario=noop --callers=4 --seconds=1 \
  --warmup_seconds=0.2 --customer_addr="$customer_addr"
run open-loop-get "rate get: [0-9]+\.[0-9]" --scenario=get --rate=200 "${common[@]}"
run propagation "propagation p99 ms: [0-9]+\.[0-9]" --scenario=propagation --rate=20 \
  --poll_interval_ms=10 "${common[@]}"
run generate "rate generate: [0-9]+\.[0-9]" --scenario=generate --customers=20 --interactions=40 \
  --tickets=10 --opportunities=25 "${common[@]}"
grep -Eq "^generate customers: 20 in " "$dir/run-generate.out" || fail "generate: not 20 customers"
grep -Eq "^generate opportunities: 25 in " "$dir/run-generate.out" ||
  fail "generate: not 25 opportunities"
run pipeline-report-as-of "rate pipeline-report: [0-9]+\.[0-9]" --scenario=pipeline-report \
  --as_of_seconds_ago=1 "${common[@]}"
run get-existing "rate get: [0-9]+\.[0-9]" --scenario=get --existing=100 "${common[@]}"
echo "grpc smoke: all scenarios passed"
