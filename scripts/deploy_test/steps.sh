# shellcheck shell=bash
# The checks of deploy_test.sh, one function per bullet of issue 15, in the order they run. Each
# goes through the real scripts and units inside the booted container. Sourced by
# deploy_test.sh, never run on its own.

# step_blank_deploy: deploy.sh on a blank host, then check_server.sh over IPv4 and IPv6 and the
# running units' exposure.
step_blank_deploy() {
  local b s sha_host sha_ct line
  if ct id -u canistry >/dev/null 2>&1 || ct test -e /usr/local/bin/canistry-api; then
    fail "the container is not a blank host"
  fi
  ok "blank host: no user canistry, no /usr/local/bin/canistry-*"
  if ! ct "$SRC/scripts/deploy.sh" --no-build >"$WORK/deploy.out" 2>&1; then
    sed 's/^/      | /' "$WORK/deploy.out"
    fail "deploy.sh --no-build exited non-zero"
  fi
  sed 's/^/      | /' "$WORK/deploy.out"
  expect "deploy.sh --no-build: exit 0, its check_server.sh --wait 30 passed" grep -q '^all checks passed' "$WORK/deploy.out"
  line=$(ct getent passwd canistry) || fail "no user canistry"
  expect "system user canistry: $line" test "${line##*:}" = /usr/sbin/nologin
  for b in "${SERVICES[@]}"; do
    sha_host=$(sha256sum <"$ROOT/bin/$b")
    sha_ct=$(ct sha256sum </dev/null /usr/local/bin/canistry-"$b" | cut -d' ' -f1)
    expect "/usr/local/bin/canistry-$b is bin/$b" test "${sha_host%% *}" = "$sha_ct"
  done
  expect "$ENV_IN is root:canistry 640" test "$(ct stat -c '%U:%G %a' "$ENV_IN")" = "root:canistry 640"
  expect "/etc/canistry/tls is root:canistry 750" test "$(ct stat -c '%U:%G %a' /etc/canistry/tls)" = "root:canistry 750"
  for s in canistry.target "${UNITS[@]}"; do
    expect "$s enabled" test "$(ct systemctl is-enabled "$s")" = enabled
    expect "$s active" test "$(ct systemctl is-active "$s")" = active
  done
  # README step 5: the miner canisters' key, then a restart of the target.
  set_env NOTIFY_API_KEYS "$NOTIFY_KEY"
  ct systemctl restart canistry.target
  check_server --wait 30 || fail "check_server.sh --wait 30 after setting NOTIFY_API_KEYS"
  for line in "api /healthz over IPv4" "api /healthz over IPv6" "notifier /healthz over IPv4" \
    "notifier /healthz over IPv6" "poller /healthz over IPv6" "NATS connected" "process poller alive"; do
    expect "check_server.sh: $line" grep -q "^ok    $line" "$WORK/check.out"
  done
  for s in "${UNITS[@]}"; do expect_exposure "$s"; done
}

# step_kill9: kill -9 of each unit's main process; systemd restarts it, NRestarts counts it, and
# a notification acknowledged before is still stored.
step_kill9() {
  local reply again before after s u pid n replayed
  reply=$(post_note) || fail "POST /miner-notifications"
  case "$reply" in "HTTP/1.1 200 "*'"status":"received"'*) ;; *) fail "outcall not acknowledged: $reply" ;; esac
  ok "outcall acknowledged: $(head -n 1 <<<"$reply" | tr -d '\r'), $(tail -n 1 <<<"$reply")"
  before=$(notifications)
  [ "$before" -ge 1 ] || fail "rows.notifications = $before after the acknowledged outcall"
  for s in "${SERVICES[@]}"; do
    u=$(unit_of "$s")
    pid=$(prop "$u" MainPID)
    n=$(prop "$u" NRestarts)
    ct bash -c "kill -9 $pid"
    wait_until 60 restarted "$u" "$pid" || fail "$u not active again after kill -9 $pid"
    expect "$u: kill -9 $pid -> restarted as $(prop "$u" MainPID), NRestarts $n -> $(prop "$u" NRestarts)" \
      test "$(prop "$u" NRestarts)" = $((n + 1))
  done
  check_server --wait 30 || fail "check_server.sh after the kills"
  ok "check_server.sh passes after the kills"
  after=$(notifications)
  expect "rows.notifications still $before after the kills (got $after)" test "$after" = "$before"
  again=$(post_note) || fail "POST /miner-notifications again"
  expect "a copy sent after the kills gets the same reply, byte for byte" test "$again" = "$reply"
  replayed=$(metric 'canistry_notify_copies_total{result="replayed_db"}')
  expect "the restarted notifier answered that copy from the database (replayed_db = $replayed)" test "$replayed" -ge 1
}

