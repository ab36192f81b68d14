#!/usr/bin/env bash
# System packages some tests use when present: nginx (tests/deploy/test_nginx.py),
# openssl (its TLS variant), chromium (the Mini App's browser tests, driven by Playwright;
# never `playwright install`), and Prometheus with Alertmanager (promtool, amtool and the
# whole-process alert test, tests/deploy/test_alerting_processes.py). Installs them
# with apt-get when running as root on a Debian-like system; otherwise, or when that
# fails, says so and exits 0: the tests that need them skip with a message.
set -u

need=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ] || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v amtool >/dev/null 2>&1 || need+=(prometheus-alertmanager)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "ci_system_deps: not root or no apt-get; not installing ${need[*]}" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
# Package installs must not start services on a CI machine.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
if ! apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1 || true
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null 2>&1 \
        || echo "ci_system_deps: could not install ${need[*]}; those tests will skip" >&2
fi
exit 0
