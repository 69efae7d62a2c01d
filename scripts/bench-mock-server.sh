#!/usr/bin/env bash
# Full OTP transactions per second (authenticate/user, device request, signed answer, callback)
# against an in-process mock server on 127.0.0.1, in a release build.
#
# Usage: scripts/bench-mock-server.sh [--transactions N (default 2000)] [--concurrency C (default 8)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo run --release -p mobauth-mock-server --example otp_throughput -- "$@"
