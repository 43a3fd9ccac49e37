#!/usr/bin/env bash
# Makes a self-signed certificate for development (LOCAL_DEV=true). IC outcalls reject it.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: generate_cert.sh [--force] [DOMAIN]

Writes a self-signed certificate for DOMAIN (default localhost), also valid for localhost,
127.0.0.1 and ::1, to CERT_DIR (default ./certs): cert.pem (mode 0644) and key.pem (mode 0600),
an ECDSA P-256 key, valid DAYS days (default 365). An existing pair is kept unless --force is
given or it is for another domain.

For development only: IC canister HTTPS outcalls reject self-signed certificates; use
setup_letsencrypt.sh on a server. Then set in .env:
  USE_HTTPS=true
  LOCAL_DEV=true
  SSL_CERT_PATH=certs/cert.pem
  SSL_KEY_PATH=certs/key.pem
The running binaries pick up a replaced pair without a restart.
EOF
}

force=0
domain=""
while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --force) force=1 ;;
  -*) usage >&2 && exit 2 ;;
  *)
    [ -z "$domain" ] || { usage >&2 && exit 2; }
    domain=$1
    ;;
  esac
  shift
done
domain=${domain:-localhost}
[[ "$domain" =~ ^[A-Za-z0-9.*-]+$ ]] || die "not a domain name: $domain"
cert_dir=${CERT_DIR:-certs}
days=${DAYS:-365}
need_cmd openssl

cert=$cert_dir/cert.pem
key=$cert_dir/key.pem
if [ "$force" = 0 ] && [ -s "$cert" ] && [ -s "$key" ] &&
  openssl x509 -noout -checkhost "$domain" -in "$cert" 2>/dev/null | grep -q 'does match' &&
  openssl x509 -noout -checkend 86400 -in "$cert" >/dev/null 2>&1; then
  say "$cert already holds a certificate for $domain; keeping it (--force replaces it)"
  exit 0
fi

mkdir -p "$cert_dir"
tmp=$(mktemp -d "$cert_dir/.gen.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
umask 077
san="DNS:$domain,DNS:localhost,IP:127.0.0.1,IP:::1"
[ "$domain" = localhost ] && san="DNS:localhost,IP:127.0.0.1,IP:::1"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
  -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days "$days" \
  -subj "/CN=$domain" -addext "subjectAltName=$san" \
  -addext "keyUsage=critical,digitalSignature" -addext "extendedKeyUsage=serverAuth" 2>/dev/null
chmod 0600 "$tmp/key.pem"
chmod 0644 "$tmp/cert.pem"
# Key first, then certificate, each renamed into place: a running server never reads half a file.
mv -f "$tmp/key.pem" "$key"
mv -f "$tmp/cert.pem" "$cert"
say "wrote $cert and $key for $domain (self-signed, valid $days days)"
