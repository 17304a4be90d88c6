#!/usr/bin/env bash
# The suite's durable write path next to its peers: one command, one run, the same
# concurrency for all (see bench/README.md and docs/performance.md).
#
#   bench/compare.sh                      10 s per measurement, 64 callers
#   bench/compare.sh --seconds=5 --callers=16
#   bench/compare.sh --keep               keep the temp dir (logs, databases)
#   bench/compare.sh --pg_script=bench/postgresql/register_explicit_tx.sql
#   CRM_BUILD_DIR=build-x bench/compare.sh    build in (and run from) build-x
#   CRM_CUSTOMER_BIN=/old/build/services/customer/crm-customer bench/compare.sh
#                                         measure that crm-customer (an earlier build:
#                                         before/after figures in one run's conditions)
#   TMPDIR=/data bench/compare.sh         databases on another file system
#
# Measures, one after the other on this machine:
#   suite_register  crm-bench grpc --scenario=register against crm-customer (RocksDB
#                   event store, synced) with its outbox relay to crm-devbroker
#   suite_get       crm-bench grpc --scenario=get against the same crm-customer
#   noop_grpc       crm-bench grpc --scenario=noop (grpc.health Check, no-op server)
#   postgresql      pgbench, bench/postgresql/register.sql: event + outbox row +
#                   projection upsert in one transaction, synchronous_commit=on
#   db_bench        db_bench fillrandom --sync=1, same value size and thread count
# then prints one `rate <name>: <ops/s>` line each, crm-customer's context switches
# and CPU time per call over the register and get windows (crm-bench --server_pid),
# and the ratios, the last three lines exactly `ratio suite/postgresql: x.xx`,
# `ratio suite/db_bench: x.xx`, `ratio suite/noop_grpc: x.xx` (suite =
# suite_register). Progress goes to stderr.
# Exit code 1 when a step fails (its log's tail is printed).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${CRM_BUILD_DIR:-build}
seconds=10
callers=64
keep=0
value_size=""
pg_script=bench/postgresql/register.sql

usage() {
  awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"
  echo "Flags: --seconds=N (10) --callers=N (64) --keep --value_size=BYTES (default:"
  echo "measured: the suite's average event) --pg_script=FILE (bench/postgresql/register.sql)"
}

while [ $# -gt 0 ]; do
  case $1 in
    --seconds=*) seconds=${1#*=} ;;
    --callers=*) callers=${1#*=} ;;
    --value_size=*) value_size=${1#*=} ;;
    --pg_script=*) pg_script=${1#*=} ;;
    --keep) keep=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "compare.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
for n in "$seconds" "$callers" ${value_size:+"$value_size"}; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "compare.sh: not a positive integer: $n" >&2; exit 2; }
done
[ -f "$pg_script" ] || { echo "compare.sh: no such file: $pg_script" >&2; exit 2; }
pg_script=$(realpath "$pg_script")

say() { echo "compare.sh: $*" >&2; }
die() {
  say "error: $*"
  keep=1
  exit 1
}

# --- set-up: packages, build, scratch directory ------------------------------------
scripts/bootstrap.sh bench >&2
scripts/build.sh --build-dir "$build" crm-bench crm-customer crm-devbroker >&2
bench_bin=$build/tools/bench/crm-bench
customer_bin=${CRM_CUSTOMER_BIN:-$build/services/customer/crm-customer}
devbroker_bin=$build/tools/devbroker/crm-devbroker
secret=${CRM_JWT_SECRET_FILE:-$root/libs/auth/dev/dev_hs256.secret}

pg_bin=${PG_BIN:-}
if [ -z "$pg_bin" ]; then
  pg_bin=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin -type d 2> /dev/null | sort -V | tail -n1)
fi
for tool in "$pg_bin/initdb" "$pg_bin/pg_ctl" "$pg_bin/pgbench" "$pg_bin/psql"; do
  [ -x "$tool" ] || die "$tool not found (scripts/bootstrap.sh bench installs postgresql-15; PG_BIN=DIR overrides)"
done
command -v db_bench > /dev/null || die "db_bench not found (Debian package rocksdb-tools)"

work=$(mktemp -d "${TMPDIR:-/tmp}/crm-compare-XXXXXX")
fstype=$(df --output=fstype "$work" | tail -n1)
# initdb and postgres refuse to run as root: then they run as the user postgres
# (created by the postgresql packages), which must be able to reach $work/pg.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  id postgres > /dev/null 2>&1 || die "running as root and there is no user postgres to run PostgreSQL as"
  as_pg=(runuser -u postgres --)
  chmod 755 "$work"
fi

