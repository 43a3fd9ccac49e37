#!/usr/bin/env bash
# Pulls, rebuilds, and restarts only the canistry units whose binary or unit file changed; puts
# the previous binaries back if the new ones fail the health checks.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: update_and_restart.sh [--dry-run] [--no-pull] [--no-build] [--wait SECONDS] [--rollback]

  1. git pull --ff-only in the checkout this script lives in (skipped with --no-pull)
  2. make build (skipped with --no-build)
  3. installs unit files that changed (then systemctl daemon-reload)
  4. compares each new binary's sha256 with the installed /usr/local/bin/canistry-*; keeps the
     installed one of each that changed as canistry-NAME.prev and installs the new one
  5. restarts only the changed units, api first
  6. runs check_server.sh --wait SECONDS (default 30); if it fails, moves the .prev binaries
     back, restarts those units, checks again and exits 1
Nothing changed: nothing is restarted; the health check still runs.

Options:
  --dry-run        print what would be done, change nothing
  --no-pull        build what is checked out
  --no-build       install the binaries already in bin/ (SRC_BIN_DIR), built elsewhere
  --wait SECONDS   how long the new binaries get to pass the health checks (default 30)
  --rollback       only put the .prev binaries back and restart their units
  -h, --help       show this help

Environment: PREFIX, BIN_DIR, ETC_DIR, ENV_FILE, SYSTEMD_DIR as for deploy.sh; SRC_BIN_DIR
(<repo>/bin, where make build puts the new binaries).
EOF
}

pull=1
build=1
wait_secs=30
rollback_only=0
while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --dry-run) DRY_RUN=1 ;;
  --no-pull) pull=0 ;;
  --no-build) build=0 ;;
  --wait) wait_secs=${2:?--wait needs seconds} && shift ;;
  --rollback) rollback_only=1 ;;
  *) usage >&2 && exit 2 ;;
  esac
  shift
done
SRC_BIN_DIR=${SRC_BIN_DIR:-$CANISTRY_ROOT/bin}
require_root
if [ "$DRY_RUN" = 0 ] && ! have_systemd; then
  die "systemd is not running on this host"
fi

# restart_units NAME...: restarts canistry-NAME in the order api, poller, notifier.
restart_units() {
  local s
  for s in "${SERVICES[@]}"; do
    if [[ " $* " == *" $s "* ]]; then
      say "restarting canistry-$s"
      run systemctl restart "canistry-$s.service"
    fi
  done
}

check() {
  if [ "$DRY_RUN" = 1 ]; then
    run "$CANISTRY_ROOT/scripts/check_server.sh" --wait "$wait_secs"
    return 0
  fi
  ENV_FILE=$ENV_FILE "$CANISTRY_ROOT/scripts/check_server.sh" --wait "$wait_secs"
}

# rollback NAME...: puts canistry-NAME.prev back and restarts those units.
rollback() {
  local b back=()
  for b in "$@"; do
    if [ -f "$BIN_DIR/canistry-$b.prev" ]; then
      say "rolling back canistry-$b"
      run mv -f "$BIN_DIR/canistry-$b.prev" "$BIN_DIR/canistry-$b"
      back+=("$b")
    fi
  done
  [ ${#back[@]} -gt 0 ] || die "no .prev binaries in $BIN_DIR to roll back to"
  restart_units "${back[@]}"
}

if [ "$rollback_only" = 1 ]; then
  rollback "${SERVICES[@]}"
  check
  exit
fi

if [ "$pull" = 1 ]; then
  say "pulling"
  run git -C "$CANISTRY_ROOT" pull --ff-only
fi
if [ "$build" = 1 ]; then
  say "building"
  run make -C "$CANISTRY_ROOT" build
fi

changed=()
units=$(install_units)
if [ -n "$units" ]; then
  run systemctl daemon-reload
  # shellcheck disable=SC2206 # one service name a line
  changed+=($units)
fi

replaced=()
for b in "${SERVICES[@]}"; do
  src=$SRC_BIN_DIR/$b
  dest=$BIN_DIR/canistry-$b
  if [ "$DRY_RUN" = 0 ] && [ ! -x "$src" ]; then die "$src missing after the build"; fi
  if same_file "$src" "$dest"; then
    continue
  fi
  if [ -f "$dest" ]; then
    run cp -p "$dest" "$dest.prev"
  fi
  say "installing $dest"
  install_binary "$src" "$dest"
  replaced+=("$b")
  changed+=("$b")
done

if [ ${#changed[@]} -eq 0 ]; then
  say "nothing changed; no unit restarted"
  check
  exit
fi

ordered=()
for s in "${SERVICES[@]}"; do
  if [[ " ${changed[*]} " == *" $s "* ]]; then ordered+=("$s"); fi
done
restart_units "${ordered[@]}"
if check; then
  say "updated: ${ordered[*]}"
  exit 0
fi
if [ ${#replaced[@]} -eq 0 ]; then
  die "health checks fail after a unit file change; fix it or revert it (git) and run this again"
fi
warn "health checks failed after the update; rolling back ${replaced[*]}"
rollback "${replaced[@]}"
if check; then
  die "rolled back to the previous binaries; the update is not running"
fi
die "rolled back, and the health checks still fail: look at journalctl -u 'canistry-*'"
