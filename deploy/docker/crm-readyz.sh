#!/usr/bin/env bash
# crm-readyz [PORT] [PATH]: exits 0 when http://127.0.0.1:PORT/PATH answers 200
# (default: $CRM_ADMIN_PORT, else 9101, and /readyz), 1 otherwise.
#
# The container health check of every service (docker-compose.yml). The runtime
# image has no curl on purpose (fewer packages, fewer CVEs to patch); bash's
# /dev/tcp is enough for one plain-HTTP request to the admin port.
set -euo pipefail
port=${1:-${CRM_ADMIN_PORT:-9101}}
path=${2:-/readyz}

exec 3<> "/dev/tcp/127.0.0.1/$port"
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3
status=""
IFS=' ' read -r -t 5 _ status _ <&3 || true
exec 3<&-
if [ "$status" != 200 ]; then
  echo "crm-readyz: GET $path on port $port: ${status:-no answer}" >&2
  exit 1
fi
