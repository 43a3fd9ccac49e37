#!/usr/bin/env bash
# certbot deploy hook, installed by setup_letsencrypt.sh: copies a new certificate to where the
# canistry service user may read it. /etc/letsencrypt/{live,archive} stay root-only. No restart:
# the api and notifier reload the certificate when the files change.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: letsencrypt_deploy_hook.sh [--help]

Run by certbot after it obtains or renews a certificate, with RENEWED_LINEAGE set to the
certificate's live directory (for example /etc/letsencrypt/live/example.com). Copies its
fullchain.pem and privkey.pem to CANISTRY_TLS_DIR/<name>/ (default /etc/canistry/tls), owned by
root and group CANISTRY_GROUP (default canistry), mode 0640, each file renamed into place.
Running it again with the same files changes nothing.
USAGE
}

case "${1:-}" in
-h | --help) usage && exit 0 ;;
"") ;;
*) usage >&2 && exit 2 ;;
esac

lineage=${RENEWED_LINEAGE:?RENEWED_LINEAGE is not set (certbot sets it for deploy hooks)}
tls_dir=${CANISTRY_TLS_DIR:-/etc/canistry/tls}
group=${CANISTRY_GROUP:-canistry}
dest=$tls_dir/$(basename "$lineage")

install -d -m 0750 -g "$group" "$dest"
# The key first: until the chain follows, canistry sees a mismatched pair and keeps serving the
# previous certificate.
for f in privkey.pem fullchain.pem; do
  if cmp -s "$lineage/$f" "$dest/$f"; then
    continue
  fi
  install -m 0640 -g "$group" "$lineage/$f" "$dest/.$f.new"
  mv -f "$dest/.$f.new" "$dest/$f"
  echo "canistry: installed $dest/$f"
done
