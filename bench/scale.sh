#!/usr/bin/env bash
# Scale run: the suite with a big store, built through the public APIs, then the
# read latencies, memory, disk and restart time at that size (docs/performance.md).
#
#   bench/scale.sh --preset=small         50,000 customers, 250,000 interactions, 10,000 tickets
#   bench/scale.sh --preset=full          1,000,000 / 5,000,000 / 200,000
#   bench/scale.sh --preset=sales         20,000 customers and 100,000 opportunities
#                                         (no interactions, no tickets)
#   bench/scale.sh --preset=small --keep  keep the temp dir (logs, data dirs)
#   bench/scale.sh --preset=full --reuse=DIR   measure again on the data dirs a
#                                              --keep run of the same preset left
#                                              in DIR (no generation)
#   CRM_BUILD_DIR=build-x bench/scale.sh --preset=small
#   TMPDIR=/data bench/scale.sh --preset=full     data dirs on another file system
#
# Starts crm-devbroker and the four services from $CRM_BUILD_DIR (default build) on
# free loopback ports (port 0) with data dirs in a temp dir, then:
#   generate   crm-bench grpc --scenario=generate: every customer (RegisterCustomer +
#              RecordTransaction), follow-up (LogFollowUp) and ticket (OpenTicket)
#   catch-up   until crm-classification's report counts every customer (at most 10 min)
#   get        crm-bench grpc --scenario=get --existing=N: GetCustomer of random
#              existing customers, --seconds, closed loop with --callers (the
#              machine saturated), then open loop at 1000/s
#   list       crm-bench grpc --scenario=list --existing=1: ListCustomers filtered by
#              region, first page of 50; closed loop, then open loop at 200/s
#   report     crmctl classification report (executive token): wall time of 3 calls
#              (crmctl's own start and connection included), the median
#   sales      (when the preset has opportunities) crm-bench grpc --scenario=opportunity:
#              CreateOpportunity writes per second, closed loop; then
#              --scenario=pipeline-report with 1 caller: GetPipelineReport of every
#              opportunity, now and as of the end of the generation
#   memory     VmRSS of each process; disk: du -sm of each data dir
#   restart    kill -9 crm-customer, start it again with the same flags, time until
#              its ready line
# and prints one `scale <what>: <value>` line each on stdout (progress on stderr).
#   rebuild    stop crm-customer (SIGTERM), start it with --rebuild_projections:
#              it replays its whole log into the customer rows, list indexes and
#              duplicate keys before serving, and logs the events replayed and
#              the rate (`projections_rebuilt`)
# Exit code 1 when a step fails (its log's tail is printed and the temp dir kept).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${CRM_BUILD_DIR:-build}
preset=""
keep=0
reuse=""
callers=64
seconds=10

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  echo "Flags: --preset=small|full|sales (required) --keep --reuse=DIR --callers=N (64) --seconds=N (10)"
}

while [ $# -gt 0 ]; do
  case $1 in
    --preset=*) preset=${1#*=} ;;
    --callers=*) callers=${1#*=} ;;
    --seconds=*) seconds=${1#*=} ;;
    --keep) keep=1 ;;
    --reuse=*) reuse=${1#*=} ;;
    -h | --help) usage; exit 0 ;;
    *) echo "scale.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case $preset in
  small) customers=50000 interactions=250000 tickets=10000 opportunities=0 ;;
  full) customers=1000000 interactions=5000000 tickets=200000 opportunities=0 ;;
  sales) customers=20000 interactions=0 tickets=0 opportunities=100000 ;;
  *) echo "scale.sh: --preset=small, full or sales required" >&2; usage >&2; exit 2 ;;
esac
for n in "$seconds" "$callers"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "scale.sh: not a positive integer: $n" >&2; exit 2; }
done

say() { echo "scale.sh: $*" >&2; }
die() {
  say "error: $*"
  keep=1
  exit 1
}

# --- set-up: build, scratch directory ------------------------------------------------
scripts/build.sh --build-dir "$build" crm-bench crmctl crm-devbroker crm-customer \
  crm-interaction crm-ticket crm-classification >&2
bench_bin=$build/tools/bench/crm-bench
crmctl_bin=$build/tools/crmctl/crmctl
devbroker_bin=$build/tools/devbroker/crm-devbroker
secret=${CRM_JWT_SECRET_FILE:-$root/libs/auth/dev/dev_hs256.secret}

