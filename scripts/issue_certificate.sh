#!/usr/bin/env bash
# The first Let's Encrypt certificate for DOMAIN (from .env), then HTTPS production:
#   1. the stack on plain HTTP, so nginx serves the ACME challenge on port 80;
#   2. certbot certonly --webroot;
#   3. the stack again with docker/compose.prod.yaml (HTTPS, renewal).
# STAGING=1 uses Let's Encrypt's staging service to rehearse. Run from anywhere.
set -euo pipefail
cd "$(dirname "$0")/.."

[ -f .env ] || { echo "no .env: cp .env.example .env and fill it in" >&2; exit 1; }
setting() { grep -E "^$1=" .env | tail -n 1 | cut -d= -f2- | tr -d "\"'"; }
domain="${DOMAIN:-$(setting DOMAIN)}"
email="${LETSENCRYPT_EMAIL:-$(setting LETSENCRYPT_EMAIL)}"
if [ -z "$domain" ] || [ -z "$email" ]; then
    echo "set DOMAIN and LETSENCRYPT_EMAIL in .env" >&2
    exit 1
fi

base=(docker compose --env-file .env -f docker/compose.yaml)
prod=("${base[@]}" -f docker/compose.prod.yaml)
staging=()
if [ -n "${STAGING:-}" ]; then
    staging=(--staging)
fi

http_port="$(setting HTTP_PORT)"
http_port="${http_port:-80}"
wait_for_receiver() {
    for _ in $(seq 1 90); do
        if curl -fsS -o /dev/null "http://127.0.0.1:${http_port}/healthz"; then
            return 0
        fi
        sleep 2
    done
    echo "the receiver did not answer through nginx; see: ${base[*]} logs" >&2
    exit 1
}

echo "1/3 starting on plain HTTP"
"${base[@]}" up -d --build
wait_for_receiver

echo "2/3 asking Let's Encrypt for $domain"
"${prod[@]}" run --rm --entrypoint certbot certbot certonly --webroot -w /var/www/certbot \
    -d "$domain" --email "$email" --agree-tos --no-eff-email --non-interactive \
    --keep-until-expiring "${staging[@]}"

echo "3/3 switching to HTTPS"
"${prod[@]}" up -d
echo "done: check https://$domain/healthz"
