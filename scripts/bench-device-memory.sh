#!/usr/bin/env bash
# Bytes of mock-server memory per enrolled device at 1 k, 10 k and 100 k devices (target: at most
# 2 KB each): the device_memory example enrolls them through the server's core API and reads its
# resident set before and after, each size in a process of its own. Release build; the 100 k run
# takes about a minute on two cores.
#
# Usage: scripts/bench-device-memory.sh [SIZE ...] (default 1000 10000 100000)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000 10000 100000)
cargo build --release --quiet -p mobauth-mock-server --example device_memory
echo "mock server memory per enrolled device (release, core API, resident set growth)"
for n in "${sizes[@]}"; do
    target/release/examples/device_memory --devices "$n"
done