pids=()
pg_started=0
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local i
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2> /dev/null || true
    wait "${pids[$i]}" 2> /dev/null || true
  done
  if [ "$pg_started" -eq 1 ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop > /dev/null 2>&1 || true
  fi
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

# wait_for FILE PATTERN: until FILE has a line matching PATTERN, at most 60 s.
wait_for() {
  local _
  for _ in $(seq 600); do
    grep -q "$2" "$1" 2> /dev/null && return 0
    sleep 0.1
  done
  die "timed out waiting for $2 in $1"
}

# The number after `<prefix>` on the last line of FILE that has it.
last_number() {
  sed -n "s/^$2 *\([0-9][0-9.]*\).*/\1/p" "$1" | tail -n1
}

# A TCP port on 127.0.0.1 nothing listens on right now.
free_port() {
  local p _
  for _ in $(seq 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<> "/dev/tcp/127.0.0.1/$p") 2> /dev/null; then
      echo "$p"
      return 0
    fi
  done
  return 1
}

say "$callers callers, ${seconds} s per measurement, scratch $work ($fstype), $(nproc) hardware threads"
[ "$fstype" != tmpfs ] || say "warning: $work is on tmpfs, where a sync costs nothing: the figures mean little"

# --- (a) the suite: crm-customer on crm-devbroker ------------------------------------
say "starting crm-devbroker and crm-customer"
setsid "$devbroker_bin" --bootstrap_file="$work/bootstrap" > "$work/devbroker.log" 2>&1 &
pids+=($!)
wait_for "$work/bootstrap" .
brokers=$(cat "$work/bootstrap")
setsid "$customer_bin" --data_dir="$work/customer" --grpc_port=0 --admin_port=0 \
  --kafka_brokers="$brokers" --jwt_secret_file="$secret" > "$work/customer.log" 2>&1 &
pids+=($!)
customer_pid=$!
wait_for "$work/customer.log" '"event":"ready"'
customer_addr=$(grep '"event":"ready"' "$work/customer.log" | head -n1 | sed -n 's/.*"grpc":"\([^"]*\)".*/\1/p')
[ -n "$customer_addr" ] || die "no gRPC address in crm-customer's ready line ($work/customer.log)"

# grpc_bench SCENARIO [FLAGS...]: runs crm-bench grpc, sets $rate (not in a
# subshell, so that a failure keeps the logs).
grpc_bench() {
  local scenario=$1
  shift
  say "crm-bench grpc --scenario=$scenario --callers=$callers --seconds=$seconds${*:+ $*}"
  run_logged "$scenario" "$bench_bin" grpc --scenario="$scenario" --callers="$callers" \
    --seconds="$seconds" "$@"
  rate=$(last_number "$work/$scenario.log" "rate $scenario:")
  [ -n "$rate" ] || die "no 'rate $scenario:' line in $work/$scenario.log"
}

grpc_bench register --customer_addr="$customer_addr" --jwt_secret_file="$secret" \
  --server_pid="$customer_pid"
suite=$rate
register_usage=$(grep '^server ' "$work/register.log" | tail -n1)
grpc_bench get --customer_addr="$customer_addr" --jwt_secret_file="$secret" \
  --server_pid="$customer_pid"
reads=$rate
get_usage=$(grep '^server ' "$work/get.log" | tail -n1)

# Stop the suite (the store is then closed) and measure its events with ldb: the
# average serialized event (log column family) and customer row (projection
# "customers") set the value sizes of the peers.
kill -TERM "$customer_pid"
wait "$customer_pid" 2> /dev/null || true
# Average length in bytes of the values ldb prints in hex (`0xKEY : 0xVALUE`),
# over the rows whose key starts with the hex prefix $2.
avg_value_bytes() {
  awk -v prefix="$2" '
    $2 == ":" && index(toupper($1), "0X" prefix) == 1 { n++; sum += (length($3) - 2) / 2 }
    END { if (n > 0) printf "%d\n", sum / n + 0.5 }' "$1"
}
event_bytes=""
row_bytes=""
if ldb --db="$work/customer" --column_family=log scan --hex --max_keys=5000 \
  > "$work/ldb_log.txt" 2> "$work/ldb.err"; then
  event_bytes=$(avg_value_bytes "$work/ldb_log.txt" "")
fi
# Projection keys are <projection> 0x00 <key>: 637573746F6D65727300 is "customers\0".
if ldb --db="$work/customer" --column_family=projections scan --hex --max_keys=5000 \
  --from=0x637573746F6D65727300 --to=0x637573746F6D65727301 \
  > "$work/ldb_projections.txt" 2>> "$work/ldb.err"; then
  row_bytes=$(avg_value_bytes "$work/ldb_projections.txt" 637573746F6D65727300)
fi
if [ -z "$value_size" ]; then
  value_size=${event_bytes:-1024}
  [ -n "$event_bytes" ] || say "could not measure the suite's event size (see $work/ldb.err): using 1024 B"
fi
row_bytes=${row_bytes:-256}
say "value size ${value_size} B (suite's average serialized event: ${event_bytes:-?} B), projection row ${row_bytes} B"

grpc_bench noop
noop=$rate

# --- (b) PostgreSQL -------------------------------------------------------------------
say "PostgreSQL: initdb, start on 127.0.0.1 with synchronous_commit=on, fsync=on"
mkdir -p "$work/pg"
[ ${#as_pg[@]} -eq 0 ] || chown postgres: "$work/pg"
run_logged pg_initdb "${as_pg[@]}" "$pg_bin/initdb" -D "$work/pg/data" -U crm -A trust -E UTF8
pg_port=""
for _ in 1 2 3 4 5; do
  port=$(free_port) || die "found no free TCP port"
  if "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -l "$work/pg/server.log" -w -t 60 start \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $work/pg -c synchronous_commit=on -c fsync=on -c max_connections=$((callers + 20))" \
    > "$work/pg_start.log" 2>&1; then
    pg_port=$port
    pg_started=1
    break
  fi
done
[ -n "$pg_port" ] || { tail -n 20 "$work/pg/server.log" >&2; die "PostgreSQL did not start"; }
pg_conn=(-h 127.0.0.1 -p "$pg_port" -U crm)
run_logged pg_schema "$pg_bin/psql" "${pg_conn[@]}" -d postgres -qX -v ON_ERROR_STOP=1 \
  -f bench/postgresql/schema.sql
random_hex() { head -c "$1" /dev/urandom | od -An -v -tx1 | tr -d ' \n'; }
payload=$(random_hex "$value_size")
row=$(random_hex "$row_bytes")
pg_jobs=$(($(nproc) < callers ? $(nproc) : callers))
pgbench_run() {
  "$pg_bin/pgbench" "${pg_conn[@]}" -n -c "$callers" -j "$pg_jobs" -T "$1" -f "$pg_script" \
    -D payload="$payload" -D row="$row" postgres
}
say "pgbench -c $callers -j $pg_jobs -T $seconds -f ${pg_script#"$root"/} (after a 1 s warm-up)"
run_logged pgbench_warmup pgbench_run 1
run_logged pgbench pgbench_run "$seconds"
postgresql=$(last_number "$work/pgbench.log" "tps =")
[ -n "$postgresql" ] || die "no 'tps =' line in $work/pgbench.log"
failed=$(last_number "$work/pgbench.log" "number of failed transactions:")
[ "${failed:-0}" = 0 ] || die "pgbench: $failed failed transactions ($work/pgbench.log)"
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$work/pg/data" -m fast -w stop > /dev/null 2>&1 || true
pg_started=0

# --- (c) db_bench ---------------------------------------------------------------------
say "db_bench --benchmarks=fillrandom --sync=1 --threads=$callers --value_size=$value_size --duration=$seconds"
run_logged db_bench db_bench --benchmarks=fillrandom --sync=1 --threads="$callers" \
  --value_size="$value_size" --num=10000000 --duration="$seconds" --ops_between_duration_checks=1 \
  --db="$work/db_bench"
db_bench=$(sed -n 's/^fillrandom *:.* \([0-9][0-9.]*\) ops\/sec.*/\1/p' "$work/db_bench.log" | tail -n1)
[ -n "$db_bench" ] || die "no fillrandom ops/sec in $work/db_bench.log"

# --- results --------------------------------------------------------------------------
# Rates with one decimal, ratios with two.
fmt() { awk -v a="$1" 'BEGIN { printf "%.1f\n", a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f\n", a / b; else print "nan" }'; }
echo "callers: $callers, seconds: $seconds, value size: $value_size B, scratch: $fstype"
echo "rate suite_register: $(fmt "$suite") ops/s"
echo "rate suite_get: $(fmt "$reads") ops/s"
echo "rate noop_grpc: $(fmt "$noop") ops/s"
echo "rate postgresql: $(fmt "$postgresql") tx/s"
echo "rate db_bench: $(fmt "$db_bench") ops/s"
# crm-customer over each window, from /proc (crm-bench --server_pid).
per_call() { sed -n "s/.* \([0-9.]*\) $1\/call.*/\1/p" <<< "$2"; }
echo "crm-customer per register: $(per_call "context switches" "$register_usage") context switches, $(per_call "us CPU" "$register_usage") us CPU"
echo "crm-customer per get: $(per_call "context switches" "$get_usage") context switches, $(per_call "us CPU" "$get_usage") us CPU"
echo "ratio reads/noop_grpc: $(ratio "$reads" "$noop")"
echo "ratio suite/postgresql: $(ratio "$suite" "$postgresql")"
echo "ratio suite/db_bench: $(ratio "$suite" "$db_bench")"
echo "ratio suite/noop_grpc: $(ratio "$suite" "$noop")"