if [ -n "$reuse" ]; then
  [ -d "$reuse/customer" ] || { echo "scale.sh: no data dirs in $reuse" >&2; exit 2; }
  work=$(cd "$reuse" && pwd)
  keep=1  # never delete what the caller handed in
  # The logs start afresh (ready lines are counted); the old ones stay as *.log.1.
  for f in "$work"/*.log; do mv "$f" "$f.1"; done
  mv "$work/generate.log.1" "$work/generate.log"
else
  work=$(mktemp -d "${TMPDIR:-/tmp}/crm-scale-XXXXXX")
fi
fstype=$(df --output=fstype "$work" | tail -n1)

pids=()
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2> /dev/null || true
    wait "${pids[$i]}" 2> /dev/null || true
  done
  if [ "$keep" -eq 1 ]; then
    say "kept $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_logged NAME COMMAND...: runs a step with its output in $work/NAME.log; on
# failure prints the log's tail and exits.
run_logged() {
  local name=$1
  shift
  if ! "$@" > "$work/$name.log" 2>&1; then
    say "$name failed ($*); last lines of $work/$name.log:"
    tail -n 20 "$work/$name.log" >&2
    keep=1
    exit 1
  fi
}

# wait_for FILE PATTERN [TENTHS]: until FILE has a line matching PATTERN (polled
# every 20 ms), at most TENTHS/10 s (default 60 s).
wait_for() {
  local _
  for _ in $(seq $((${3:-600} * 5))); do
    grep -q "$2" "$1" 2> /dev/null && return 0
    sleep 0.02
  done
  die "timed out waiting for $2 in $1"
}

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f\n", b - a }'; }

# launch_service NAME [FLAGS...]: starts crm-NAME with its data dir $work/NAME on
# port 0 (flags kept in $work/NAME.flags for the restart); sets svc_pid[NAME].
# wait_ready NAME N: until crm-NAME's log has N ready lines (polled every 20 ms, at
# most 5 min); sets svc_addr[NAME] from the last one.
# start_service NAME [FLAGS...]: both, for the first start.
declare -A svc_pid svc_addr
launch_service() {
  local name=$1
  shift
  : > "$work/$name.flags"
  [ $# -eq 0 ] || printf '%s\n' "$@" > "$work/$name.flags"
  setsid "$build/services/$name/crm-$name" --data_dir="$work/$name" --grpc_port=0 \
    --admin_port=0 --kafka_brokers="$brokers" --jwt_secret_file="$secret" "$@" \
    >> "$work/$name.log" 2>&1 &
  pids+=($!)
  svc_pid[$name]=$!
}
wait_ready() {
  local name=$1 n=$2 _
  for _ in $(seq 15000); do
    [ "$(grep -c '"event":"ready"' "$work/$name.log")" -ge "$n" ] && break
    kill -0 "${svc_pid[$name]}" 2> /dev/null || die "crm-$name exited ($work/$name.log)"
    sleep 0.02
  done
  [ "$(grep -c '"event":"ready"' "$work/$name.log")" -ge "$n" ] ||
    die "crm-$name did not become ready ($work/$name.log)"
  svc_addr[$name]=$(grep '"event":"ready"' "$work/$name.log" | tail -n1 |
    sed -n 's/.*"grpc":"\([^"]*\)".*/\1/p')
  [ -n "${svc_addr[$name]}" ] || die "no gRPC address in crm-$name's ready line ($work/$name.log)"
}
start_service() {
  launch_service "$@"
  wait_ready "$1" 1
}

say "preset $preset: $customers customers, $interactions interactions, $tickets tickets;" \
  "scratch $work ($fstype), $(nproc) hardware threads"
[ "$fstype" != tmpfs ] || say "warning: $work is on tmpfs: the figures mean little"

say "starting crm-devbroker and the four services"
setsid "$devbroker_bin" --bootstrap_file="$work/bootstrap" > "$work/devbroker.log" 2>&1 &
pids+=($!)
devbroker_pid=$!
wait_for "$work/bootstrap" .
brokers=$(cat "$work/bootstrap")
start_service customer
start_service interaction --customer_addr="${svc_addr[customer]}"
start_service ticket --customer_addr="${svc_addr[customer]}"
start_service classification
# Every consumer group must have its partitions before the load starts: a consumer
# that joins later reads from the earliest offset the dev broker still has, and
# (seen once) missed the first events of crm.customer.v1.events that way.
if [ -z "$reuse" ]; then  # (reused stores hold offsets of the earlier broker's topics)
  for name in customer interaction ticket classification; do
    wait_for "$work/$name.log" '"event":"consumer_assigned"'
  done
fi
addrs=(--customer_addr="${svc_addr[customer]}" --interaction_addr="${svc_addr[interaction]}"
  --ticket_addr="${svc_addr[ticket]}" --classification_addr="${svc_addr[classification]}")

