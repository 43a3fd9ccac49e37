#!/usr/bin/env bash
# Runs the three binaries in the foreground for development (make run): the api first, then the
# poller and the notifier once the api is healthy. Ctrl-C or SIGTERM stops all three.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: run_local.sh

Starts bin/api, waits for its /healthz (up to READY_TIMEOUT seconds, default 15), then starts
bin/poller and bin/notifier and prints their URLs. On Ctrl-C or SIGTERM it stops the notifier
and the poller, then the api, and exits 0. If any binary exits on its own, it stops the others
and exits 1.

The binaries read .env from the current directory themselves; this script only reads API_ADDR,
NOTIFIER_ADDR, POLLER_ADDR and USE_HTTPS (from the environment, else .env) to know where to look.

Environment: BIN_DIR (default <repo>/bin), READY_TIMEOUT, API_HEALTH_URL (override the URL
polled for readiness), and every canistry variable, passed through to the binaries.
EOF
}

case "${1:-}" in
-h | --help) usage && exit 0 ;;
"") ;;
*) usage >&2 && exit 2 ;;
esac

[ -n "$BIN_DIR_GIVEN" ] || BIN_DIR=$CANISTRY_ROOT/bin
[ -n "$ENV_FILE_GIVEN" ] || ENV_FILE=./.env
for b in api poller notifier; do
  [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b not found: run make build first"
done
need_cmd curl

scheme=http
is_true "$(config USE_HTTPS false)" && scheme=https
api_addr=$(config API_ADDR '[::]:8080')
notifier_addr=$(config NOTIFIER_ADDR '[::]:8081')
poller_addr=$(config POLLER_ADDR '[::1]:8082')

# urls ADDR SCHEME: the loopback URLs of a server listening on ADDR, one a line.
urls() {
  local h
  while read -r h; do
    printf '%s://%s:%s\n' "$2" "$(url_host "$h")" "$(addr_port "$1")"
  done < <(loopbacks "$(addr_host "$1")")
}
mapfile -t api_urls < <(urls "$api_addr" "$scheme")
mapfile -t notifier_urls < <(urls "$notifier_addr" "$scheme")
mapfile -t poller_urls < <(urls "$poller_addr" http)
health_url=${API_HEALTH_URL:-${api_urls[0]}/healthz}

declare -A pids=()
stopping=0

# start NAME: runs bin/NAME in the background, in a session of its own so that a Ctrl-C in the
# terminal reaches only this script and the shutdown order below holds. (setsid does not fork
# here: a background child is not a process group leader, so $! is the binary itself.)
start() {
  if command -v setsid >/dev/null 2>&1; then
    setsid "$BIN_DIR/$1" &
  else
    "$BIN_DIR/$1" &
  fi
  pids[$1]=$!
}

# stop NAME...: SIGTERM to each running child, then wait for them.
stop() {
  local n
  for n in "$@"; do
    if [ -n "${pids[$n]:-}" ]; then kill -TERM "${pids[$n]}" 2>/dev/null || true; fi
  done
  for n in "$@"; do
    if [ -n "${pids[$n]:-}" ]; then wait "${pids[$n]}" 2>/dev/null || true; fi
    unset "pids[$n]"
  done
}

stop_all() {
  stop notifier poller
  stop api
}

trap 'stopping=1' INT TERM

start api
ready=0
for ((i = 0; i < ${READY_TIMEOUT:-15} * 10; i++)); do
  if curl -fsS -g -k --max-time 1 -o /dev/null "$health_url" 2>/dev/null; then
    ready=1
    break
  fi
  kill -0 "${pids[api]}" 2>/dev/null || break
  [ "$stopping" = 1 ] && break
  sleep 0.1
done
if [ "$stopping" = 1 ]; then
  stop_all
  exit 0
fi
if [ "$ready" != 1 ]; then
  echo "run_local: api did not become healthy at $health_url" >&2
  stop_all
  exit 1
fi

start poller
start notifier
echo "run_local: canistry is running (Ctrl-C stops it)"
echo "  dashboard      ${api_urls[-1]}/"
echo "  API reference  ${api_urls[-1]}/docs"
echo "  live page      ${api_urls[-1]}/test  (the notifier's, through the api)"
echo "  api            ${api_urls[*]}"
echo "  status         ${api_urls[-1]}/system/status"
echo "  notifier       ${notifier_urls[*]}"
echo "  poller         ${poller_urls[*]/%//metrics}"
echo "  keys           ADMIN_API_KEY and NOTIFY_API_KEYS from the environment or .env (at least 16 characters each)"

status=0
while [ "$stopping" = 0 ]; do
  # wait -n returns when a child exits or a trapped signal arrives.
  wait -n "${pids[@]}" 2>/dev/null || true
  [ "$stopping" = 1 ] && break
  for n in "${!pids[@]}"; do
    if ! kill -0 "${pids[$n]}" 2>/dev/null; then
      wait "${pids[$n]}" 2>/dev/null && rc=0 || rc=$?
      echo "run_local: $n exited (status $rc); stopping the others" >&2
      unset "pids[$n]"
      status=1
    fi
  done
  [ "$status" = 0 ] || break
done
stop_all
exit "$status"
