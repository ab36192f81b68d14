#!/bin/sh
# Runs from /docker-entrypoint.d/ of the nginx image (production): reloads nginx
# periodically so that certificates renewed by certbot are served without a restart.
set -eu
interval="${NGINX_RELOAD_INTERVAL:-12h}"
(
    while :; do
        sleep "$interval"
        nginx -s reload
    done
) &
