# shellcheck shell=bash
# The Debian package path of deploy_test.sh (issue 24): in a fresh Debian 12 container with no
# network, apt-get install of dist/canistry_*.deb, the units up once configured, check_server.sh
# green, an upgrade to a second build (state kept, units restarted), and a purge that leaves
# nothing. Sourced by deploy_test.sh, never run on its own.

PKG_SHARE=/usr/share/canistry # check_server.sh and lib.sh from the package

# build_packages: two packages of the same tree, the second with binaries that report another
# version, as DEB1 and DEB2 (file names on the host).
build_packages() {
  local base
  base=$("$ROOT/scripts/package.sh" --deb-version "$(git -C "$ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)" \
    "$(git -C "$ROOT" rev-list --count HEAD 2>/dev/null || echo 0)")
  DEB1=$(DIST_DIR=$WORK/dist DEB_VERSION=$base+dt1 "$ROOT/scripts/package.sh")
  mkdir -p "$WORK/bin2"
  local b
  for b in "${SERVICES[@]}"; do
    (cd "$ROOT" && go build -trimpath -ldflags "-s -w -X canistry/pkg/version.Version=deploy-test-upgraded" -o "$WORK/bin2/$b" "./cmd/$b")
  done
  DEB2=$(DIST_DIR=$WORK/dist DEB_VERSION=$base+dt2 PACKAGE_BIN_DIR=$WORK/bin2 "$ROOT/scripts/package.sh")
  dpkg --compare-versions "$base+dt2" gt "$base+dt1" || die "package versions do not sort: $base+dt1, $base+dt2"
  say "built $(basename "$DEB1") and $(basename "$DEB2")"
}

# fresh_container: powers off the running container (if any) and boots a new copy of the
# cached root filesystem, for a host that never saw deploy.sh.
fresh_container() {
  poweroff_container
  ROOTFS=$WORK/pkgroot
  rm -rf --one-file-system "$ROOTFS"
  mkdir "$ROOTFS"
  # shellcheck disable=SC2154 # tarball: the cached root filesystem, set by deploy_test.sh
  tar --numeric-owner -C "$ROOTFS" -xpf "$tarball"
  cp "$DEB1" "$DEB2" "$ROOTFS/root/"
  boot
}

