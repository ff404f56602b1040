#!/usr/bin/env bash
# The web interface in a real browser (Debian's chromium driven by playwright-core): logs in,
# registers a complaint, acts on it, sees a refusal with its clause, the dashboard, the
# customers' pages; screenshots go to target/ui-screenshots/. Exits non-zero on any failure.
#
# Installs what it needs when it is missing: chromium and the CJK fonts (Debian packages; the
# fonts make Chinese render in screenshots), and playwright-core (npm, pinned in
# package-lock.json). No browser is downloaded: playwright drives /usr/bin/chromium.
#
#   tests/browser/run.sh                 # builds target/debug/manyi first
#   MANYI_BIN=path/to/manyi tests/browser/run.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null; then
  echo "installing chromium and fonts-noto-cjk" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
fi

if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "installing playwright-core" >&2
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ -z "${MANYI_BIN:-}" ]; then
  (cd "$root" && cargo build -p manyi --quiet)
  export MANYI_BIN="$root/target/debug/manyi"
fi

exec node "$here/ui.mjs"
