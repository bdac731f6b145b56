#!/usr/bin/env bash
# Render a report.html in headless Chromium (Debian's `chromium` package) to a PNG, to look at it and to
# check that it renders offline. Installs nothing: `apt-get install chromium` first.
#
#   bash tools/render-report.sh runs/<dir>/report.html [out.png]     (RMT_REPORT_HEIGHT=5200 for a long page)
set -euo pipefail
html=$(readlink -f "$1")
png=${2:-${html%.html}.png}
command -v chromium >/dev/null || { echo "error: chromium not found (apt-get install chromium)" >&2; exit 1; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
# Flags: no network of any kind (the report must not need it), a fresh profile, a tall window.
chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
  --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1200,${RMT_REPORT_HEIGHT:-2400} \
  --screenshot="$png" "file://$html" 2>/dev/null
[ -s "$png" ] || { echo "error: chromium wrote no screenshot" >&2; exit 1; }
echo "$png"
