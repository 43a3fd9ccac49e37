#!/usr/bin/env bash
# make demo: canistry end to end on one machine with no internet. Starts the replica double with
# demo canisters, the api, poller and notifier pointed at it, registers the demo canisters
# through the api, and runs a simulated miner that sends each notification as a 13-copy jittered
# storm every few seconds. Open the printed /test URL and watch. Ctrl-C stops everything.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: demo.sh

Builds the binaries into DEMO_DIR/bin, then starts, in order: the replica double (icdouble) on
IC_ADDR, the api, the poller and the notifier (LOCAL_DEV=true, data in DEMO_DIR/data), registers
the double's demo canisters, and starts stormsim. Everything listens on loopback only.

The temporary directory it makes (binaries, database, logs: about 200 MB) is removed when the
demo stops; after a failure its logs/ are kept and named. DEMO_DIR, when given, is left alone.

Environment (defaults): DEMO_DIR (a new temporary directory), IC_ADDR (127.0.0.1:4943),
API_PORT (8080), NOTIFIER_PORT (8081), POLLER_PORT (8082), NATS_PORT (4223),
DEMO_CANISTERS (tokens=2,ledgers=1,miners=3,wallets=1,snses=3), STORM_EVERY (3s), STORM_COPIES (13).
EOF
}

case "${1:-}" in
-h | --help) usage && exit 0 ;;
"") ;;
*) usage >&2 && exit 2 ;;
esac

need_cmd go
need_cmd curl
own_dir=0 # 1 when this script made DEMO_DIR and so removes it
if [ -z "${DEMO_DIR:-}" ]; then
  DEMO_DIR=$(mktemp -d "${TMPDIR:-/tmp}/canistry-demo.XXXXXX")
  own_dir=1
fi
IC_ADDR=${IC_ADDR:-127.0.0.1:4943}
API=http://127.0.0.1:${API_PORT:-8080}
NOTIFIER=http://127.0.0.1:${NOTIFIER_PORT:-8081}
mkdir -p "$DEMO_DIR/bin" "$DEMO_DIR/logs"

# The demo's configuration, the same for all three binaries. The keys are demo values.
export DATA_DIR=$DEMO_DIR/data
export API_ADDR=127.0.0.1:${API_PORT:-8080}
export NOTIFIER_ADDR=127.0.0.1:${NOTIFIER_PORT:-8081}
export POLLER_ADDR=127.0.0.1:${POLLER_PORT:-8082}
export NOTIFIER_URL=$NOTIFIER
export NATS_URL=nats://127.0.0.1:${NATS_PORT:-4223}
export IC_URL=http://$IC_ADDR
export IC_FETCH_ROOT_KEY=true
export LOCAL_DEV=true
export NOTIFY_API_KEYS=demo-notify-key-0123456789
export ADMIN_API_KEY=demo-admin-key-0123456789
export REFRESH_SCHEDULE="@every 15s"
export USE_HTTPS=false

say "building into $DEMO_DIR/bin"
(
  cd "$CANISTRY_ROOT"
  for pkg in ./cmd/api ./cmd/poller ./cmd/notifier ./pkg/ic/ictest/cmd/icdouble ./pkg/notify/cmd/stormsim; do
    go build -trimpath -o "$DEMO_DIR/bin/$(basename "$pkg")" "$pkg"
  done
)

declare -a order=()
declare -A pids=()
stopping=0

# start NAME ARGS...: runs bin/NAME in the background (own session, so Ctrl-C reaches only this
# script), logging to logs/NAME.log.
start() {
  local name=$1
  shift
  setsid "$DEMO_DIR/bin/$name" "$@" >"$DEMO_DIR/logs/$name.log" 2>&1 &
  pids[$name]=$!
  order+=("$name")
}