# --- generate --------------------------------------------------------------------------
say "crm-bench grpc --scenario=generate --customers=$customers --interactions=$interactions" \
  "--tickets=$tickets --opportunities=$opportunities --callers=$callers" \
  "(progress in $work/generate.log)"
if [ -n "$reuse" ]; then
  say "reusing the data generated earlier in $work (its generate.log has the rates)"
  generate_s="(reused: $(sed -n 's/^generate s: //p' "$work/generate.s" 2> /dev/null || true))"
else
  t0=$(now)
  run_logged generate "$bench_bin" grpc --scenario=generate --customers="$customers" \
    --interactions="$interactions" --tickets="$tickets" --opportunities="$opportunities" \
    --callers="$callers" --jwt_secret_file="$secret" "${addrs[@]}"
  generate_s=$(elapsed "$t0")
  echo "generate s: $generate_s" > "$work/generate.s"
  date +%s > "$work/generate.end"
fi
grep -q '^errors: 0$' "$work/generate.log" || die "generate counted errors ($work/generate.log)"

# --- classification catch-up -----------------------------------------------------------
token=$("$crmctl_bin" token --sub eve --roles executive --secret_file="$secret" 2> /dev/null)
report() {
  "$crmctl_bin" classification report --addr="${svc_addr[classification]}" --token="$token" \
    --timeout=120s
}
say "waiting until crm-classification's report counts $customers customers"
# (at most 10 min, and at most 60 s without progress).
t0=$(now)
classified=0
stalled=0
for _ in $(seq 300); do
  before=$classified
  classified=$(report 2> "$work/report.err" | sed -n 's/^customers: *\([0-9]*\)$/\1/p' || true)
  [ ! -s "$work/report.err" ] || say "report failed: $(tail -n1 "$work/report.err")"
  classified=${classified:-0}
  [ "$classified" -lt "$customers" ] || break
  if [ "$classified" -eq "$before" ]; then stalled=$((stalled + 1)); else stalled=0; fi
  [ "$stalled" -lt 30 ] || break
  sleep 2
done
catchup_s=$(elapsed "$t0")
if [ "$classified" -lt "$customers" ]; then
  say "warning: crm-classification's report counts $classified of $customers customers"
  catchup_s="not caught up after $catchup_s"
fi

