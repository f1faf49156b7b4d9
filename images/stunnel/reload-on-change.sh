#!/bin/bash
# Runs the image's program and applies a changed configuration or certificate without a new
# container. The deployment keeps these files in a volume mounted read-only at /etc/realtime-kit
# and rewrites them in place when they change (a new seed container copies them in, see
# plan/volumes.ts); this script watches that folder and, once a change has settled, checks the
# new files with the program's own check and then signals the running program: it signals PID 1,
# run-with-json-logs, which runs as this script's user and passes the signal on to the program.
#
#   reload-on-change.sh --signal SIG --check 'command' -- program [args...]
#
#   --signal  USR2 for HAProxy (master-worker reload: a new worker takes the listeners, the old one
#             finishes its connections), HUP for nginx (new workers; the old ones finish) and for
#             Prometheus (re-reads its scrape configuration, keeps its series), TERM for
#             stunnel (after dropping privileges it cannot re-read the root-only key, so it exits and
#             Docker's restart policy starts it again as root)
#   --check   shell command that must pass before the program is signalled; if it fails the
#             running program keeps its configuration and the failure is logged
#
# The folder is polled every CONFIG_POLL_SECONDS (default 2) with shell builtins only: reading a
# few small files costs next to nothing, and a poll works whatever wrote the files.
# Every image folder is its own build context, so each image using it carries a copy of this script;
# test/unit/images.test.ts keeps the copies identical.
set -euo pipefail

signal=""
check=""
while [[ $# -gt 0 && $1 != "--" ]]; do
  case $1 in
    --signal) signal=$2; shift 2 ;;
    --check) check=$2; shift 2 ;;
    *) echo "reload-on-change: unknown option $1" >&2; exit 64 ;;
  esac
done
[[ $# -gt 1 && -n $signal && -n $check ]] || { echo "usage: reload-on-change.sh --signal SIG --check 'command' -- program [args...]" >&2; exit 64; }
shift

watched=/etc/realtime-kit
interval=${CONFIG_POLL_SECONDS:-2}

# Sets $state to every readable file under the folder, with its path (a key that only root may
# read is watched where the program starts as root, i.e. where it matters).
snapshot() {
  local file content
  state=""
  shopt -s nullglob globstar
  for file in "$watched"/**; do
    [[ -f $file && -r $file ]] || continue
    IFS= read -r -d '' content <"$file" || true
    state+="$file"$'\n'"$content"$'\n'
  done
}

# One JSON line, as the program beside it logs (its own level, and `msg` saying what happened).
log() {
  local level=$1 msg="realtime-kit reload-on-change: $2"
  msg=${msg//\\/\\\\}
  msg=${msg//\"/\\\"}
  msg=${msg//$'\t'/\\t}
  msg=${msg//$'\r'/\\r}
  msg=${msg//$'\n'/\\n}
  printf '{"t":"%s","level":"%s","msg":"%s"}\n' "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$level" "$msg"
}

watch() {
  local current settled output
  snapshot
  current=$state
  while sleep "$interval"; do
    snapshot
    [[ $state == "$current" ]] && continue
    # A deployment copies its files one at a time: act once two reads in a row agree.
    settled=$state
    while sleep "$interval"; snapshot; [[ $state != "$settled" ]]; do settled=$state; done
    current=$settled
    if output=$(bash -c "$check" 2>&1); then
      log info "files under $watched changed; '$check' passed; sending SIG$signal to $1"
      kill -s "$signal" 1 || log error "could not signal $1"
    else
      log error "files under $watched changed but '$check' failed; $1 keeps its running configuration: ${output//$'\n'/ | }"
    fi
  done
}

watch "$1" &
exec "$@"
