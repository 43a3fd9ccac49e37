# shellcheck shell=bash
# Functions shared by canistry's operator scripts. Sourced by them, never run on its own.
#
# Every path a script touches can be moved with an environment variable, so the tests (and a
# cautious operator) can run the scripts against a temporary directory:
#   PREFIX       /usr/local              binaries go to $PREFIX/bin, README to $PREFIX/share/doc
#   BIN_DIR      $PREFIX/bin
#   ETC_DIR      /etc/canistry           canistry.env and tls/ live here
#   ENV_FILE     $ETC_DIR/canistry.env
#   SYSTEMD_DIR  /etc/systemd/system
#   SERVICE_USER canistry
#   LETSENCRYPT_DIR /etc/letsencrypt
#
# The variables below are used by the scripts that source this file:
# shellcheck disable=SC2034

ENV_FILE_GIVEN=${ENV_FILE:+1}
BIN_DIR_GIVEN=${BIN_DIR:+1}
CANISTRY_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
BIN_DIR=${BIN_DIR:-$PREFIX/bin}
DOC_DIR=${DOC_DIR:-$PREFIX/share/doc/canistry}
LIBEXEC_DIR=${LIBEXEC_DIR:-$PREFIX/lib/canistry}
ETC_DIR=${ETC_DIR:-/etc/canistry}
ENV_FILE=${ENV_FILE:-$ETC_DIR/canistry.env}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
SERVICE_USER=${SERVICE_USER:-canistry}
LETSENCRYPT_DIR=${LETSENCRYPT_DIR:-/etc/letsencrypt}
STATE_DIR=/var/lib/canistry # fixed by StateDirectory=canistry in the units
SERVICES=(api poller notifier)
DRY_RUN=${DRY_RUN:-0}

say() { printf '==> %s\n' "$*"; }
warn() { printf 'warning: %s\n' "$*" >&2; }
die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# is_true VALUE: true for 1, true, yes, on (any case), as the binaries read booleans.
is_true() {
  case "${1,,}" in
  1 | t | true | yes | y | on) return 0 ;;
  *) return 1 ;;
  esac
}

# run CMD...: runs CMD, or with DRY_RUN=1 prints it instead. Use it for everything that changes
# the system.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    printf '[dry-run]'
    printf ' %q' "$@"
    printf '\n'
    return 0
  fi
  "$@"
}

need_cmd() {
  command -v "$1" >/dev/null 2>&1 || die "$1 is required${2:+ ($2)}"
}

require_root() {
  [ "$DRY_RUN" = 1 ] && return 0
  [ "$(id -u)" = 0 ] || die "run as root (or with --dry-run to see what would be done)"
}

have_systemd() { [ -d /run/systemd/system ]; }

