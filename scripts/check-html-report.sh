#!/usr/bin/env bash
# Renders an HTML report in headless Chromium (offline: no network is used or needed) and checks
# that the page shows its summary; writes a screenshot beside the report to look at.
#
#   scripts/check-html-report.sh [reports/latest/report.html]
#
# Needs Debian's chromium package (`apt-get install chromium`). A by-hand look at any report (and a
# screenshot of it); CI checks a failing run's report in the same browser through WebDriver
# (mobauth/tests/it/browser.rs, `report_html_opens_offline_and_shows_its_gate_and_failures`).
set -euo pipefail
report=${1:-reports/latest/report.html}
[ -f "$report" ] || { echo "no report at $report: run 'cargo run --release -- run' first" >&2; exit 2; }
browser=$(command -v chromium || command -v chromium-browser || true)
[ -n "$browser" ] || { echo "chromium is not installed (apt-get install chromium)" >&2; exit 2; }
abs=$(realpath "$report")
shot="${abs%.html}.png"
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking
       --disable-component-update --disable-sync --user-data-dir="$profile" --window-size=1280,900)
# The DOM after scripts ran: the summary must be there, rendered from the report's own data.
dom=$("$browser" "${flags[@]}" --dump-dom "file://$abs" 2>/dev/null)
for needle in "mobauth conformance report" "Totals" "Requirements by area and level"; do
    grep -q "$needle" <<<"$dom" || { echo "the rendered report lacks \"$needle\"" >&2; exit 1; }
done
"$browser" "${flags[@]}" --screenshot="$shot" "file://$abs" >/dev/null 2>&1
[ -s "$shot" ] || { echo "no screenshot was written" >&2; exit 1; }
# A blank page would be one colour: demand more than a handful of distinct bytes in the PNG.
distinct=$(od -An -tu1 -v "$shot" | tr -s ' ' '\n' | sort -u | wc -l)
[ "$distinct" -gt 200 ] || { echo "the screenshot looks blank ($distinct distinct byte values)" >&2; exit 1; }
echo "ok: $report renders its summary; screenshot at $shot"
