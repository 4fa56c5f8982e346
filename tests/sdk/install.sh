#!/usr/bin/env bash
# Installs the real clients the SDK and browser tests drive into DIR (a scratch folder, never
# committed): Segment's and RudderStack's Node SDKs, playwright-core and axe-core's Playwright
# runner (@axe-core/playwright) from npm, Segment's
# Python SDK and the Standard Webhooks library from PyPI. Installs Node.js, Python's venv and
# Chromium from Debian's packages when missing.
#
#   tests/sdk/install.sh DIR
set -euo pipefail
dir=$1
mkdir -p "$dir"
need=()
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=(python3-venv)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  apt-get install -y -qq "${need[@]}" >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq "${need[@]}" >/dev/null; }
fi
cd "$dir"
if [ ! -f node_modules/.installed-v3 ]; then
  [ -f package.json ] || echo '{"private": true}' > package.json
  npm install --silent --no-audit --no-fund --no-save @segment/analytics-node@3 \
    @rudderstack/rudder-sdk-node@3 playwright-core@1 @axe-core/playwright@4 >&2
  touch node_modules/.installed-v3
fi
if [ ! -f venv/.installed ]; then
  python3 -m venv venv
  venv/bin/pip install -q --disable-pip-version-check segment-analytics-python==2.* standardwebhooks==1.* >&2
  touch venv/.installed
fi
