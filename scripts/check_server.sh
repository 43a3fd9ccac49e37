#!/usr/bin/env bash
# Checks a running canistry: health of the three binaries over IPv4 and IPv6, the TLS
# certificate's expiry, NATS, and the three processes in /system/status. Exit 0 when all pass.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: check_server.sh [options] [HOST]

Checks a running canistry and exits 0 when every check passes, 1 when any fails, 2 on bad usage.

Without HOST, checks the local binaries over loopback: IPv4 127.0.0.1 and IPv6 [::1] for a
dual-stack address such as [::]:8080. With HOST (a domain name or address), checks the api and
the notifier as the internet sees them, over IPv6 (required for IC outcalls) and IPv4, verifying
the certificate unless LOCAL_DEV=true.

Checks: GET /healthz (api, notifier, poller), GET /readyz (api), GET /system/status (NATS
connected, every expected process alive) and, when USE_HTTPS=true, the certificate served on the
api and notifier ports (fails when it expires within --min-days).

Options:
  --services LIST   processes to expect, space or comma separated (default "api poller notifier")
  --wait SECONDS    retry until all checks pass or SECONDS have gone by (default 0: check once)
  --min-days N      fail when the certificate expires within N days (default 7)
  --ipv6-only       with HOST: do not require IPv4
  -h, --help        show this help

Configuration comes from the environment, else from ENV_FILE (default /etc/canistry/canistry.env,
else ./.env): API_ADDR, NOTIFIER_ADDR, POLLER_ADDR, USE_HTTPS, LOCAL_DEV.
Overrides: API_URL (base URL of the api, for example http://127.0.0.1:8080; replaces the address
pair), API_PORT, NOTIFIER_URL_CHECK, POLLER_URL, CHECK_JSON=grep (parse JSON without jq).
EOF
}

services="api poller notifier"
wait_secs=0
min_days=7
ipv6_only=0
host=""
while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --services) services=${2:?--services needs a list} && shift ;;
  --wait) wait_secs=${2:?--wait needs seconds} && shift ;;
  --min-days) min_days=${2:?--min-days needs a number} && shift ;;
  --ipv6-only) ipv6_only=1 ;;
  -*) usage >&2 && exit 2 ;;
  *)
    [ -z "$host" ] || { usage >&2 && exit 2; }
    host=$1
    ;;
  esac
  shift
done
services=${services//,/ }
case "$wait_secs$min_days" in *[!0-9]*) usage >&2 && exit 2 ;; esac

if [ -z "$ENV_FILE_GIVEN" ] && [ ! -e "$ENV_FILE" ] && [ -r ./.env ]; then
  ENV_FILE=./.env
fi
use_https=$(config USE_HTTPS false)
local_dev=$(config LOCAL_DEV false)
scheme=http
is_true "$use_https" && scheme=https

wants() { [[ " $services " == *" $1 "* ]]; }

failures=0
pass() { printf 'ok    %s\n' "$*"; }
fail() {
  printf 'FAIL  %s\n' "$*"
  failures=$((failures + 1))
}

# fetch URL OUTFILE [CURL_ARGS...]: GET URL into OUTFILE, prints the HTTP status (000 on error).
fetch() {
  local url=$1 out=$2
  shift 2
  local args=(-sS -g --max-time 5 -o "$out" -w '%{http_code}')
  if [ "$scheme" = https ] && { [ -z "$host" ] || is_true "$local_dev"; }; then
    args+=(-k) # loopback names never match the certificate; its expiry is checked below
  fi
  curl "${args[@]}" "$@" "$url" 2>"$out.err" || true
}

# first_line FILE: the first line of FILE, at most 200 characters (curl's errors run on).
first_line() { sed -n '1{s/^\(.\{200\}\).*/\1/;p;}' "$1"; }

# check_get LABEL URL [CURL_ARGS...]: passes on a 2xx answer.
check_get() {
  local label=$1 url=$2 code
  shift 2
  code=$(fetch "$url" "$tmp/body" "$@")
  case "$code" in
  2??) pass "$label ($url)" ;;
  000) fail "$label ($url): $(first_line "$tmp/body.err")" ;;
  *) fail "$label ($url): HTTP $code" ;;
  esac
}

# bases NAME ADDR_VAR DEFAULT_ADDR: prints "URL<TAB>FAMILY-LABEL" lines to reach a server.
bases() {
  local addr port h sch=$scheme
  addr=$(config "$2" "$3")
  port=$(addr_port "$addr")
  [ "$1" = poller ] && sch=http
  [ "$1" = api ] && port=${API_PORT:-$port}
  if [ -n "$host" ] && [ "$1" != poller ]; then
    printf '%s://%s:%s\t-6\tIPv6\n' "$sch" "$(url_host "$host")" "$port"
    [ "$ipv6_only" = 1 ] || printf '%s://%s:%s\t-4\tIPv4\n' "$sch" "$(url_host "$host")" "$port"
    return
  fi
  while read -r h; do
    case "$h" in
    *:*) printf '%s://[%s]:%s\t-g\tIPv6\n' "$sch" "$h" "$port" ;;
    *) printf '%s://%s:%s\t-g\tIPv4\n' "$sch" "$h" "$port" ;;
    esac
  done < <(loopbacks "$(addr_host "$addr")")
}