apt_install() { ct env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"; }
pkg_env() { ct sed -n "s/^$1=//p" "$ENV_IN"; }
pkg_check_server() {
  local rc=0
  ct "$PKG_SHARE/check_server.sh" "$@" >"$WORK/check.out" 2>&1 || rc=$?
  sed 's/^/      | /' "$WORK/check.out"
  return "$rc"
}

# step_package_install: apt-get install of the package on a blank host: user, files, keys,
# units enabled but not started; then configured, started and green.
step_package_install() {
  local u out
  # shellcheck disable=SC2034 # read by checks.sh (status)
  API=http://127.0.0.1:8080
  fresh_container
  ct id -u canistry >/dev/null 2>&1 && fail "the fresh container already has a user canistry"
  out=$WORK/apt.out
  apt_install "/root/$(basename "$DEB1")" >"$out" 2>&1 || { sed 's/^/      | /' "$out"; fail "apt-get install $(basename "$DEB1")"; }
  sed 's/^/      | /' "$out"
  ok "apt-get install ./$(basename "$DEB1") with no network: exit 0"
  expect "system user canistry: $(ct getent passwd canistry)" test "$(ct getent passwd canistry | cut -d: -f7)" = /usr/sbin/nologin
  expect "$ENV_IN is a conffile" ct grep -qx "$ENV_IN" /var/lib/dpkg/info/canistry.conffiles
  expect "$ENV_IN is root:canistry 640" test "$(ct stat -c '%U:%G %a' "$ENV_IN")" = "root:canistry 640"
  expect "postinst generated ADMIN_API_KEY and NATS_TOKEN (48 hex characters each)" \
    test "$(pkg_env ADMIN_API_KEY | tr -d '0-9a-f' | wc -c)/$(pkg_env ADMIN_API_KEY | wc -c)/$(pkg_env NATS_TOKEN | wc -c)" = "1/49/49"
  expect "DATA_DIR=/var/lib/canistry in $ENV_IN" test "$(pkg_env DATA_DIR)" = /var/lib/canistry
  for u in canistry.target "${UNITS[@]}"; do
    expect "$u enabled, $(ct systemctl is-active "$u") (not started before it is configured)" \
      test "$(ct systemctl is-enabled "$u")/$(ct systemctl is-active "$u")" = enabled/inactive
  done
  expect "canistry-api check-config -env-file $ENV_IN: exit 0" ct canistry-api check-config -env-file "$ENV_IN"
  ct bash -c '. '"$PKG_SHARE"'/lib.sh && env_file_set "$@"' set_env "$ENV_IN" NOTIFY_API_KEYS "$NOTIFY_KEY"
  ct systemctl start canistry.target
  pkg_check_server --wait 30 || fail "$PKG_SHARE/check_server.sh --wait 30 after systemctl start canistry.target"
  ok "$PKG_SHARE/check_server.sh passes"
  expect "/var/lib/canistry is canistry:canistry 750 (StateDirectory)" test "$(ct stat -c '%U:%G %a' /var/lib/canistry)" = "canistry:canistry 750"
  for u in "${UNITS[@]}"; do expect "$u active" test "$(ct systemctl is-active "$u")" = active; done
  [ "$(post_note | head -n 1 | tr -d '\r')" = "HTTP/1.1 200 OK" ] || fail "POST /miner-notifications on the package's notifier"
  ok "an outcall acknowledged; rows.notifications = $(notifications)"
}

# step_package_upgrade: apt-get install of the second build: the units restart on the new
# binaries, the database and the environment file (with its generated keys) are kept.
step_package_upgrade() {
  local before key pids u out old new
  before=$(notifications)
  key=$(pkg_env ADMIN_API_KEY)
  pids=$(main_pids)
  out=$WORK/apt.out
  apt_install "/root/$(basename "$DEB2")" >"$out" 2>&1 || { sed 's/^/      | /' "$out"; fail "apt-get install $(basename "$DEB2")"; }
  sed 's/^/      | /' "$out"
  ok "upgrade: apt-get install ./$(basename "$DEB2"): exit 0"
  expect "dpkg: canistry $(ct dpkg-query -W -f "\${Version}" canistry) installed" \
    test "$(ct dpkg-query -W -f "\${Version}" canistry)" = "$(dpkg-deb -f "$DEB2" Version)"
  pkg_check_server --wait 30 || fail "check_server.sh after the upgrade"
  ok "check_server.sh passes after the upgrade"
  read -r -a old <<<"$pids"
  read -r -a new <<<"$(main_pids)"
  for u in 0 1 2; do
    expect "$(unit_of "${SERVICES[u]}") restarted by the upgrade (MainPID ${old[u]} -> ${new[u]})" test "${old[u]}" != "${new[u]}"
  done
  wait_until 30 all_versions_are deploy-test-upgraded || fail "/system/status does not show version deploy-test-upgraded for every process"
  ok "/system/status: every process runs deploy-test-upgraded"
  expect "ADMIN_API_KEY kept in $ENV_IN" test "$(pkg_env ADMIN_API_KEY)" = "$key"
  expect "NOTIFY_API_KEYS kept in $ENV_IN" test "$(pkg_env NOTIFY_API_KEYS)" = "$NOTIFY_KEY"
  expect "rows.notifications $before before the upgrade, $(notifications) after" test "$(notifications)" = "$before"
}

no_user() { ! ct getent passwd canistry >/dev/null && ! ct getent group canistry >/dev/null; }

all_versions_are() {
  [ "$(status | jq -r --arg v "$1" '[.processes[] | select(.alive) | .version == $v] | (length >= 3 and all)')" = true ]
}

# step_package_purge: apt-get purge stops the units and leaves no file, unit, state or user.
step_package_purge() {
  local out left
  out=$WORK/apt.out
  ct env DEBIAN_FRONTEND=noninteractive apt-get purge -y canistry >"$out" 2>&1 || { sed 's/^/      | /' "$out"; fail "apt-get purge canistry"; }
  sed 's/^/      | /' "$out"
  ok "apt-get purge canistry: exit 0"
  expect "dpkg knows no canistry any more" test -z "$(ct dpkg-query -W -f "\${Status}" canistry 2>/dev/null || true)"
  for u in "${UNITS[@]}"; do expect "$u: $(ct systemctl is-active "$u" || true)" test "$(ct systemctl is-active "$u" || true)" = inactive; done
  left=$(ct sh -c 'ls -d /etc/canistry /var/lib/canistry /var/lib/private/canistry /usr/share/canistry /usr/share/doc/canistry 2>/dev/null;
    find /etc/systemd /lib/systemd/system /usr/lib/systemd/system /usr/bin /var/lib/systemd/deb-systemd-helper-enabled \
    /var/lib/systemd/deb-systemd-helper-masked /usr/lib/sysusers.d -name "*canistry*" 2>/dev/null' || true)
  expect "nothing left: ${left:-no file, directory or unit link}" test -z "$left"
  expect "no user or group canistry" no_user
  expect "systemd knows no canistry unit" test -z "$(ct systemctl list-unit-files --no-legend 'canistry*' 2>/dev/null)"
}