# env_file_get FILE KEY: prints KEY's value from a KEY=VALUE file (the last assignment wins,
# surrounding quotes removed, "export " allowed). The file is parsed, never sourced.
env_file_get() {
  local file=$1 key=$2 line value found=1
  [ -r "$file" ] || return 1
  while IFS= read -r line || [ -n "$line" ]; do
    line=${line#"${line%%[![:space:]]*}"}
    line=${line#export }
    case "$line" in
    "$key="*)
      value=${line#"$key="}
      value=${value%"${value##*[![:space:]]}"}
      case "$value" in
      \"*\") value=${value:1:${#value}-2} ;;
      \'*\') value=${value:1:${#value}-2} ;;
      esac
      found=0
      ;;
    esac
  done <"$file"
  [ "$found" = 0 ] && printf '%s\n' "$value"
}

# env_file_set FILE KEY VALUE: sets KEY=VALUE in FILE, replacing an existing assignment or
# appending one, and keeps the file's mode and owner. Honours DRY_RUN.
env_file_set() {
  local file=$1 key=$2 value=$3 tmp
  if [ "$(env_file_get "$file" "$key" 2>/dev/null || true)" = "$value" ] &&
    grep -q "^$key=" "$file" 2>/dev/null; then
    return 0
  fi
  if [ "$DRY_RUN" = 1 ]; then
    printf '[dry-run] set %s in %s\n' "$key" "$file"
    return 0
  fi
  case "$value" in *[[:space:]#\"]*) value="\"${value//\"/\\\"}\"" ;; esac
  tmp=$(mktemp "$file.XXXXXX")
  if grep -q "^$key=" "$file"; then
    awk -v k="$key" -v v="$value" 'index($0, k "=") == 1 { print k "=" v; next } { print }' "$file" >"$tmp"
  else
    cat "$file" >"$tmp"
    printf '%s=%s\n' "$key" "$value" >>"$tmp"
  fi
  chmod --reference="$file" "$tmp"
  chown --reference="$file" "$tmp" 2>/dev/null || true
  mv -f "$tmp" "$file"
}

# config KEY DEFAULT: the value canistry will see: the environment if set, else ENV_FILE, else
# DEFAULT.
config() {
  local key=$1 default=$2 value
  value=${!key:-}
  if [ -z "$value" ]; then
    value=$(env_file_get "$ENV_FILE" "$key" 2>/dev/null || true)
  fi
  printf '%s\n' "${value:-$default}"
}

# addr_host ADDR / addr_port ADDR split a Go listen address: "[::]:8080" -> "::" and "8080",
# ":8080" -> "" and "8080", "127.0.0.1:8080" -> "127.0.0.1" and "8080".
addr_host() {
  local host=${1%:*}
  host=${host#[}
  printf '%s\n' "${host%]}"
}
addr_port() { printf '%s\n' "${1##*:}"; }

# url_host HOST: HOST as it goes into a URL (IPv6 addresses in brackets).
url_host() {
  case "$1" in
  *:*) printf '[%s]\n' "$1" ;;
  *) printf '%s\n' "$1" ;;
  esac
}

# loopbacks HOST: the loopback addresses that reach a server listening on HOST, one a line:
# both for a wildcard ("", "::"; only ::1 when IPV6_ONLY is true), 127.0.0.1 for "0.0.0.0",
# else HOST itself.
loopbacks() {
  case "$1" in
  "" | "::")
    is_true "$(config IPV6_ONLY false)" || printf '127.0.0.1\n'
    printf '::1\n'
    ;;
  0.0.0.0) printf '127.0.0.1\n' ;;
  *) printf '%s\n' "$1" ;;
  esac
}

# has_ipv6_address NAME: true when NAME resolves to an IPv6 address (an AAAA record), not counting
# IPv4-mapped ones.
has_ipv6_address() {
  getent ahosts "$1" 2>/dev/null | awk '{ print $1 }' | grep -v '^::ffff:' | grep -q ':'
}

# render_unit SRC: prints a unit file with the installed paths and user substituted.
render_unit() {
  sed -e "s|/usr/local/bin/|$BIN_DIR/|g" \
    -e "s|/usr/local/share/doc/canistry|$DOC_DIR|g" \
    -e "s|/etc/canistry/|$ETC_DIR/|g" \
    -e "s|^User=canistry$|User=$SERVICE_USER|" \
    -e "s|^Group=canistry$|Group=$SERVICE_USER|" "$1"
}

# install_units: installs the rendered units into SYSTEMD_DIR when they differ and prints the
# names of the services whose unit changed. Honours DRY_RUN.
install_units() {
  local src name tmp
  for src in "$CANISTRY_ROOT"/systemd/canistry*.service "$CANISTRY_ROOT"/systemd/canistry.target; do
    name=$(basename "$src")
    tmp=$(mktemp)
    render_unit "$src" >"$tmp"
    if ! cmp -s "$tmp" "$SYSTEMD_DIR/$name"; then
      say "installing unit $SYSTEMD_DIR/$name" >&2
      run install -D -m 0644 "$tmp" "$SYSTEMD_DIR/$name" >&2
      case "$name" in canistry-*.service) name=${name#canistry-} && printf '%s\n' "${name%.service}" ;; esac
    fi
    rm -f "$tmp"
  done
}

# install_binary SRC DEST: replaces DEST with SRC atomically (a running process keeps its old
# file). Honours DRY_RUN.
install_binary() {
  run install -D -m 0755 "$1" "$2.new"
  run mv -f "$2.new" "$2"
}

# same_file A B: true when both exist and have the same sha256.
same_file() {
  [ -f "$1" ] && [ -f "$2" ] || return 1
  [ "$(sha256sum <"$1")" = "$(sha256sum <"$2")" ]
}
