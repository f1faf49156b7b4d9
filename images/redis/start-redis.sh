#!/bin/bash
# Starts Redis requiring the password in REDIS_PASSWORD. The password goes to Redis as
# configuration on stdin (`redis-server -`), so no process's command line shows it; the kit gives
# every deployment its own (plan/secrets.ts). Without one Redis does not start: anything that can
# reach its port could PUBLISH into the Socket.IO adapter's channels and so to every client.
#
# With REDIS_TLS_CERT and REDIS_TLS_KEY (PEM) Redis also serves TLS on 6380, the port the kit
# publishes for realtime nodes on other machines: they verify this certificate, so the password
# and the broadcasts never cross the hosts' network in clear. Redis reads both from files, written
# here to /run/redis-tls (a tmpfs only this user can read) and dropped from this process's
# environment. Clients still authenticate with the password; no client certificate is asked for.
#
# Redis runs under run-with-json-logs, which writes its log lines as JSON; it is started from here,
# after the key left the environment, so that no process of the container holds the key there.
set -euo pipefail

# A refusal, as one JSON line like every other line of the container (the messages hold no quotes).
fail() {
  printf '{"t":"%s","program":"redis","level":"error","msg":"realtime-kit/redis: %s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" >&2
  exit 2
}

if [ -z "${REDIS_PASSWORD:-}" ]; then
  fail "REDIS_PASSWORD is empty; set it to the password the Socket.IO adapters use (the kit sets one for every deployment)"
fi
case "$REDIS_PASSWORD" in
  *[!A-Za-z0-9_.~+/=-]*)
    fail "REDIS_PASSWORD may hold only letters, digits and _ . ~ + / = - (it is written into Redis's configuration)" ;;
esac

tls=()
if [ -n "${REDIS_TLS_CERT:-}" ] || [ -n "${REDIS_TLS_KEY:-}" ]; then
  if [ -z "${REDIS_TLS_CERT:-}" ] || [ -z "${REDIS_TLS_KEY:-}" ]; then
    fail "REDIS_TLS_CERT and REDIS_TLS_KEY go together (PEM certificate and its key); one is empty"
  fi
  dir=/run/redis-tls
  if ! [ -d "$dir" ] || ! [ -w "$dir" ]; then
    fail "TLS needs a writable $dir for the certificate and key (the kit mounts a tmpfs there)"
  fi
  umask 077
  printf '%s\n' "$REDIS_TLS_CERT" > "$dir/redis.crt"
  printf '%s\n' "$REDIS_TLS_KEY" > "$dir/redis.key"
  unset REDIS_TLS_CERT REDIS_TLS_KEY
  tls=(--tls-port 6380 --tls-cert-file "$dir/redis.crt" --tls-key-file "$dir/redis.key" --tls-auth-clients no)
fi

exec perl /usr/local/lib/realtime-kit/run-with-json-logs --program redis -- redis-server - --port 6379 --bind 0.0.0.0 --protected-mode no --save "" --appendonly no \
  --dir /var/lib/redis --daemonize no --logfile "" "${tls[@]}" <<< "requirepass \"$REDIS_PASSWORD\""
