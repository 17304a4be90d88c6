#!/usr/bin/env bash
# The newcomer's run command: installs what is missing, builds, and starts the
# local suite on the embedded broker (crm-devbroker) with data under .local/.
# Prints each service's address and one ready line; Ctrl-C stops everything.
# crm-devbroker keeps its topics in memory only, so every run starts with empty
# service stores too: stores kept from an earlier run would hold consumer offsets
# and published cursors of topics that no longer exist (their consumers would skip
# the new records as already seen).
#
#   ./scripts/run.sh
#   CRM_LOCAL_DIR=/tmp/crm ./scripts/run.sh      # data somewhere else
#   CRM_BUILD_DIR=build-x ./scripts/run.sh       # build in (and run from) build-x
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=${CRM_BUILD_DIR:-build}
scripts/bootstrap.sh
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo > /dev/null
cmake --build "$build" -j"$(nproc)" --target crm-devbroker crm-customer crm-interaction crm-ticket \
  crm-classification crmctl

data=${CRM_LOCAL_DIR:-$root/.local}
mkdir -p "$data"
secret=${CRM_JWT_SECRET_FILE:-$root/libs/auth/dev/dev_hs256.secret}
customer_port=${CRM_CUSTOMER_PORT:-50051}
customer_admin_port=${CRM_CUSTOMER_ADMIN_PORT:-9101}
interaction_port=${CRM_INTERACTION_PORT:-50052}
interaction_admin_port=${CRM_INTERACTION_ADMIN_PORT:-9102}
ticket_port=${CRM_TICKET_PORT:-50053}
ticket_admin_port=${CRM_TICKET_ADMIN_PORT:-9103}
classification_port=${CRM_CLASSIFICATION_PORT:-50054}
classification_admin_port=${CRM_CLASSIFICATION_ADMIN_PORT:-9104}

pids=()
# Stops the services first (they flush their outboxes), the broker last. Each child
# runs in its own session (setsid), so a Ctrl-C reaches only this script.
stop() {
  trap - INT TERM EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2> /dev/null || true
    wait "${pids[$i]}" 2> /dev/null || true
  done
  echo '{"event":"suite_stopped"}'
}
trap stop INT TERM EXIT

# Waits until `file` has a line matching `pattern`, or gives up after 60 s.
wait_for() {
  local file=$1 pattern=$2
  for _ in $(seq 600); do
    grep -q "$pattern" "$file" 2> /dev/null && return 0
    sleep 0.1
  done
  echo "timed out waiting for $pattern in $file" >&2
  return 1
}

rm -f "$data/bootstrap"
rm -rf "$data/customer" "$data/interaction" "$data/ticket" "$data/classification"
setsid "$build"/tools/devbroker/crm-devbroker --bootstrap_file="$data/bootstrap" > "$data/devbroker.log" 2>&1 &
pids+=($!)
wait_for "$data/bootstrap" .
brokers=$(cat "$data/bootstrap")
echo "{\"event\":\"started\",\"service\":\"crm-devbroker\",\"bootstrap\":\"$brokers\"}"

setsid "$build"/services/customer/crm-customer --data_dir="$data/customer" --grpc_port="$customer_port" \
  --admin_port="$customer_admin_port" --kafka_brokers="$brokers" --jwt_secret_file="$secret" \
  > "$data/customer.log" 2>&1 &
pids+=($!)
wait_for "$data/customer.log" '"event":"ready"'
echo "{\"event\":\"started\",\"service\":\"crm-customer\",\"grpc\":\"127.0.0.1:$customer_port\",\"admin\":\"http://127.0.0.1:$customer_admin_port\"}"

setsid "$build"/services/interaction/crm-interaction --data_dir="$data/interaction" \
  --grpc_port="$interaction_port" --admin_port="$interaction_admin_port" \
  --kafka_brokers="$brokers" --jwt_secret_file="$secret" \
  --customer_addr="127.0.0.1:$customer_port" > "$data/interaction.log" 2>&1 &
pids+=($!)
wait_for "$data/interaction.log" '"event":"ready"'
echo "{\"event\":\"started\",\"service\":\"crm-interaction\",\"grpc\":\"127.0.0.1:$interaction_port\",\"admin\":\"http://127.0.0.1:$interaction_admin_port\"}"

setsid "$build"/services/ticket/crm-ticket --data_dir="$data/ticket" \
  --grpc_port="$ticket_port" --admin_port="$ticket_admin_port" \
  --kafka_brokers="$brokers" --jwt_secret_file="$secret" \
  --customer_addr="127.0.0.1:$customer_port" > "$data/ticket.log" 2>&1 &
pids+=($!)
wait_for "$data/ticket.log" '"event":"ready"'
echo "{\"event\":\"started\",\"service\":\"crm-ticket\",\"grpc\":\"127.0.0.1:$ticket_port\",\"admin\":\"http://127.0.0.1:$ticket_admin_port\"}"

# Calls no other service: everything it needs comes from the three topics.
setsid "$build"/services/classification/crm-classification --data_dir="$data/classification" \
  --grpc_port="$classification_port" --admin_port="$classification_admin_port" \
  --kafka_brokers="$brokers" --jwt_secret_file="$secret" > "$data/classification.log" 2>&1 &
pids+=($!)
wait_for "$data/classification.log" '"event":"ready"'
echo "{\"event\":\"started\",\"service\":\"crm-classification\",\"grpc\":\"127.0.0.1:$classification_port\",\"admin\":\"http://127.0.0.1:$classification_admin_port\"}"

cat << EOT
{"event":"ready","kafka":"$brokers","customer":"127.0.0.1:$customer_port","interaction":"127.0.0.1:$interaction_port","ticket":"127.0.0.1:$ticket_port","classification":"127.0.0.1:$classification_port","logs":"$data"}
Try:
  export CRM_TOKEN=\$($build/tools/crmctl/crmctl token --sub alice --roles sales_rep --region north)
  $build/tools/crmctl/crmctl customer register --name "Acme Ltd" --industry manufacturing
  $build/tools/crmctl/crmctl customer list
  $build/tools/crmctl/crmctl interaction log-follow-up --customer_id ID --channel phone --content "Intro call"
  $build/tools/crmctl/crmctl ticket open --customer_id ID --type complaint --channel phone --subject "Late delivery"
  $build/tools/crmctl/crmctl classification get --customer_id ID
  $build/tools/crmctl/crmctl events tail --brokers=$brokers --from_beginning
Ctrl-C stops the suite.
EOT
wait -n "${pids[@]}"
echo "a process of the suite ended; stopping the rest (logs in $data)" >&2
