# shellcheck shell=bash
# Helpers of deploy_test.sh's checks: pass/fail bookkeeping, unit properties, the running
# binaries' HTTP endpoints, the environment file. Every command runs inside the container (ct,
# container.sh). Sourced by deploy_test.sh, never run on its own.

SRC=/opt/canistry # the checkout inside the container
ENV_IN=/etc/canistry/canistry.env
NOTIFY_KEY=deploy-test-notify-key
NOTE='{"event":"mining_started","miner_id":"ryjl3-tyaaa-aaaaa-aaaba-cai","timestamp":1700000000123456789,"data":{"deploy_test":true}}'
API=http://127.0.0.1:8080   # the api as the steps reconfigure it
NOTIFIER='http://[::1]:8081' # the notifier takes plain HTTP from loopback even with USE_HTTPS
passed=0
failed=0

ok() {
  passed=$((passed + 1))
  printf 'ok    %s\n' "$*"
}

# fail MSG: reports the failed check with the units' recent journal and stops the test.
fail() {
  failed=$((failed + 1))
  printf 'FAIL  %s\n' "$*"
  if [ -n "$leader" ]; then
    printf -- '--- journalctl -u canistry-* (last 60 lines)\n'
    ct journalctl -u 'canistry-*' -n 60 --no-pager -o short-precise 2>&1 || true
  fi
  exit 1
}

# check COND_CMD... -- MSG: ok MSG when the command succeeds, else fail MSG.
expect() {
  local msg=$1
  shift
  if "$@"; then ok "$msg"; else fail "$msg"; fi
}

prop() { ct systemctl show -p "$2" --value "$1"; }
unit_of() { printf 'canistry-%s.service\n' "$1"; }

# wait_until SECONDS CMD...: polls CMD until it succeeds; false after SECONDS (a deadline for
# failing, not a measurement).
wait_until() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@"; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.5
  done
}

# set_env KEY VALUE: sets KEY in the installed environment file with lib.sh's env_file_set.
set_env() {
  # shellcheck disable=SC2016 # expanded inside the container
  ct bash -c '. '"$SRC"'/scripts/lib.sh && env_file_set "$@"' set_env "$ENV_IN" "$1" "$2"
}

# check_server ARGS...: runs scripts/check_server.sh in the container; its output is in
# $WORK/check.out.
check_server() {
  local rc=0
  ct "$SRC/scripts/check_server.sh" "$@" >"$WORK/check.out" 2>&1 || rc=$?
  sed 's/^/      | /' "$WORK/check.out"
  return "$rc"
}

# exposure UNIT: the "Overall exposure level" systemd-analyze security gives the running unit.
exposure() {
  ct systemd-analyze security --no-pager "$1" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p'
}

# expect_exposure UNIT: the running unit's exposure is at most 2.0.
expect_exposure() {
  local e
  e=$(exposure "$1")
  [ -n "$e" ] || fail "systemd-analyze security $1 printed no exposure level"
  if awk -v e="$e" 'BEGIN { exit !(e <= 2.0) }'; then
    ok "systemd-analyze security $1 (running): exposure $e <= 2.0"
  else
    fail "systemd-analyze security $1 (running): exposure $e > 2.0"
  fi
}

ccurl() { ct curl -sS -g -k --max-time 10 "$@"; }

admin_key() { ct sed -n 's/^ADMIN_API_KEY=//p' "$ENV_IN"; }

# status: GET /system/status with the admin key (the detail with row counts and versions).
status() { ccurl -H "Authorization: Bearer $(admin_key)" "$API/system/status"; }
notifications() { status | jq -r '.rows.notifications'; }

# post_note: one copy of the test outcall to the notifier; prints the whole reply (status line,
# headers, body), which every copy must repeat byte for byte.
post_note() {
  ccurl -i -H 'Content-Type: application/json' -H "X-API-Key: $NOTIFY_KEY" -d "$NOTE" "$NOTIFIER/miner-notifications"
}

# metric NAME_AND_LABELS: the notifier's value of one Prometheus series (0 when absent).
metric() {
  ccurl "$NOTIFIER/metrics" | awk -v m="$1" '$1 == m { v = $2 } END { print v + 0 }'
}

# restarted UNIT OLD_PID: the unit is active again under another main process.
restarted() {
  local pid
  [ "$(prop "$1" ActiveState)" = active ] || return 1
  pid=$(prop "$1" MainPID)
  [ "$pid" != 0 ] && [ "$pid" != "$2" ]
}

# served_fingerprint HOST:PORT: SHA-256 fingerprint of the certificate served there ([::1]:8081
# for IPv6).
served_fingerprint() {
  # shellcheck disable=SC2016 # expanded inside the container
  ct sh -c 'openssl s_client -connect "$1" -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256' sh "$1" 2>/dev/null
}
file_fingerprint() { ct openssl x509 -in "$1" -noout -fingerprint -sha256; }

# usec DURATION: a systemd duration ("20s", "1min 30s", "500ms") in microseconds.
usec() {
  local total=0 part n
  for part in $1; do
    n=${part%%[a-z]*}
    case "${part#"$n"}" in
    min) total=$((total + n * 60000000)) ;;
    s) total=$((total + n * 1000000)) ;;
    ms) total=$((total + n * 1000)) ;;
    us) total=$((total + n)) ;;
    *) die "cannot read the duration $1" ;;
    esac
  done
  printf '%s\n' "$total"
}

# journal_records UNIT CURSOR JQ_FILTER: the unit's JSON log records from CURSOR on that match
# the filter, one a line (lines that are not JSON are skipped). --cursor, not --after-cursor:
# systemd 252's journalctl with a unit filter skips the first match after a cursor whose own
# entry is of another unit.
journal_records() {
  ct journalctl --cursor="$2" -u "$1" -o cat --no-pager | jq -c -R "fromjson? | select($3)"
}

# has_records UNIT CURSOR JQ_FILTER: journald has taken in such a record (it reads the units'
# output asynchronously, so the checks poll for it).
has_records() { [ -n "$(journal_records "$@")" ]; }

journal_cursor() { ct journalctl -n 0 --show-cursor -q --no-pager | sed -n 's/^-- cursor: //p'; }
