#!/usr/bin/env bash
# Installs canistry on this host as three systemd units and starts them. Safe to run again: it
# changes only what differs and restarts only the units whose binary or unit file changed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: deploy.sh [--dry-run] [--no-build] [--no-firewall] [--no-start]

Builds the binaries (make build), then installs:
  - the system user and group canistry (no login, no home)
  - /usr/local/bin/canistry-{api,poller,notifier}
  - /etc/canistry/canistry.env from .env.example if it does not exist yet, with
    DATA_DIR=/var/lib/canistry and a random NATS_TOKEN and ADMIN_API_KEY (an existing file is
    never changed; variables it lacks are listed)
  - /etc/canistry/tls/ (root:canistry 0750) for certificates the service user may read
  - the units canistry-{api,poller,notifier}.service and canistry.target in /etc/systemd/system,
    plus a drop-in granting CAP_NET_BIND_SERVICE to a unit configured for a port below 1024
  - firewall rules (ufw, if installed) for the api and notifier ports that listen publicly
then enables canistry.target, restarts what changed, starts the rest, and runs
check_server.sh --wait 30.

Options:
  --dry-run      print what would be done, change nothing
  --no-build     use the binaries already in bin/ (SRC_BIN_DIR)
  --no-firewall  leave the firewall alone
  --no-start     install files only: no systemctl, no health check (hosts without systemd)
  -h, --help     show this help

Environment: PREFIX (/usr/local), BIN_DIR, DOC_DIR, ETC_DIR (/etc/canistry), ENV_FILE,
SYSTEMD_DIR (/etc/systemd/system), SERVICE_USER and SERVICE_GROUP (canistry), SRC_BIN_DIR
(<repo>/bin), NO_ROOT_CHECK=1 (install into writable paths as a normal user, for tests).
EOF
}

build=1
firewall=1
start=1
while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --dry-run) DRY_RUN=1 ;;
  --no-build) build=0 ;;
  --no-firewall) firewall=0 ;;
  --no-start) start=0 ;;
  *) usage >&2 && exit 2 ;;
  esac
  shift
done
SERVICE_GROUP=${SERVICE_GROUP:-$SERVICE_USER}
SRC_BIN_DIR=${SRC_BIN_DIR:-$CANISTRY_ROOT/bin}
[ "${NO_ROOT_CHECK:-}" = 1 ] || require_root
if [ "$start" = 1 ] && [ "$DRY_RUN" = 0 ] && ! have_systemd; then
  die "systemd is not running on this host; use --no-start to install the files only"
fi

restart=() # services whose binary or unit changed

step_build() {
  if [ "$build" = 1 ]; then
    need_cmd go "run scripts/setup.sh"
    say "building"
    run make -C "$CANISTRY_ROOT" build
  fi
  if [ "$DRY_RUN" = 0 ]; then
    for b in "${SERVICES[@]}"; do
      [ -x "$SRC_BIN_DIR/$b" ] || die "$SRC_BIN_DIR/$b missing: run make build"
    done
  fi
}

step_user() {
  if getent group "$SERVICE_GROUP" >/dev/null; then :; else
    say "creating group $SERVICE_GROUP"
    run groupadd --system "$SERVICE_GROUP"
  fi
  if id -u "$SERVICE_USER" >/dev/null 2>&1; then :; else
    say "creating user $SERVICE_USER"
    run useradd --system --gid "$SERVICE_GROUP" --home-dir "$STATE_DIR" --no-create-home \
      --shell /usr/sbin/nologin --comment "canistry service" "$SERVICE_USER"
  fi
}

step_binaries() {
  local b dest
  for b in "${SERVICES[@]}"; do
    dest=$BIN_DIR/canistry-$b
    if same_file "$SRC_BIN_DIR/$b" "$dest"; then
      continue
    fi
    say "installing $dest"
    install_binary "$SRC_BIN_DIR/$b" "$dest"
    restart+=("$b")
  done
  if ! cmp -s "$CANISTRY_ROOT/README.md" "$DOC_DIR/README.md"; then
    run install -D -m 0644 "$CANISTRY_ROOT/README.md" "$DOC_DIR/README.md"
  fi
}

# new_env: writes the environment file from .env.example with server values.
new_env() {
  local tmp
  say "creating $ENV_FILE from .env.example"
  if [ "$DRY_RUN" = 1 ]; then
    run install -m 0640 -g "$SERVICE_GROUP" "$CANISTRY_ROOT/.env.example" "$ENV_FILE"
    printf '[dry-run] set DATA_DIR=%s and a random NATS_TOKEN and ADMIN_API_KEY in %s\n' "$STATE_DIR" "$ENV_FILE"
    return
  fi
  tmp=$(mktemp "$ETC_DIR/.canistry.env.XXXXXX")
  cp "$CANISTRY_ROOT/.env.example" "$tmp"
  chmod 0640 "$tmp"
  chgrp "$SERVICE_GROUP" "$tmp"
  env_file_set "$tmp" DATA_DIR "$STATE_DIR"
  env_file_set "$tmp" NATS_TOKEN "$(openssl rand -hex 24)"
  env_file_set "$tmp" ADMIN_API_KEY "$(openssl rand -hex 24)"
  mv -f "$tmp" "$ENV_FILE"
  say "set NOTIFY_API_KEYS (the key your miner canister sends) in $ENV_FILE"
}