# --- reads -----------------------------------------------------------------------------
# bench_p99 NAME ROW FLAGS...: crm-bench grpc, then the p99 ms of ROW's line in
# $p99 and the final rate in $rate.
# A first flag --callers=N replaces the --callers of the run.
bench_p99() {
  local name=$1 row=$2 n=$callers
  shift 2
  if [[ ${1:-} == --callers=* ]]; then
    n=${1#*=}
    shift
  fi
  say "crm-bench grpc $* --callers=$n --seconds=$seconds"
  run_logged "$name" "$bench_bin" grpc "$@" --callers="$n" --seconds="$seconds" \
    --jwt_secret_file="$secret" "${addrs[@]}"
  p99=$(awk -v row="$row" '$1 == row { print $6 }' "$work/$name.log" | tail -n1)
  [ -n "$p99" ] || die "no $row row in $work/$name.log"
  rate=$(sed -n 's/^rate [a-z-]*: //p' "$work/$name.log" | tail -n1)
}
# Closed loop (every caller busy: the machine saturated), then open loop at a
# fixed rate well below that (latency without the queueing of a saturated machine).
bench_p99 get GetCustomer --scenario=get --existing="$customers"
get_p99=$p99 get_rate=$rate
bench_p99 get_open GetCustomer --scenario=get --existing="$customers" --rate=1000
get_open_p99=$p99
bench_p99 list ListCustomers --scenario=list --existing=1
list_p99=$p99 list_rate=$rate
bench_p99 list_open ListCustomers --scenario=list --existing=1 --rate=200
list_open_p99=$p99

if [ "$opportunities" -gt 0 ]; then
  bench_p99 opportunity CreateOpportunity --scenario=opportunity --existing="$customers"
  opportunity_p99=$p99 opportunity_rate=$rate
  bench_p99 pipeline GetPipelineReport --callers=1 --scenario=pipeline-report
  pipeline_p50=$(awk '$1 == "GetPipelineReport" { print $4 }' "$work/pipeline.log" | tail -n1)
  pipeline_p99=$p99 pipeline_rate=$rate
  # As of the end of the generation: every generated opportunity, none of the later ones.
  [ -f "$work/generate.end" ] || die "no $work/generate.end (a --reuse of a run before it was kept)"
  ago=$(( $(date +%s) - $(cat "$work/generate.end") ))
  bench_p99 pipeline_as_of GetPipelineReport --callers=1 --scenario=pipeline-report \
    --as_of_seconds_ago="$ago"
  pipeline_as_of_p50=$(awk '$1 == "GetPipelineReport" { print $4 }' "$work/pipeline_as_of.log" | tail -n1)
  pipeline_as_of_p99=$p99
fi

report_ms=()
for i in 1 2 3; do
  t0=$(now)
  run_logged "report$i" report
  report_ms+=("$(awk -v s="$(elapsed "$t0")" 'BEGIN { printf "%.0f\n", s * 1000 }')")
done
report_median=$(printf '%s\n' "${report_ms[@]}" | sort -n | sed -n 2p)

# --- memory, disk ----------------------------------------------------------------------
rss_mb() { awk '/^VmRSS:/ { printf "%.0f\n", $2 / 1024 }' "/proc/$1/status"; }
declare -A rss disk
for name in customer interaction ticket classification; do
  rss[$name]=$(rss_mb "${svc_pid[$name]}")
  disk[$name]=$(du -sm "$work/$name" | cut -f1)
done
rss_broker=$(rss_mb "$devbroker_pid")

# --- restart after SIGKILL -------------------------------------------------------------
say "kill -9 crm-customer, start it again with the same flags"
kill -KILL "${svc_pid[customer]}"
wait "${svc_pid[customer]}" 2> /dev/null || true
echo "--- restart after kill -9" >> "$work/customer.log"
mapfile -t flags < "$work/customer.flags"
t0=$(now)
launch_service customer ${flags[@]+"${flags[@]}"}
wait_ready customer 2
restart_s=$(elapsed "$t0")

# --- projection rebuild ------------------------------------------------------------------
say "stop crm-customer, start it with --rebuild_projections"
kill -TERM "${svc_pid[customer]}"
wait "${svc_pid[customer]}" 2> /dev/null || true
echo "--- rebuild" >> "$work/customer.log"
launch_service customer ${flags[@]+"${flags[@]}"} --rebuild_projections
wait_ready customer 3
rebuilt=$(grep '"event":"projections_rebuilt"' "$work/customer.log" | tail -n1)
[ -n "$rebuilt" ] || die "no projections_rebuilt line in $work/customer.log"
json_number() { sed -n "s/.*\"$1\":\([0-9.e+-]*\).*/\1/p" <<< "$rebuilt"; }
rebuild_events=$(json_number events)
rebuild_s=$(json_number seconds)
rebuild_rate=$(json_number events_per_s)

# --- results ---------------------------------------------------------------------------
echo "scale preset: $preset ($customers customers, $interactions interactions, $tickets tickets, $opportunities opportunities; $(nproc) hardware threads, $fstype)"
echo "scale generate s: $generate_s"
sed -n 's/^generate \([a-z]*\): [0-9]* in [0-9.]* s, \([0-9.]*\)\/s.*/scale generate rate \1 per s: \2/p' \
  "$work/generate.log"
echo "scale classification catch-up s: $catchup_s (report counts $classified of $customers customers)"
echo "scale get p99 ms: $get_p99 (closed loop, $callers callers: $get_rate/s)"
echo "scale get p99 ms at 1000/s: $get_open_p99 (open loop)"
echo "scale list p99 ms: $list_p99 (closed loop, $callers callers: $list_rate/s; region filter, page 50)"
echo "scale list p99 ms at 200/s: $list_open_p99 (open loop)"
echo "scale report ms: $report_median (median of ${report_ms[*]})"
if [ "$opportunities" -gt 0 ]; then
  echo "scale opportunity writes per s: $opportunity_rate (CreateOpportunity, closed loop, $callers callers; p99 $opportunity_p99 ms)"
  echo "scale pipeline report ms p50 / p99: $pipeline_p50 / $pipeline_p99 (1 caller: $pipeline_rate/s; $opportunities opportunities and those the write step added)"
  echo "scale pipeline report as of the end of the generation ms p50 / p99: $pipeline_as_of_p50 / $pipeline_as_of_p99 (1 caller)"
fi
for name in customer interaction ticket classification; do
  echo "scale rss MB crm-$name: ${rss[$name]}"
done
echo "scale rss MB crm-devbroker: $rss_broker"
for name in customer interaction ticket classification; do
  echo "scale disk MB crm-$name: ${disk[$name]}"
done
echo "scale restart-to-ready s crm-customer: $restart_s"
echo "scale rebuild events per s crm-customer: $rebuild_rate ($rebuild_events events in $rebuild_s s)"
