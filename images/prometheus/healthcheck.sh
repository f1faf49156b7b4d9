#!/bin/bash
# Container health check: HTTP GET http://127.0.0.1:PORT/PATH, healthy iff the status is 200.
# Uses bash's /dev/tcp so the image needs no HTTP client.   usage: healthcheck.sh PORT PATH
set -euo pipefail
port=${1:?port} path=${2:?path}
exec 3<>"/dev/tcp/127.0.0.1/${port}"
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nUser-Agent: realtime-kit-healthcheck\r\nConnection: close\r\n\r\n' "$path" >&3
IFS= read -r -t 4 status <&3
exec 3<&-
if [[ $status =~ ^HTTP/1\.[01]\ 200([[:space:]]|$) ]]; then
    exit 0
fi
echo "unhealthy: GET ${path} on :${port} answered: ${status%$'\r'}" >&2
exit 1
