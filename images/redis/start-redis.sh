#!/bin/bash
# Starts Redis requiring the password in REDIS_PASSWORD. The password goes to Redis as
# configuration on stdin (`redis-server -`), so no process's command line shows it; the kit gives
# every deployment its own (plan/secrets.ts). Without one Redis does not start: anything that can
# reach its port could PUBLISH into the Socket.IO adapter's channels and so to every client.
set -euo pipefail
if [ -z "${REDIS_PASSWORD:-}" ]; then
  echo "realtime-kit/redis: REDIS_PASSWORD is empty; set it to the password the Socket.IO adapters use (the kit sets one for every deployment)" >&2
  exit 2
fi
case "$REDIS_PASSWORD" in
  *[!A-Za-z0-9_.~+/=-]*)
    echo "realtime-kit/redis: REDIS_PASSWORD may hold only letters, digits and _ . ~ + / = - (it is written into Redis's configuration)" >&2
    exit 2 ;;
esac
exec redis-server - --port 6379 --bind 0.0.0.0 --protected-mode no --save "" --appendonly no \
  --dir /var/lib/redis --daemonize no --logfile "" <<< "requirepass \"$REDIS_PASSWORD\""
