#!/usr/bin/env bash
# A soak of `mobauth serve` on 127.0.0.1: ROUNDS rounds of N full OTP transactions (the
# otp_throughput example, 8 devices of its own per round), the server's clock moved on two hours
# after each round so that what ended is past its retention; prints the server's resident memory
# (VmRSS) before the first round and after each, so growth over a long run shows as a plateau or
# not. Release build.
#
# Usage: scripts/soak-mock-server.sh [ROUNDS (default 5)] [N (default 20000)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rounds="${1:-5}"
n="${2:-20000}"
cargo build --release --quiet -p mobauth --bin mobauth
cargo build --release --quiet -p mobauth-mock-server --example otp_throughput
work="$(mktemp -d /tmp/mobauth-soak.XXXXXX)"
target/release/mobauth serve --config fixtures/servers/multiple-devices.toml --addr 127.0.0.1:0 >"$work/serve.out" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
    url=$(sed -n 's/.* listening on //p' "$work/serve.out")
    [ -n "$url" ] && break
    sleep 0.1
done
[ -n "$url" ] || { echo "mobauth serve did not start" >&2; exit 1; }
rss() { awk '/^VmRSS/ {print $2 " kB"}' "/proc/$pid/status"; }
echo "mobauth serve at $url: $rounds rounds of $n transactions"
echo "  before:   $(rss)"
for round in $(seq 1 "$rounds"); do
    rate=$(target/release/examples/otp_throughput --server "$url" --seed "$round" -n "$n" | sed -n 's/ *throughput: *//p')
    curl -s -o /dev/null -H 'Authorization: Bearer mobauth-admin' -H 'Content-Type: application/json' \
        -d '{"advance_ms": 7200000}' "$url/_admin/v1/clock"
    echo "  round $round: $(rss) ($rate)"
done
