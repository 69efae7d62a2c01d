#!/usr/bin/env bash
# Runs the README's mock-server walkthrough (the shell block after the `readme-walkthrough` marker)
# as written, against `mobauth serve`, and checks that it ends as the README says: the transaction
# accepted, read back as accepted, and the server's callback delivered to the portal.
#
#   MOBAUTH=target/debug/mobauth scripts/readme-walkthrough.sh
#
# Only three lines are rewritten, and each must be there exactly once: the build line is dropped
# (the binary is given), the server listens on a free port instead of 8080, and the callback goes
# to a listener of this script's instead of a port nobody listens on. CI runs it (.ci/run).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
mobauth=$(realpath "${MOBAUTH:-$repo/target/debug/mobauth}")
[ -x "$mobauth" ] || { echo "no mobauth binary at $mobauth: cargo build -p mobauth first" >&2; exit 2; }
work=$(mktemp -d)
listener_pid=
cleanup() {
    [ -n "$listener_pid" ] && kill "$listener_pid" 2>/dev/null || true
    # The walkthrough stops its server itself; a failed run may leave it behind.
    [ -f "$work/server.pid" ] && kill "$(cat "$work/server.pid")" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
callback_port=$(free_port)

# The block, as the README holds it.
awk '/<!-- readme-walkthrough:/ {armed=1; next}
     armed && /^```sh$/ {inside=1; next}
     inside && /^```$/ {exit}
     inside {print}' "$repo/README.md" > "$work/block.sh"
[ -s "$work/block.sh" ] || { echo "README.md has no walkthrough block after its marker" >&2; exit 1; }

rewrite() { # rewrite FROM TO: replaces the one line FROM (exactly once) by TO
    local count
    count=$(grep -cxF -- "$1" "$work/block.sh" || true)
    [ "$count" = 1 ] || { echo "the walkthrough should hold the line '$1' once (found $count)" >&2; exit 1; }
    FROM=$1 TO=$2 python3 -c 'import os,sys; p=sys.argv[1]; s=open(p).read().split("\n"); open(p,"w").write("\n".join(os.environ["TO"] if l==os.environ["FROM"] else l for l in s))' "$work/block.sh"
}
rewrite 'cargo build --release' '# (built: $MOBAUTH)'
rewrite 'target/release/mobauth serve --config fixtures/servers/default.toml &' \
        "\"$mobauth\" serve --config \"$repo/fixtures/servers/default.toml\" --addr 127.0.0.1:$port & echo \$! > server.pid"
rewrite 'B=http://127.0.0.1:8080' "B=http://127.0.0.1:$port"
grep -q 'callback_uri=http://127.0.0.1:9999/callback' "$work/block.sh" \
    || { echo "the walkthrough's callback_uri is not http://127.0.0.1:9999/callback" >&2; exit 1; }
sed -i "s#callback_uri=http://127.0.0.1:9999/callback#callback_uri=http://127.0.0.1:$callback_port/callback#" "$work/block.sh"

# The portal's callback listener: answers 200 and keeps each body it is sent.
python3 - "$callback_port" "$work/callbacks" <<'PY' &
import http.server, sys
port, log = int(sys.argv[1]), sys.argv[2]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(min(int(self.headers.get("Content-Length", 0)), 65536))
        with open(log, "ab") as f:
            f.write(body + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
PY
listener_pid=$!

cd "$work"
timeout 120 bash -euo pipefail block.sh > out.txt 2> err.txt \
    || { echo "the walkthrough failed (exit $?):" >&2; cat out.txt err.txt >&2; exit 1; }

tx=$(python3 -c 'import json; print(json.load(open("tx.json"))["transaction_id"])')
fail() { echo "$1" >&2; echo "--- its output" >&2; cat out.txt >&2; exit 1; }
grep -qF "\"status\":\"accepted\"" out.txt || fail "the device's answer was not accepted"
grep -qx 'accepted' out.txt || fail "the portal did not read the transaction as accepted"
grep -qx 'alice' out.txt || fail "the enrollment was not read back as alice's"
# The callback is delivered by the server as the answer ends; wait for it, within a bound.
for _ in $(seq 50); do grep -qF "$tx" callbacks 2>/dev/null && break; sleep 0.1; done
grep -qF "$tx" callbacks 2>/dev/null || fail "no callback named transaction $tx"
echo "ok: the README walkthrough runs as written (transaction $tx accepted, callback delivered)"
