#!/usr/bin/env bash
# Full OTP transactions per second (authenticate/user, device request, signed answer, callback)
# against an in-process mock server on 127.0.0.1, in a release build; and, measured in the same
# run on as many threads as there are cores, the transactions per second that the crypto alone
# allows (the device's P-256 signature and the server's check of it, with the OTP digests), and
# the ratio of the two. Rounds alternate the two measurements; the medians are reported.
#
# Usage: scripts/bench-mock-server.sh [--transactions N (default 2000)] [--concurrency C (default 8)]
#                                     [--rounds R (default 5)]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
exec cargo run --release -p mobauth-mock-server --example otp_throughput -- "$@"