# json_true FILE FILTER GREP_SECTION GREP_KEY: true when the status says so. With jq the FILTER
# decides; without jq (or CHECK_JSON=grep), a flat object matching GREP_SECTION must contain
# "GREP_KEY": true.
json_true() {
  local file=$1 filter=$2 section=$3 key=$4 obj
  if command -v jq >/dev/null 2>&1 && [ "${CHECK_JSON:-}" != grep ]; then
    jq -e "$filter" "$file" >/dev/null 2>&1
    return
  fi
  obj=$(tr -d '\n' <"$file" | grep -Eo "$section" | sed -n 1p) || return 1
  grep -Eq "\"$key\"[[:space:]]*:[[:space:]]*true" <<<"$obj"
}

check_status() {
  local base=$1 name code
  code=$(fetch "$base/system/status" "$tmp/status")
  if [[ "$code" != 2?? ]]; then
    fail "api /system/status ($base/system/status): HTTP $code $(first_line "$tmp/status.err")"
    return
  fi
  pass "api /system/status"
  if json_true "$tmp/status" '.nats.connected == true' '"nats"[[:space:]]*:[[:space:]]*\{[^{}]*\}' connected; then
    pass "NATS connected"
  else
    fail "NATS not connected: $(head -c 300 "$tmp/status")"
  fi
  for name in $services; do
    # processes: a list of {"name", "alive", ...}, or an object keyed by name.
    if json_true "$tmp/status" "[(.processes // []) | if type == \"object\" then to_entries | map(.value + {name: .key}) else . end | .[] | select(.name == \"$name\") | .alive == true] | any" \
      "\\{[^{}]*\"name\"[[:space:]]*:[[:space:]]*\"$name\"[^{}]*\\}" alive; then
      pass "process $name alive"
    else
      fail "process $name not alive in /system/status"
    fi
  done
}

# check_cert LABEL HOST PORT: the certificate served there expires in more than min_days.
check_cert() {
  local label=$1 h=$2 port=$3 pem end_date end now days sni verify=""
  sni=$h
  case "$h" in ::1 | 127.0.0.1) sni=localhost ;; esac
  pem=$(openssl s_client -connect "$(url_host "$h"):$port" -servername "$sni" </dev/null 2>"$tmp/ssl.err") || true
  if ! end_date=$(openssl x509 -noout -enddate <<<"$pem" 2>/dev/null); then
    fail "$label certificate on $h:$port: no certificate ($(grep -m1 -i error "$tmp/ssl.err" || true))"
    return
  fi
  end=$(date -d "${end_date#notAfter=}" +%s)
  now=$(date +%s)
  days=$(((end - now) / 86400))
  if [ -n "$host" ] && ! is_true "$local_dev"; then
    verify=$(grep -Eo 'Verify return code: [0-9]+ \([^)]*\)' <<<"$pem" | sed -n 1p)
    if [[ "$verify" != "Verify return code: 0 "* ]]; then
      fail "$label certificate on $h:$port is not publicly trusted ($verify); IC outcalls will reject it"
      return
    fi
  fi
  if [ "$days" -lt "$min_days" ]; then
    fail "$label certificate on $h:$port expires in $days days (${end_date#notAfter=})"
  else
    pass "$label certificate on $h:$port valid for $days more days"
  fi
}

check_all() {
  local url flag family first_api="" name var def
  for name in api notifier poller; do
    wants "$name" || continue
    case "$name" in
    api) var=API_ADDR def='[::]:8080' ;;
    notifier) var=NOTIFIER_ADDR def='[::]:8081' ;;
    poller) var=POLLER_ADDR def='[::1]:8082' ;;
    esac
    local override=""
    case "$name" in
    api) override=${API_URL:-} ;;
    notifier) override=${NOTIFIER_URL_CHECK:-} ;;
    poller) override=${POLLER_URL:-} ;;
    esac
    if [ -n "$override" ]; then
      check_get "$name /healthz" "${override%/}/healthz" -g
      [ "$name" = api ] && first_api=${override%/}
      continue
    fi
    while IFS=$'\t' read -r url flag family; do
      check_get "$name /healthz over $family" "$url/healthz" "$flag"
      [ "$name" = api ] && [ -z "$first_api" ] && first_api=$url
    done < <(bases "$name" "$var" "$def")
  done
  if [ -n "$first_api" ]; then
    check_get "api /readyz" "$first_api/readyz" -g
    check_status "$first_api"
  fi
  if [ "$scheme" = https ]; then
    for name in api notifier; do
      wants "$name" || continue
      case "$name" in api) var=API_ADDR def='[::]:8080' ;; notifier) var=NOTIFIER_ADDR def='[::]:8081' ;; esac
      local addr target
      addr=$(config "$var" "$def")
      target=${host:-$(loopbacks "$(addr_host "$addr")" | tail -n 1)}
      local port
      port=$(addr_port "$addr")
      [ "$name" = api ] && port=${API_PORT:-$port}
      check_cert "$name" "$target" "$port"
    done
  fi
  [ "$failures" = 0 ]
}

need_cmd curl
if [ "$scheme" = https ]; then need_cmd openssl "to read the certificate"; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

deadline=$((SECONDS + wait_secs))
while :; do
  failures=0
  if out=$(check_all); then
    printf '%s\n' "$out"
    echo "all checks passed"
    exit 0
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    printf '%s\n' "$out"
    echo "$(grep -c '^FAIL' <<<"$out") check(s) failed"
    exit 1
  fi
  sleep 1
done
