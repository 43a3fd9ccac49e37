#!/usr/bin/env bash
# Installs what building and operating canistry needs on Debian or Ubuntu.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

GO_MIN=${GO_MIN:-1.26}

usage() {
  cat <<EOF
Usage: setup.sh [--dry-run] [--with-dev-tools]

Installs the build and operation dependencies with apt-get: git, make, curl, jq, openssl,
ca-certificates (and shellcheck with --with-dev-tools). Checks that Go $GO_MIN or newer is on
PATH; if not, it says where to get it (it does not install Go: Debian's package is too old).
Packages already present are left alone, so running it again is harmless.

Options:
  --dry-run          print the commands instead of running them
  --with-dev-tools   also install shellcheck and systemd (systemd-analyze), which make test uses
  -h, --help         show this help
EOF
}

dev=0
while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --dry-run) DRY_RUN=1 ;;
  --with-dev-tools) dev=1 ;;
  *) usage >&2 && exit 2 ;;
  esac
  shift
done

# version_ge A B: true when version A >= B (dotted numbers).
version_ge() { [ "$(printf '%s\n%s\n' "$2" "$1" | sort -V | sed -n 1p)" = "$2" ]; }

want=(git make curl jq openssl ca-certificates)
[ "$dev" = 1 ] && want+=(shellcheck systemd)
missing=()
for pkg in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
  require_root
  say "installing ${missing[*]}"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  say "packages present: ${want[*]}"
fi

if command -v go >/dev/null 2>&1; then
  have=$(go env GOVERSION)
  have=${have#go}
  if version_ge "$have" "$GO_MIN"; then
    say "go $have found"
  else
    die "go $have is older than $GO_MIN; install a current release from https://go.dev/dl/ (into /usr/local/go) and put /usr/local/go/bin on PATH"
  fi
else
  die "go not found; install Go $GO_MIN or newer from https://go.dev/dl/ (into /usr/local/go) and put /usr/local/go/bin on PATH"
fi
say "ready: make build, make test, make run"
