#!/usr/bin/env bash
# Builds the Debian package dist/canistry_<version>_amd64.deb with nFPM, run at the version pinned
# in scripts/tools/go.mod (go tool -modfile=...; nothing downloaded but Go modules).
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF2'
Usage: package.sh                       build the package from bin/ (make package builds bin/ first)
       package.sh --deb-version VERSION [COMMITS]
                                        print the Debian version for a git describe VERSION

Environment: VERSION (default: git describe --tags --always --dirty), DEB_VERSION (default:
mapped from VERSION), PACKAGE_BIN_DIR (default <repo>/bin), DIST_DIR (default <repo>/dist),
DEB_MAINTAINER (the Maintainer field, default "canistry maintainers <canistry@example.org>").

The package holds the three binaries (/usr/bin/canistry-*), the units and canistry.target
(/lib/systemd/system), /etc/canistry/canistry.env from .env.example (a conffile, DATA_DIR set to
/var/lib/canistry; postinst fills an empty ADMIN_API_KEY and NATS_TOKEN), check_server.sh and
lib.sh (/usr/share/canistry), the system user (sysusers.d) and the README.
EOF2
}

# deb_version VERSION COMMITS: a valid Debian version (no revision: a native package) that sorts
# as the builds do. git describe gives v1.2.3, v1.2.3-4-gabc1234, v1.2.3-rc1, abc1234 (no tag
# yet), each maybe with -dirty:
#   v1.2.3            -> 1.2.3
#   v1.2.3-rc1        -> 1.2.3~rc1           (before 1.2.3)
#   v1.2.3-4-gabc1234 -> 1.2.3+4.gabc1234    (after 1.2.3)
#   abc1234           -> 0~git<COMMITS>.gabc1234 (COMMITS: git rev-list --count HEAD, so later
#                        commits sort later; any tag sorts after)
#   ...-dirty         -> ...+dirty
deb_version() {
  local v=${1#v} commits=${2:-0} dirty="" out
  case "$v" in *-dirty)
    dirty=+dirty
    v=${v%-dirty}
    ;;
  esac
  if [[ $v =~ ^[0-9a-f]{7,40}$ ]]; then
    out="0~git$commits.g$v"
  elif [[ $v =~ ^(.+)-([0-9]+)-g([0-9a-f]+)$ ]]; then
    out="$(deb_base "${BASH_REMATCH[1]}")+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
  else
    out=$(deb_base "$v")
  fi
  printf '%s%s\n' "$out" "$dirty"
}

# deb_base TAG: a tag as a Debian upstream version: a pre-release suffix (-rc1) sorts before the
# release (~rc1), characters Debian does not allow become dots, and it starts with a digit.
deb_base() {
  local v=${1//-/\~}
  v=$(printf '%s' "$v" | tr -c 'A-Za-z0-9.+~' '.')
  [[ $v =~ ^[0-9] ]] || v="0~$v"
  printf '%s' "$v"
}

# stage_files DIR: the files package.sh prepares for nfpm.yaml: units with the package's paths,
# the environment file for /etc, the compressed README and changelog.
stage_files() {
  local dir=$1 f
  for f in "$CANISTRY_ROOT"/systemd/canistry-*.service "$CANISTRY_ROOT"/systemd/canistry.target; do
    sed -e 's|/usr/local/bin/|/usr/bin/|g' \
      -e 's|file:///usr/local/share/doc/canistry/README.md|file:///usr/share/doc/canistry/README.md.gz|' \
      -e '/^# Installed by scripts\/deploy.sh/{N;s|.*|# Installed by the canistry Debian package, from systemd/ in the source tree.|;}' \
      "$f" >"$dir/$(basename "$f")"
  done
  sed 's|^DATA_DIR=.*|DATA_DIR=/var/lib/canistry|' "$CANISTRY_ROOT/.env.example" >"$dir/canistry.env"
  gzip -9n <"$CANISTRY_ROOT/README.md" >"$dir/README.md.gz"
  {
    printf 'canistry (%s) unstable; urgency=medium\n\n' "$DEB_VERSION"
    printf '  * Built from %s (commit %s).\n\n' "$VERSION" "$(git -C "$CANISTRY_ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)"
    printf ' -- %s  %s\n' "$MAINTAINER" "$(date -R -d "@${SOURCE_DATE_EPOCH:-$(git -C "$CANISTRY_ROOT" log -1 --format=%ct 2>/dev/null || date +%s)}")"
  } | gzip -9n >"$dir/changelog.gz"
}

main() {
  local stage out
  VERSION=${VERSION:-$(git -C "$CANISTRY_ROOT" describe --tags --always --dirty 2>/dev/null || echo dev)}
  DEB_VERSION=${DEB_VERSION:-$(deb_version "$VERSION" "$(git -C "$CANISTRY_ROOT" rev-list --count HEAD 2>/dev/null || echo 0)")}
  BIN_DIR=${PACKAGE_BIN_DIR:-$CANISTRY_ROOT/bin}
  MAINTAINER=${DEB_MAINTAINER:-canistry maintainers <canistry@example.org>}
  DIST_DIR=${DIST_DIR:-$CANISTRY_ROOT/dist}
  for b in "${SERVICES[@]}"; do
    [ -x "$BIN_DIR/$b" ] || die "$BIN_DIR/$b missing: run make build (or make package)"
  done
  stage=$(mktemp -d)
  # shellcheck disable=SC2064 # expand now: stage is local
  trap "rm -rf '$stage'" EXIT
  stage_files "$stage"
  mkdir -p "$DIST_DIR"
  out=$DIST_DIR/canistry_${DEB_VERSION}_amd64.deb
  rm -f "$out"
  # nFPM expands variables in few fields only, so the paths are filled in here.
  sed -e "s|\${DEB_VERSION}|$DEB_VERSION|g" -e "s|\${BIN_DIR}|$BIN_DIR|g" -e "s|\${STAGE}|$stage|g" \
    -e "s|\${ROOT}|$CANISTRY_ROOT|g" -e "s|\${MAINTAINER}|$MAINTAINER|g" "$CANISTRY_ROOT/scripts/package/nfpm.yaml" >"$stage/nfpm.yaml"
  (cd "$CANISTRY_ROOT" && go tool -modfile=scripts/tools/go.mod nfpm package -f "$stage/nfpm.yaml" -p deb -t "$out" >&2)
  printf '%s\n' "$out"
}

case "${1:-}" in
-h | --help) usage ;;
--deb-version)
  [ $# -ge 2 ] || die "usage: package.sh --deb-version VERSION [COMMITS]"
  deb_version "$2" "${3:-0}"
  ;;
"") main ;;
*) usage >&2 && exit 2 ;;
esac