# load ROUNDS: scripts/deploy_test/load.sh in the container against the api and the notifier.
load() { ct "$SRC/scripts/deploy_test/load.sh" "$1" "$API" "$NOTIFIER" "$NOTIFY_KEY"; }

all_inactive() {
  local u
  for u in "${UNITS[@]}"; do [ "$(prop "$u" ActiveState)" = inactive ] || return 1; done
}

load_lines() { cat "$WORK"/load.* 2>/dev/null | wc -l; }
load_started() { [ "$(load_lines)" -ge 240 ]; }

# step_stop_under_load: systemctl stop canistry.target while requests run; every unit stops
# within TimeoutStopSec without SIGKILL and logs its graceful "stopped" record.
step_stop_under_load() {
  local i pids=() cursor t0 t1 first last ms limit s u journal rec codes
  rm -f "$WORK"/load.*
  for i in 1 2 3 4; do
    load 100 >"$WORK/load.$i" 2>&1 &
    pids+=($!)
  done
  wait_until 60 load_started || fail "the load did not start"
  cursor=$(journal_cursor)
  limit=$(usec "$(prop canistry-api.service TimeoutStopUSec)")
  for u in "${UNITS[@]}"; do
    [ "$(usec "$(prop "$u" TimeoutStopUSec)")" -ge "$limit" ] || limit=$(usec "$(prop "$u" TimeoutStopUSec)")
  done
  ok "under load: 4 clients, 6 requests in flight each, $(load_lines) answered so far"
  ct systemctl stop canistry.target
  # systemctl returns once the target's own stop job is done; the units (ordered before it)
  # finish theirs after, so wait for them and take the times systemd recorded.
  wait_until 60 all_inactive || fail "the units are not inactive a minute after systemctl stop canistry.target"
  first="" last=0
  for s in "${SERVICES[@]}"; do
    u=$(unit_of "$s")
    t0=$(prop "$u" ActiveExitTimestampMonotonic)
    t1=$(prop "$u" InactiveEnterTimestampMonotonic)
    [ -n "$first" ] && [ "$first" -le "$t0" ] || first=$t0
    [ "$last" -ge "$t1" ] || last=$t1
    expect "$u: stopped in $(((t1 - t0) / 1000)) ms (TimeoutStopSec $(($(usec "$(prop "$u" TimeoutStopUSec)") / 1000)) ms), Result=$(prop "$u" Result), exit status $(prop "$u" ExecMainStatus)" \
      test "$(((t1 - t0) < $(usec "$(prop "$u" TimeoutStopUSec)")))/$(prop "$u" Result)/$(prop "$u" ExecMainCode)/$(prop "$u" ExecMainStatus)" = 1/success/1/0
    wait_until 10 has_records "$u" "$cursor" '.msg == "stopped"' || fail "$u: no JSON \"stopped\" record in the journal:
$(ct journalctl --cursor="$cursor" -u "$u" -o cat --no-pager)"
    rec=$(journal_records "$u" "$cursor" '.msg == "stopped"' | tail -n 1)
    journal=$(ct journalctl --cursor="$cursor" -u "$u" -o cat --no-pager)
    if grep -Eqi 'SIGKILL|timed out|Killing process' <<<"$journal"; then
      fail "$u: the journal shows a kill: $(grep -Ei 'SIGKILL|timed out|Killing' <<<"$journal" | head -n 3)"
    fi
    ok "$u: no SIGKILL; journal: $rec"
  done
  ms=$(((last - first) / 1000))
  expect "canistry.target: all three stopped $ms ms after the first began, within TimeoutStopSec ($((limit / 1000)) ms)" \
    test "$ms" -lt $((limit / 1000))
  for i in "${pids[@]}"; do wait "$i" || true; done
  codes=$(cat "$WORK"/load.* | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }')
  ok "load: $codes (000: refused once the listeners closed)"
  ct systemctl start canistry.target
  check_server --wait 30 || fail "check_server.sh after starting canistry.target again"
  ok "canistry.target started again, check_server.sh passes"
}

# new_cert DIR: a self-signed pair from generate_cert.sh in DIR, readable by the service group.
new_cert() {
  ct env CERT_DIR="$1" "$SRC/scripts/generate_cert.sh" --force localhost >/dev/null
  ct chgrp canistry "$1/cert.pem" "$1/key.pem"
  ct chmod 0640 "$1/key.pem"
}