stop_all() {
  local i n
  for ((i = ${#order[@]} - 1; i >= 0; i--)); do
    n=${order[i]}
    [ -n "${pids[$n]:-}" ] || continue
    kill -TERM "${pids[$n]}" 2>/dev/null || true
    wait "${pids[$n]}" 2>/dev/null || true
    unset "pids[$n]"
  done
}
trap 'stopping=1' INT TERM

# cleanup: on exit, stops what still runs and removes the directory this script made; after a
# failure (exit status not 0) its logs stay for a look.
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
  local rc=$?
  stop_all
  [ "$own_dir" = 1 ] || return 0
  if [ "$rc" = 0 ]; then
    rm -rf "$DEMO_DIR"
    echo "demo: removed $DEMO_DIR"
  else
    rm -rf "${DEMO_DIR:?}/bin" "${DEMO_DIR:?}/data"
    echo "demo: logs kept in $DEMO_DIR/logs (rm -rf $DEMO_DIR when done)" >&2
  fi
}
trap cleanup EXIT

# wait_for WHAT CHECK...: retries CHECK every 0.1 s for up to 30 s.
wait_for() {
  local what=$1 i
  shift
  for ((i = 0; i < 300; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    [ "$stopping" = 1 ] && return 1
    sleep 0.1
  done
  echo "demo: $what did not come up; logs are in $DEMO_DIR/logs" >&2
  return 1
}

fail() {
  stop_all
  exit 1
}

start icdouble -addr "$IC_ADDR" -demo "${DEMO_CANISTERS:-tokens=2,ledgers=1,miners=3,wallets=1,snses=3}"
wait_for "the replica double" curl -fsS "$IC_URL/api/v2/status" -o /dev/null || fail
wait_for "the demo canister list" grep -q '^miner ' "$DEMO_DIR/logs/icdouble.log" || fail
start api
wait_for "the api" curl -fsS "$API/healthz" || fail
start poller
start notifier
wait_for "the notifier" curl -fsS "$NOTIFIER/readyz" || fail

say "registering the demo canisters"
miners=() tokens=()
while read -r kind id; do
  case "$kind" in
  token | ledger) k=token ;;
  miner | wallet) k=$kind ;;
  *) continue ;;
  esac
  [ "$kind" = miner ] && miners+=("$id")
  [ "$kind" = token ] && tokens+=("$id")
  curl -fsS -o /dev/null -X POST "$API/canisters" -H "Authorization: Bearer $ADMIN_API_KEY" \
    -H 'Content-Type: application/json' \
    -d "{\"canister_id\":\"$id\",\"kind\":\"$k\",\"name\":\"demo $kind\",\"tags\":[\"demo\"]}" ||
    warn "could not register $kind $id"
done < <(grep -E '^(token|ledger|miner|wallet) ' "$DEMO_DIR/logs/icdouble.log")
if [ ${#miners[@]} -eq 0 ] || [ ${#tokens[@]} -eq 0 ]; then
  echo "demo: the replica double listed no miners or tokens" >&2
  fail
fi

# SNS discovery: the double serves SNS-W at its mainnet id (the default SNS_WASM_CANISTER_ID);
# one request registers every DAO's canisters, and GET /discover/sns reports the counts.
wallet=$(grep -m1 -E '^wallet ' "$DEMO_DIR/logs/icdouble.log" | awk '{print $2}' || true)
if grep -q '^sns ' "$DEMO_DIR/logs/icdouble.log"; then
  say "discovering the SNS DAOs (POST /discover/sns)"
  curl -fsS -o /dev/null -X POST "$API/discover/sns" -H "Authorization: Bearer $ADMIN_API_KEY" || warn "could not request discovery"
  wait_for "the discovery run" sh -c "curl -fsS '$API/discover/sns' | grep -q '\"added\"'" || warn "no discovery run yet"
  curl -fsS "$API/discover/sns?limit=1" | sed -n 's/.*\("daos":[0-9]*,"found":[0-9]*,"added":[0-9]*\).*/  discovery: \1/p' || true
fi

# The simulated miners go through the api's proxy, like outcalls to the public URL.
start stormsim -url "$API/miner-notifications" -key "$NOTIFY_API_KEYS" \
  -miners "$(IFS=,; echo "${miners[*]}")" -tokens "$(IFS=,; echo "${tokens[*]}")" \
  -copies "${STORM_COPIES:-13}" -every "${STORM_EVERY:-3s}"

cat <<EOF

  canistry demo is running (Ctrl-C stops everything and removes $DEMO_DIR)
    dashboard     $API/
    API reference $API/docs
    live page     $API/test          (or directly $NOTIFIER/test)
    registry      $API/canisters   $API/miners   $API/tokens   $API/wallets
    dashboard     $API/ui/wallets/${wallet:-}   $API/ui/discovery
    discovery     $API/discover/sns  (POST it with the admin key to run it again)
    status        $API/system/status
    websocket     ${API/http/ws}/ws
    storms        tail -f $DEMO_DIR/logs/stormsim.log
    logs, data    $DEMO_DIR
    admin key     $ADMIN_API_KEY   (Authorization: Bearer, REST writes)
    notify key    $NOTIFY_API_KEYS   (X-API-Key, POST /miner-notifications)

  For example:
    curl -H "Authorization: Bearer $ADMIN_API_KEY" $API/system/status

EOF

status=0
while [ "$stopping" = 0 ]; do
  wait -n "${pids[@]}" 2>/dev/null || true
  [ "$stopping" = 1 ] && break
  for n in "${order[@]}"; do
    if ! kill -0 "${pids[$n]}" 2>/dev/null; then
      echo "demo: $n exited; see $DEMO_DIR/logs/$n.log. Stopping the others." >&2
      status=1
    fi
  done
  [ "$status" = 0 ] || break
done
stop_all
exit "$status"
