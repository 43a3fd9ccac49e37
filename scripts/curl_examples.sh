#!/usr/bin/env bash
# Every endpoint of a running canistry with curl, in an order that works on a fresh database.
# README's "Every endpoint with curl" block is this file from the line "# Every endpoint with
# curl" on; a test checks that the two are the same and runs this script against the binaries.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: curl_examples.sh [-h|--help]

Calls every endpoint of a running canistry (after `make run`) with curl, prints each reply's
status and the start of its body, and exits 1 at the first reply whose status is not the one
expected. It registers, changes and finally deletes two example canisters.

Environment: API (default http://[::1]:8080); ADMIN_API_KEY and NOTIFY_API_KEYS, else read from
ENV_FILE when given, else from ./.env.
EOF
}
case "${1:-}" in
-h | --help) usage && exit 0 ;;
"") ;;
*) usage >&2 && exit 2 ;;
esac

# Every endpoint with curl
# Self-contained: paste it into bash after `make run`, or run scripts/curl_examples.sh. It runs
# in a subshell (the parentheses), so that stopping at an unexpected status leaves your shell open.
(
set -euo pipefail
API=${API:-http://[::1]:8080}
env_file=${ENV_FILE:-.env} # the keys when they are not in the environment (KEY=VALUE lines)
# from_env_file KEY: the last value of KEY in $env_file, without quotes; empty when absent
from_env_file() { if [ -r "$env_file" ]; then sed -n "s/^$1=//p" "$env_file" | tail -n 1 | tr -d "\"'"; fi; }
die() {
  echo "error: $*" >&2
  exit 1
}
ADMIN_API_KEY=${ADMIN_API_KEY:-$(from_env_file ADMIN_API_KEY)}
NOTIFY_API_KEYS=${NOTIFY_API_KEYS:-$(from_env_file NOTIFY_API_KEYS)}
if [ -z "$ADMIN_API_KEY" ] || [ -z "$NOTIFY_API_KEYS" ]; then
  die "set ADMIN_API_KEY and NOTIFY_API_KEYS (16 characters or more) in the environment or $env_file"
fi
NOTIFY_KEY=${NOTIFY_API_KEYS%%,*} # the first key miners may send in X-API-Key
AUTH="Authorization: Bearer $ADMIN_API_KEY"
JSON='Content-Type: application/json'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# call STATUSES CURL-ARGS...: runs curl, prints the status and the start of the body, and stops
# unless the status is one of STATUSES ("200" or "200|404").
call() {
  local want=$1 got
  shift
  : >"$tmp/body" # curl leaves the file alone when a reply has no body (304, 204)
  got=$(curl -sS -o "$tmp/body" -D "$tmp/head" -w '%{http_code}' "$@")
  printf '%s %s\n' "$got" "$(head -c 160 "$tmp/body" | tr -d '\n')"
  case "|$want|" in *"|$got|"*) ;; *) die "expected $want: curl $*" ;; esac
}
# header NAME: a header of the last reply.
header() { sed -n "s/^$1: *//Ip" "$tmp/head" | tr -d '\r'; }

# register (201), again (409), without or with a wrong key (401, 403), bad checksum or unknown field (400)
call 201 -X POST "$API/canisters" -H "$AUTH" -H "$JSON" \
  -d '{"canister_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","kind":"token","name":"ICP ledger","tags":["nns","ledger"]}'
call 201 -X POST "$API/canisters" -H "$AUTH" -H "$JSON" -d '{"canister_id":"rrkah-fqaaa-aaaaa-aaaaq-cai","kind":"miner","name":"rig one"}'
call 409 -X POST "$API/canisters" -H "$AUTH" -H "$JSON" -d '{"canister_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","kind":"token"}'
call 401 -X POST "$API/canisters" -H "$JSON" -d '{"canister_id":"aaaaa-aa","kind":"other"}'
call 403 -X POST "$API/canisters" -H "Authorization: Bearer wrong" -H "$JSON" -d '{"canister_id":"aaaaa-aa","kind":"other"}'
call 400 -X POST "$API/canisters" -H "$AUTH" -H "$JSON" -d '{"canister_id":"ryjl3-tyaaa-aaaaa-aaabb-cai","kind":"token"}'
call 400 -X POST "$API/canisters" -H "$AUTH" -H "$JSON" -d '{"canister_id":"aaaaa-aa","kind":"other","owner":"me"}'

# read, filter, page: the next page is in next_cursor and in the Link header
call 200 "$API/canisters?limit=1"
next=$(header Link | sed -n 's/^<\(.*\)>; rel="next"$/\1/p')
call 200 "$API$next"
call 200 "$API/canisters?kind=token&tag=nns&stale=true&q=icp"
call 200 "$API/canisters?verified=true&order=desc"
call 200 "$API/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai/history"

# conditional and compressed reads: 304 while the ETag holds; gzip when asked for (1 KiB or more)
call 200 "$API/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai"
call 304 "$API/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai" -H "If-None-Match: $(header ETag)"
call 200 --compressed "$API/openapi.json" # asks for gzip and decodes it
echo "openapi.json: Content-Encoding $(header Content-Encoding), $(header Content-Length) bytes on the wire"

