#!/usr/bin/env bash
# Gets a Let's Encrypt certificate for canistry with certbot and keeps it readable by the
# service user across renewals. Renewals need no restart: canistry reloads the files.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
  cat <<'EOF'
Usage: setup_letsencrypt.sh [--dry-run] [--staging] DOMAIN EMAIL

  1. installs certbot (apt-get) if missing and opens TCP port 80 in ufw, if ufw is installed:
     certbot --standalone answers the HTTP-01 challenge on port 80, now and at each renewal
  2. installs the deploy hook to /usr/local/lib/canistry/letsencrypt-deploy-hook; it copies
     fullchain.pem and privkey.pem to /etc/canistry/tls/DOMAIN/ (root:canistry, 0640), because
     /etc/letsencrypt/live stays readable by root only
  3. certbot certonly --standalone for DOMAIN (keeps a certificate that is not due for renewal),
     registering the hook for renewals (certbot.timer runs them)
  4. runs the hook once, so the copy exists even when no new certificate was issued
  5. sets USE_HTTPS=true, SSL_CERT_PATH and SSL_KEY_PATH in /etc/canistry/canistry.env

DOMAIN needs an AAAA record (IC outcalls connect over IPv6) and an A record or working IPv6 for
Let's Encrypt. After the first run, restart once to switch to HTTPS:
  systemctl restart canistry.target
Renewals need no restart.

Options:
  --dry-run   print what would be done, change nothing
  --staging   use Let's Encrypt's staging server (untrusted certificates, for trying this out)
  -h, --help  show this help

Environment: PREFIX, LIBEXEC_DIR, ETC_DIR, ENV_FILE, LETSENCRYPT_DIR, SERVICE_GROUP.
EOF
}

staging=()
args=()
while [ $# -gt 0 ]; do
  case "$1" in
  -h | --help) usage && exit 0 ;;
  --dry-run) DRY_RUN=1 ;;
  --staging) staging=(--staging) ;;
  -*) usage >&2 && exit 2 ;;
  *) args+=("$1") ;;
  esac
  shift
done
[ ${#args[@]} -eq 2 ] || { usage >&2 && exit 2; }
domain=${args[0]}
email=${args[1]}
if ! [[ "$domain" =~ ^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$ && "$domain" == *.* ]]; then
  die "not a public domain name: $domain"
fi
[[ "$email" == ?*@?*.?* ]] || die "not an email address: $email"
SERVICE_GROUP=${SERVICE_GROUP:-$SERVICE_USER}
require_root

hook=$LIBEXEC_DIR/letsencrypt-deploy-hook
tls_dir=$ETC_DIR/tls
hook_cmd="CANISTRY_TLS_DIR=$tls_dir CANISTRY_GROUP=$SERVICE_GROUP $hook"
cert=$tls_dir/$domain/fullchain.pem
key=$tls_dir/$domain/privkey.pem

if ! command -v certbot >/dev/null 2>&1; then
  say "installing certbot"
  run env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq certbot
fi
if command -v ufw >/dev/null 2>&1; then
  run ufw allow 80/tcp comment 'canistry letsencrypt'
fi

if ! cmp -s "$CANISTRY_ROOT/scripts/letsencrypt_deploy_hook.sh" "$hook"; then
  say "installing $hook"
  run install -D -m 0755 "$CANISTRY_ROOT/scripts/letsencrypt_deploy_hook.sh" "$hook"
fi

has_ipv6_address "$domain" ||
  warn "$domain has no AAAA record here; IC outcalls need one (they connect over IPv6)"

say "requesting a certificate for $domain"
run certbot certonly --standalone --non-interactive --agree-tos --email "$email" \
  --domains "$domain" --keep-until-expiring --deploy-hook "$hook_cmd" "${staging[@]}"

say "copying it for the service user"
run env RENEWED_LINEAGE="$LETSENCRYPT_DIR/live/$domain" CANISTRY_TLS_DIR="$tls_dir" \
  CANISTRY_GROUP="$SERVICE_GROUP" "$hook"

if [ -e "$ENV_FILE" ] || [ "$DRY_RUN" = 1 ]; then
  env_file_set "$ENV_FILE" USE_HTTPS true
  env_file_set "$ENV_FILE" SSL_CERT_PATH "$cert"
  env_file_set "$ENV_FILE" SSL_KEY_PATH "$key"
  if is_true "$(env_file_get "$ENV_FILE" LOCAL_DEV 2>/dev/null || echo false)"; then
    warn "LOCAL_DEV is true in $ENV_FILE; set it to false on a server"
  fi
  say "HTTPS configured in $ENV_FILE; switch to it once with: systemctl restart canistry.target"
else
  say "no $ENV_FILE yet (run deploy.sh); then set USE_HTTPS=true SSL_CERT_PATH=$cert SSL_KEY_PATH=$key"
fi
if have_systemd && ! systemctl is-enabled --quiet certbot.timer 2>/dev/null; then
  warn "certbot.timer is not enabled: renewals will not run (systemctl enable --now certbot.timer)"
fi
say "renewals replace the certificate without a restart (canistry reloads changed files)"
