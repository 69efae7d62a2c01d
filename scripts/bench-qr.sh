#!/usr/bin/env bash
# Measures how long qr::decode takes, in a release build, on every disturbance row of
# qr/tests/it/qr_disturbances.rs (the same images, built by qr::camera):
# per-row median and max over N decodes (default 20), slowest first, then the worst row, then two
# images without a code, which run the whole strategy pipeline (the worst case at that size).
# Usage: scripts/bench-qr.sh [runs-per-row]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -p mobauth-qr --example qr_bench -- "$@"