# change, refresh (202)
call 200 -X PUT "$API/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai" -H "$AUTH" -H "$JSON" -d '{"description":"the ICP ledger"}'
call 202 -X POST "$API/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai/refresh" -H "$AUTH"
call 202 -X POST "$API/system/refresh" -H "$AUTH"

# known builds (409 once the hash is known, as on a second run)
call '201|409' -X POST "$API/module-hashes" -H "$AUTH" -H "$JSON" \
  -d '{"hash":"abababababababababababababababababababababababababababababababab","name":"icp-ledger","version":"1.0.0","kind":"token","source_url":"https://github.com/dfinity/ic"}'
call 200 "$API/module-hashes?kind=token"

# what the poller read (404 until it has read the canister)
call 200 "$API/tokens?stale=false"
call '200|404' "$API/tokens/ryjl3-tyaaa-aaaaa-aaaba-cai"
call '200|404' "$API/tokens/ryjl3-tyaaa-aaaaa-aaaba-cai/logo"
call 200 "$API/miners?mining=true"
call '200|404' "$API/miners/rrkah-fqaaa-aaaaa-aaaaq-cai"
call 200 "$API/miners/rrkah-fqaaa-aaaaa-aaaaq-cai/stats"
call 200 "$API/miners/rrkah-fqaaa-aaaaa-aaaaq-cai/stats?from=2025-03-01T00:00:00Z&to=2025-03-02T00:00:00Z&limit=500"
call 200 "$API/miners/by-token/ryjl3-tyaaa-aaaaa-aaaba-cai"

# system, description, reference page, probes, CORS preflight, HEAD
call 200 "$API/system/status"
call 200 "$API/system/status" -H "$AUTH"
call 200 "$API/openapi.json"
call 200 "$API/docs"
call 200 "$API/healthz"
call 200 "$API/readyz"
call 200 "$API/metrics"
call 204 -X OPTIONS "$API/canisters" -H 'Origin: https://example.org' -H 'Access-Control-Request-Method: GET'
call 200 -I "$API/canisters" # HEAD: GET's status and headers, no body

# the notifier's routes, proxied: /ws checks its query like REST, before any upgrade
call 400 "$API/ws?evnts=x"
call 200 "$API/ws-status"
call 200 "$API/test"
# an outcall copy, then a second copy of it: the same 200 and the same bytes
cat >"$tmp/notification.json" <<'EOF'
{"event":"solution_found","miner_id":"rrkah-fqaaa-aaaaa-aaaaq-cai","timestamp":1700000000123456789,
 "data":{"token_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","ticker":"TST","block_height":12345,"nonce":67890,"reward":50}}
EOF
call 200 -X POST "$API/miner-notifications" -H "X-API-Key: $NOTIFY_KEY" -H "$JSON" -d @"$tmp/notification.json"
call 200 -X POST "$API/miner-notifications" -H "X-API-Key: $NOTIFY_KEY" -H "$JSON" -d @"$tmp/notification.json"
call 401 -X POST "$API/miner-notifications" -H "X-API-Key: wrong" -H "$JSON" -d @"$tmp/notification.json"

# mining analytics of the token, as reported by the miners' outcalls (README "Mining analytics")
call 200 "$API/tokens/ryjl3-tyaaa-aaaaa-aaaba-cai/mining"
call 200 "$API/tokens/ryjl3-tyaaa-aaaaa-aaaba-cai/mining?from=2025-03-01T00:00:00Z&to=2025-03-31T00:00:00Z"
call 200 "$API/tokens/ryjl3-tyaaa-aaaaa-aaaba-cai/mining/series?step=15m"
call 200 "$API/tokens/ryjl3-tyaaa-aaaaa-aaaba-cai/solutions?limit=10&miner=rrkah-fqaaa-aaaaa-aaaaq-cai"
call 400 "$API/tokens/ryjl3-tyaaa-aaaaa-aaaba-cai/mining/series?step=30s"

# wallets: a registered wallet with its balances in every tracked ledger (empty until the
# poller has read them); SNS discovery: the runs so far, and one now (429 while one is running)
call 201 -X POST "$API/canisters" -H "$AUTH" -H "$JSON" -d '{"canister_id":"qaa6y-5yaaa-aaaaa-aaafa-cai","kind":"wallet","name":"treasury"}'
call 200 "$API/wallets?q=treasury"
call 200 "$API/wallets/qaa6y-5yaaa-aaaaa-aaafa-cai"
call 200 "$API/wallets/qaa6y-5yaaa-aaaaa-aaafa-cai/balances?ledger=ryjl3-tyaaa-aaaaa-aaaba-cai"
call 200 "$API/discover/sns"
call '202|429' -X POST "$API/discover/sns" -H "$AUTH"

# delete (204), again (404): the next run starts over
call 204 -X DELETE "$API/canisters/qaa6y-5yaaa-aaaaa-aaafa-cai" -H "$AUTH"
call 204 -X DELETE "$API/canisters/rrkah-fqaaa-aaaaa-aaaaq-cai" -H "$AUTH"
call 204 -X DELETE "$API/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai" -H "$AUTH"
call 404 -X DELETE "$API/canisters/ryjl3-tyaaa-aaaaa-aaaba-cai" -H "$AUTH"
echo "every reply as expected"
)
