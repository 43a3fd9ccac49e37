#!/usr/bin/env bash
# Load for deploy_test.sh's "stop under load" check, run inside the container: ROUNDS rounds of
# 60 requests (api reads, status, outcalls), 6 at a time over keep-alive connections (curl
# --parallel), one HTTP code a line; stops once a whole round is refused (the servers are gone).
set -euo pipefail
[ $# = 4 ] || {
  echo "Usage: load.sh ROUNDS API_URL NOTIFIER_URL NOTIFY_KEY" >&2
  exit 2
}
rounds=$1 api=$2 notifier=$3 key=$4
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT

# group URL [EXTRA_LINES]: one transfer of the curl config.
group() {
  [ -s "$cfg" ] && printf 'next\n' >>"$cfg"
  printf 'url = "%s"\noutput = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nsilent\ninsecure\ngloboff\nmax-time = 5\n%s\n' "$1" "${2:-}" >>"$cfg"
}

for r in $(seq 1 "$rounds"); do
  : >"$cfg"
  for i in $(seq 1 20); do
    group "$api/canisters"
    group "$api/system/status"
    group "$notifier/miner-notifications" "$(printf 'header = "Content-Type: application/json"\nheader = "X-API-Key: %s"\ndata = "{\\"event\\":\\"load\\",\\"miner_id\\":\\"ryjl3-tyaaa-aaaaa-aaaba-cai\\",\\"timestamp\\":%s}"\n' "$key" "$$$r$i")"
  done
  out=$(curl --parallel --parallel-max 6 -K "$cfg" 2>/dev/null) || true
  printf '%s\n' "$out"
  case "$out" in *[1-9]*) ;; *) break ;; esac
done