step_config() {
  local key missing=()
  run install -d -m 0750 -g "$SERVICE_GROUP" "$ETC_DIR" "$ETC_DIR/tls"
  if [ ! -e "$ENV_FILE" ]; then
    new_env
    restart+=("${SERVICES[@]}")
    return
  fi
  while IFS= read -r key; do
    grep -q "^[[:space:]]*\(export \)\?$key=" "$ENV_FILE" || missing+=("$key")
  done < <(sed -n 's/^\([A-Z_][A-Z0-9_]*\)=.*/\1/p' "$CANISTRY_ROOT/.env.example")
  if [ ${#missing[@]} -gt 0 ]; then
    warn "$ENV_FILE does not set ${missing[*]} (their defaults apply; see .env.example)"
  fi
}

# low_port_dropin NAME ADDR_VAR DEFAULT: lets a unit bind a port below 1024, or removes that.
low_port_dropin() {
  local name=$1 port dir
  port=$(addr_port "$(config "$2" "$3")")
  dir=$SYSTEMD_DIR/canistry-$name.service.d
  if [ "$port" -lt 1024 ]; then
    local tmp
    tmp=$(mktemp)
    cat >"$tmp" <<EOF
# Written by deploy.sh because $2 uses port $port (below 1024). Removed when it no longer does.
[Service]
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
AmbientCapabilities=CAP_NET_BIND_SERVICE
# A capability inside a private user namespace does not cover the host's ports.
PrivateUsers=no
EOF
    if ! cmp -s "$tmp" "$dir/10-low-port.conf"; then
      say "allowing canistry-$name to bind port $port"
      run install -D -m 0644 "$tmp" "$dir/10-low-port.conf"
      restart+=("$name")
    fi
    rm -f "$tmp"
  elif [ -e "$dir/10-low-port.conf" ]; then
    run rm -f "$dir/10-low-port.conf"
    restart+=("$name")
  fi
}

step_units() {
  local changed
  changed=$(install_units)
  # shellcheck disable=SC2206 # one service name a line
  [ -n "$changed" ] && restart+=($changed)
  low_port_dropin api API_ADDR '[::]:8080'
  low_port_dropin notifier NOTIFIER_ADDR '[::]:8081'
  low_port_dropin poller POLLER_ADDR '[::1]:8082'
}

step_firewall() {
  local name addr host port ports=()
  for name in API_ADDR NOTIFIER_ADDR; do
    case "$name" in API_ADDR) addr=$(config API_ADDR '[::]:8080') ;; *) addr=$(config NOTIFIER_ADDR '[::]:8081') ;; esac
    host=$(addr_host "$addr")
    port=$(addr_port "$addr")
    case "$host" in ::1 | 127.* | localhost) continue ;; esac
    ports+=("$port")
  done
  [ ${#ports[@]} -gt 0 ] || return 0
  if command -v ufw >/dev/null 2>&1; then
    for port in "${ports[@]}"; do
      run ufw allow "$port/tcp" comment canistry
    done
    ufw status 2>/dev/null | grep -q '^Status: active' ||
      warn "ufw is inactive: rules added but not enforced (enable it only after allowing ssh)"
  else
    local list
    list=$(IFS=,; printf '%s' "${ports[*]}")
    warn "no ufw: make sure TCP ports ${ports[*]} are open (nftables: nft add rule inet filter input tcp dport { ${list//,/, } } accept)"
  fi
}

step_start() {
  local units=() s
  run systemctl daemon-reload
  for s in "${SERVICES[@]}"; do units+=("canistry-$s.service"); done
  run systemctl enable --quiet "${units[@]}" canistry.target
  # api first: the others connect to its NATS server.
  for s in "${SERVICES[@]}"; do
    if [[ " ${restart[*]} " == *" $s "* ]]; then
      say "restarting canistry-$s"
      run systemctl try-restart "canistry-$s.service"
    fi
  done
  run systemctl start canistry.target
  if [ "$DRY_RUN" = 0 ]; then
    ENV_FILE=$ENV_FILE "$CANISTRY_ROOT/scripts/check_server.sh" --wait 30
  else
    run "$CANISTRY_ROOT/scripts/check_server.sh" --wait 30
  fi
}

step_build
step_user
step_config
step_binaries
step_units
if [ "$firewall" = 1 ]; then step_firewall; fi
if [ "$start" = 1 ]; then
  step_start
else
  say "installed; not started (--no-start)"
fi