# serves FINGERPRINT API_PORT NOTIFIER_PORT: the api (over IPv4) and the notifier (over IPv6)
# both serve the certificate with that fingerprint.
serves() { [ "$(served_fingerprint "127.0.0.1:$2")" = "$1" ] && [ "$(served_fingerprint "[::1]:$3")" = "$1" ]; }

# step_https: an own certificate in /etc/canistry/tls/ under ProtectSystem=strict, then a
# replaced pair is served without a restart.
step_https() {
  local tls=/etc/canistry/tls fp fp2 u cursor rec before=()
  new_cert "$tls"
  expect "the service user can read $tls/key.pem" ct runuser -u canistry -- test -r "$tls/key.pem"
  set_env USE_HTTPS true
  set_env SSL_CERT_PATH "$tls/cert.pem"
  set_env SSL_KEY_PATH "$tls/key.pem"
  ct systemctl restart canistry.target # switching USE_HTTPS needs one restart (README)
  API=https://127.0.0.1:8080
  check_server --wait 30 || fail "check_server.sh with USE_HTTPS=true"
  expect "check_server.sh checked the served certificates" grep -q '^ok    notifier certificate on' "$WORK/check.out"
  for u in canistry-api.service canistry-notifier.service; do
    expect "$u: ProtectSystem=$(prop "$u" ProtectSystem)" test "$(prop "$u" ProtectSystem)" = strict
  done
  fp=$(file_fingerprint "$tls/cert.pem")
  expect "api (127.0.0.1:8080) and notifier ([::1]:8081) serve $tls/cert.pem" serves "$fp" 8080 8081
  for u in canistry-api.service canistry-notifier.service; do before+=("$(prop "$u" MainPID)/$(prop "$u" NRestarts)"); done
  # Replace the files as the Let's Encrypt hook does: a new pair renamed into place.
  cursor=$(journal_cursor)
  ct mkdir -p /root/newcert
  new_cert /root/newcert
  ct mv -f /root/newcert/key.pem "$tls/key.pem"
  ct mv -f /root/newcert/cert.pem "$tls/cert.pem"
  fp2=$(file_fingerprint "$tls/cert.pem")
  [ "$fp2" != "$fp" ] || fail "generate_cert.sh --force made the same certificate"
  wait_until 30 serves "$fp2" 8080 8081 || fail "the replaced certificate is not served: $(served_fingerprint 127.0.0.1:8080)"
  ok "after replacing the files both serve the new certificate ($fp2)"
  for u in canistry-api.service canistry-notifier.service; do
    wait_until 10 has_records "$u" "$cursor" '.msg == "tls certificate reloaded" or .level == "ERROR"' ||
      fail "$u: no \"tls certificate reloaded\" record in the journal"
    rec=$(journal_records "$u" "$cursor" '.msg == "tls certificate reloaded" or .level == "ERROR"')
    expect "$u journal: $rec" test "$(jq -r .msg <<<"$rec")" = "tls certificate reloaded"
  done
  expect "api and notifier not restarted (MainPID/NRestarts ${before[*]})" \
    test "$(prop canistry-api.service MainPID)/$(prop canistry-api.service NRestarts) $(prop canistry-notifier.service MainPID)/$(prop canistry-notifier.service NRestarts)" = "${before[*]}"
}

# step_low_port: API_ADDR=[::]:443; deploy.sh adds the capability drop-in and the api binds it.
step_low_port() {
  local u=canistry-api.service dropin=/etc/systemd/system/canistry-api.service.d/10-low-port.conf listen
  set_env API_ADDR '[::]:443'
  if ! ct "$SRC/scripts/deploy.sh" --no-build >"$WORK/deploy.out" 2>&1; then
    sed 's/^/      | /' "$WORK/deploy.out"
    fail "deploy.sh --no-build with API_ADDR=[::]:443"
  fi
  sed 's/^/      | /' "$WORK/deploy.out"
  API=https://127.0.0.1:443
  expect "deploy.sh: allowing canistry-api to bind port 443" grep -q '^==> allowing canistry-api to bind port 443$' "$WORK/deploy.out"
  expect "deploy.sh: its check_server.sh passed on port 443" grep -q '^all checks passed$' "$WORK/deploy.out"
  expect "drop-in $dropin installed" ct grep -q '^AmbientCapabilities=CAP_NET_BIND_SERVICE$' "$dropin"
  expect "$u: AmbientCapabilities=$(prop "$u" AmbientCapabilities)" test "$(prop "$u" AmbientCapabilities)" = cap_net_bind_service
  expect "canistry-notifier.service keeps no capability" test -z "$(prop canistry-notifier.service AmbientCapabilities)"
  listen=$(ct ss -Hltnp 'sport = :443')
  expect "canistry-api (pid $(prop "$u" MainPID)) listens on port 443: $listen" \
    grep -q "pid=$(prop "$u" MainPID)," <<<"$listen"
  expect_exposure "$u"
}

