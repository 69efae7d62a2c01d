#!/usr/bin/env bash
# Renders a run's Cucumber Messages (`mobauth run --format ndjson`) with cucumber's official HTML
# formatter and checks the page: it is written and holds every scenario of the stream, and (when
# Chromium is installed) the page as a browser renders it shows every feature file, the count of
# test cases and every scenario that did not pass (the formatter opens only the files that hold
# one). Writes the page beside the messages, as cucumber-report.html.
#
#   scripts/check-cucumber-html.sh [reports/latest/cucumber-messages.ndjson]
#
# Needs node and npm. The formatter is installed once, at the pinned versions below, into
# ${MOBAUTH_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mobauth}/cucumber-html-formatter-VERSION.
# @cucumber/html-formatter has no command of its own since version 20, so a few lines of node
# feed the stream to its CucumberHtmlStream, the class cucumber-js's own `html` formatter uses.
set -euo pipefail
formatter_version=24.2.0
messages_version=34.2.1 # the Cucumber Messages version of report/schemas/cucumber-messages
messages=${1:-reports/latest/cucumber-messages.ndjson}
[ -f "$messages" ] || { echo "no messages at $messages: run 'mobauth run --format ndjson' first" >&2; exit 2; }
command -v node >/dev/null && command -v npm >/dev/null || { echo "node and npm are needed" >&2; exit 2; }
cache=${MOBAUTH_NPM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mobauth}/cucumber-html-formatter-$formatter_version
if [ ! -f "$cache/node_modules/@cucumber/html-formatter/package.json" ]; then
    mkdir -p "$cache"
    npm install --prefix "$cache" --no-audit --no-fund --no-save --loglevel=error \
        "@cucumber/html-formatter@$formatter_version" "@cucumber/messages@$messages_version" >&2
fi
# The scripts live in the install folder so that node finds the packages from there.
cat >"$cache/render.mjs" <<'EOF'
// NDJSON on stdin -> the formatter's page on stdout; a line that is not JSON stops it.
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import { CucumberHtmlStream } from '@cucumber/html-formatter';
const envelopes = [];
let number = 0;
for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  number += 1;
  if (line.trim() === '') continue;
  try {
    envelopes.push(JSON.parse(line));
  } catch (error) {
    console.error(`line ${number} is not JSON: ${error.message}`);
    process.exit(1);
  }
}
Readable.from(envelopes).pipe(new CucumberHtmlStream()).pipe(process.stdout);
EOF
cat >"$cache/check.mjs" <<'EOF'
// check.mjs MESSAGES PAGE [DOM]: the page holds every scenario (in the messages it embeds); the
// rendered DOM, if given, shows every feature file, the count of test cases, and the name of
// every scenario that did not pass (the formatter opens only the files that hold one).
import { readFileSync } from 'node:fs';
const [messages, page, dom] = process.argv.slice(2);
const envelopes = readFileSync(messages, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
const of = (kind) => envelopes.filter((e) => e[kind]).map((e) => e[kind]);
const pickles = new Map(of('pickle').map((p) => [p.id, p.name]));
const uris = of('gherkinDocument').map((d) => d.uri);
const pickleOfCase = new Map(of('testCase').map((c) => [c.id, c.pickleId]));
const pickleOfStarted = new Map(of('testCaseStarted').map((s) => [s.id, pickleOfCase.get(s.testCaseId)]));
const notPassed = new Set(
  of('testStepFinished')
    .filter((f) => f.testStepResult.status !== 'PASSED')
    .map((f) => pickles.get(pickleOfStarted.get(f.testCaseStartedId))),
);
const html = readFileSync(page, 'utf8');
const problems = [];
if (!html.startsWith('<!DOCTYPE html>')) problems.push('the page does not start with <!DOCTYPE html>');
if (pickles.size === 0) problems.push('the messages hold no pickle');
// The formatter embeds each envelope as JSON with `<` written \x3C.
const embedded = (name) => JSON.stringify(name).slice(1, -1).replace(/</g, '\\x3C');
for (const name of pickles.values()) {
  if (!html.includes(embedded(name))) problems.push(`the page lacks the scenario "${name}"`);
}
if (dom) {
  // What the reader sees: the DOM without its scripts (which hold the messages themselves).
  const text = readFileSync(dom, 'utf8').replace(/<script[^>]*>[\s\S]*?<\/script>/g, '');
  const shown = (name) => name.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  for (const name of [...uris, ...notPassed]) {
    if (!text.includes(shown(name))) problems.push(`the rendered page does not show "${name}"`);
  }
  const summary = text.match(/\d+% \(\d+ \/ (\d+)\) passed/);
  if (!summary || Number(summary[1]) !== pickleOfCase.size) {
    problems.push(`the rendered page does not count ${pickleOfCase.size} test cases: ${summary && summary[0]}`);
  }
  console.log(`rendered: ${summary ? summary[0] : 'no pass summary'}, ${notPassed.size} scenarios not passed`);
}
if (problems.length) {
  console.error(problems.slice(0, 20).join('\n'));
  if (problems.length > 20) console.error(`... and ${problems.length - 20} more`);
  process.exit(1);
}
console.log(`${uris.length} feature files, ${pickles.size} scenarios, ${pickleOfCase.size} test cases`);
EOF
page="$(dirname "$messages")/cucumber-report.html"
node "$cache/render.mjs" <"$messages" >"$page"
[ -s "$page" ] || { echo "the formatter wrote nothing" >&2; exit 1; }
browser=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$browser" ]; then
    profile=$(mktemp -d)
    trap 'rm -rf "$profile"' EXIT
    dom="$profile/dom.html"
    # The page is a React app: the DOM after its scripts ran is what a reader sees.
    "$browser" --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking \
        --disable-component-update --disable-sync --user-data-dir="$profile" --virtual-time-budget=30000 \
        --dump-dom "file://$(realpath "$page")" >"$dom" 2>/dev/null
    node "$cache/check.mjs" "$messages" "$page" "$dom"
else
    echo "chromium is not installed: checked the page's data, not how it renders" >&2
    node "$cache/check.mjs" "$messages" "$page"
fi
echo "ok: @cucumber/html-formatter $formatter_version rendered $messages as $page ($(wc -c <"$page") bytes)"
