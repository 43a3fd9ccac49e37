#!/usr/bin/env bash
# Proves the deployment under a real systemd: boots Debian 12 in a systemd-nspawn container and,
# through deploy.sh, check_server.sh, update_and_restart.sh and the units in systemd/, checks
# each point of issue 15. Needs root, debootstrap and systemd-container; fails when they are
# missing (it never skips).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=deploy_test/container.sh
. "$CANISTRY_ROOT/scripts/deploy_test/container.sh"
# shellcheck source-path=SCRIPTDIR source=deploy_test/checks.sh
. "$CANISTRY_ROOT/scripts/deploy_test/checks.sh"
# shellcheck source-path=SCRIPTDIR source=deploy_test/steps.sh
. "$CANISTRY_ROOT/scripts/deploy_test/steps.sh"
# shellcheck source-path=SCRIPTDIR source=deploy_test/package.sh
. "$CANISTRY_ROOT/scripts/deploy_test/package.sh"

usage() {
  cat <<'EOF2'
Usage: deploy_test.sh [--keep] [--package]

As root: builds the binaries (make build), makes a Debian 12 root filesystem with debootstrap
(cached as a tarball in DEPLOY_TEST_CACHE, default <repo>/.cache/deploy-test), boots a fresh copy
of it with systemd-nspawn (systemd as PID 1, a private network) and checks inside it:
  1. deploy.sh on a blank host: user, files, units enabled, canistry.target active,
     check_server.sh over IPv4 and IPv6, systemd-analyze security of the running units <= 2.0
  2. kill -9 of each unit's main process: restarted, NRestarts counts, an acknowledged
     notification survives
  3. systemctl stop canistry.target under load: within TimeoutStopSec, no SIGKILL, the JSON
     "stopped" records in the journal
  4. HTTPS with an own certificate in /etc/canistry/tls/, replaced files served without a restart
  5. API_ADDR=[::]:443 through deploy.sh's capability drop-in
  6. update_and_restart.sh --no-pull --no-build: a changed binary restarts only its unit; a
     broken one is rolled back to .prev (exit 1)
  7. systemctl reboot of the container: everything comes back by itself
Then the Debian package (make package) in a fresh container (no network inside):
  8. apt-get install ./canistry_<version>_amd64.deb: user, conffile with generated keys, units
     enabled but not started; configured, started, check_server.sh green
  9. upgrade to a second build: units restarted on the new binaries, database and keys kept
 10. apt-get purge: nothing left (files, state, unit links, user)
Each check prints an ok or FAIL line; the first failure stops the test (exit 1) after printing
the units' journal. The container, its mounts and its files are removed at the end, always.

Options:
  --keep      keep the work directory (root filesystem, logs) for a look afterwards
  --package   only the package path (8-10)
  -h, --help  show this help

Environment: DEPLOY_TEST_CACHE (where the root filesystem tarball is kept),
DEPLOY_TEST_MIRROR (Debian mirror for debootstrap, default http://deb.debian.org/debian).
EOF2
}

KEEP=0
PACKAGE_ONLY=0
while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --keep) KEEP=1 ;;
  --package) PACKAGE_ONLY=1 ;;
  *) usage >&2 && exit 2 ;;
  esac
  shift
done

ROOT=$CANISTRY_ROOT
CACHE_DIR=${DEPLOY_TEST_CACHE:-$ROOT/.cache/deploy-test}
MACHINE=canistry-test-$$
UNITS=(canistry-api.service canistry-poller.service canistry-notifier.service)
WORK=""
ROOTFS=""

require() {
  local c missing=()
  [ "$(id -u)" = 0 ] || die "deploy_test.sh needs root (debootstrap, systemd-nspawn, mounts)"
  for c in debootstrap systemd-nspawn nsenter mountpoint flock tar jq go make sha256sum dpkg timeout; do
    command -v "$c" >/dev/null 2>&1 || missing+=("$c")
  done
  [ ${#missing[@]} -eq 0 ] ||
    die "missing: ${missing[*]} (apt-get install debootstrap systemd-container util-linux jq; Go from go.dev)"
}

on_exit() {
  local rc=$?
  trap - EXIT
  if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
    failed=1
    printf 'FAIL  stopped by an unexpected error (exit %s; see above)\n' "$rc"
  fi
  cleanup_container
  printf 'deploy_test took %s s\n' "$SECONDS"
  printf 'deploy_test: %s passed, %s failed\n' "$passed" "$failed"
  [ "$rc" = 0 ] && [ "$failed" = 0 ] || exit 1
}

# run_step TITLE FUNCTION: runs one check group and prints how long it took.
run_step() {
  local t=$SECONDS
  printf '\n== %s\n' "$1"
  "$2"
  printf '   (%s s)\n' "$((SECONDS - t))"
}

require
# One run at a time on a host: runs share the tmpfs on /run/systemd/nspawn.
mkdir -p /run/lock
exec 9>/run/lock/canistry-deploy-test.lock
flock -w 900 9 || die "another deploy_test.sh has held /run/lock/canistry-deploy-test.lock for 15 minutes"
trap on_exit EXIT
trap 'exit 130' INT TERM
say "building the binaries"
make -C "$ROOT" --no-print-directory build
say "built ($SECONDS s)"
tarball=$(rootfs_tarball)
say "root filesystem ready ($SECONDS s)"
WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/canistry-deploy-test.XXXXXX")
build_packages
say "packages built ($SECONDS s)"
if [ "$PACKAGE_ONLY" = 0 ]; then
  ROOTFS=$WORK/root
  mkdir "$ROOTFS"
  tar --numeric-owner -C "$ROOTFS" -xpf "$tarball"
  # The checkout as an operator has it: scripts, units, example configuration, built binaries.
  mkdir -p "$ROOTFS$SRC"
  cp -a "$ROOT/scripts" "$ROOT/systemd" "$ROOT/bin" "$ROOT/.env.example" "$ROOT/README.md" "$ROOT/Makefile" "$ROOTFS$SRC/"
  say "booting $MACHINE from $ROOTFS"
  prepare_nspawn_run
  boot
  say "booted ($SECONDS s)"

  run_step "1. deploy.sh on a blank host" step_blank_deploy
  run_step "2. kill -9 of each unit's main process" step_kill9
  run_step "3. systemctl stop canistry.target under load" step_stop_under_load
  run_step "4. HTTPS with an own certificate, hot reload" step_https
  run_step "5. a low port: API_ADDR=[::]:443" step_low_port
  run_step "6. update_and_restart.sh: changed binary, broken binary" step_update
  run_step "7. reboot of the container" step_reboot
fi
prepare_nspawn_run
run_step "8. the Debian package: apt-get install on a blank host" step_package_install
run_step "9. the Debian package: upgrade to a second build" step_package_upgrade
run_step "10. the Debian package: purge" step_package_purge