# step_update: update_and_restart.sh --no-pull with a changed notifier restarts only it; with a
# poller that exits at start it rolls back to .prev and exits 1.
step_update() {
  local pids rc=0 good s v="" same old new
  (cd "$ROOT" && go build -trimpath -ldflags "-s -w -X canistry/pkg/version.Version=deploy-test-changed" \
    -o "$ROOTFS$SRC/bin/notifier" ./cmd/notifier)
  pids=$(main_pids)
  ct "$SRC/scripts/update_and_restart.sh" --no-pull --no-build >"$WORK/update.out" 2>&1 || rc=$?
  sed 's/^/      | /' "$WORK/update.out"
  expect "update_and_restart.sh --no-pull --no-build with a changed notifier: exit $rc" test "$rc" = 0
  read -r -a old <<<"$pids"
  read -r -a new <<<"$(main_pids)"
  same=no
  [ "${old[0]} ${old[1]}" = "${new[0]} ${new[1]}" ] && [ "${old[2]}" != "${new[2]}" ] && same=yes
  expect "only canistry-notifier restarted (api ${old[0]}->${new[0]}, poller ${old[1]}->${new[1]}, notifier ${old[2]}->${new[2]})" \
    test "$same" = yes
  expect "canistry-notifier.prev kept, no .prev for the others" \
    ct sh -c 'test -f /usr/local/bin/canistry-notifier.prev && ! test -e /usr/local/bin/canistry-api.prev && ! test -e /usr/local/bin/canistry-poller.prev'
  wait_until 30 notifier_version_is deploy-test-changed || fail "the notifier does not report version deploy-test-changed"
  ok "/system/status: notifier version deploy-test-changed"

  good=$(ct sha256sum /usr/local/bin/canistry-poller | cut -d' ' -f1)
  printf '#!/bin/sh\necho "deploy test: a poller that exits at start" >&2\nexit 1\n' >"$ROOTFS$SRC/bin/poller"
  chmod 0755 "$ROOTFS$SRC/bin/poller"
  rc=0
  ct "$SRC/scripts/update_and_restart.sh" --no-pull --no-build --wait 15 >"$WORK/update.out" 2>&1 || rc=$?
  sed 's/^/      | /' "$WORK/update.out"
  expect "update_and_restart.sh with a broken poller: exit $rc (want 1)" test "$rc" = 1
  expect "it rolled back: 'rolled back to the previous binaries'" grep -q 'rolled back to the previous binaries' "$WORK/update.out"
  expect "/usr/local/bin/canistry-poller is the previous binary again" \
    test "$(ct sha256sum /usr/local/bin/canistry-poller | cut -d' ' -f1)" = "$good"
  cp "$ROOT/bin/poller" "$ROOTFS$SRC/bin/poller"
  check_server --wait 30 || fail "check_server.sh after the rollback"
  ok "check_server.sh passes after the rollback"
  for s in "${SERVICES[@]}"; do v+=" $s=$(prop "$(unit_of "$s")" ActiveState)"; done
  ok "units:$v"
}

main_pids() {
  local s
  for s in "${SERVICES[@]}"; do printf '%s ' "$(prop "$(unit_of "$s")" MainPID)"; done
}

notifier_version_is() {
  [ "$(status | jq -r '.processes[] | select(.name == "notifier") | .version')" = "$1" ]
}

# shellcheck disable=SC2154 # nspawn_rc: set by container.sh's wait_nspawn
# step_reboot: systemctl reboot in the container, boot it again: everything comes back by itself.
step_reboot() {
  local before after u
  before=$(notifications)
  ct systemctl reboot
  wait_nspawn 120
  expect "systemctl reboot: the container went down asking for a reboot (nspawn exit $nspawn_rc)" test "$nspawn_rc" = 133
  boot
  for u in canistry.target "${UNITS[@]}"; do
    expect "after the reboot $u is $(ct systemctl is-active "$u")" test "$(ct systemctl is-active "$u")" = active
  done
  check_server --wait 30 || fail "check_server.sh after the reboot"
  ok "check_server.sh passes after the reboot (HTTPS, api on 443)"
  after=$(notifications)
  expect "rows.notifications $before before the reboot, $after after" test "$after" = "$before"
}
