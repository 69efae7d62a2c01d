#!/usr/bin/env bash
# Wall time of the whole conformance suite (`mobauth run` on the embedded default) in a release
# build, excluding the build: builds first (not timed), then times N runs and prints each, the
# median and the number of scenarios.
#
# Usage: scripts/bench-suite.sh [RUNS (default 5)] [extra `mobauth run` arguments, e.g. --concurrency 16]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${1:-5}"
shift || true
cargo build --release --locked -p mobauth
bin=target/release/mobauth
out="$(mktemp -d /tmp/mobauth-bench-suite.XXXXXX)"
trap 'rm -rf "$out"' EXIT

times=()
for i in $(seq "$runs"); do
    start=$(date +%s.%N)
    set +e
    "$bin" run --progress off --out "$out/run-$i" "$@" >"$out/stdout-$i" 2>"$out/stderr-$i"
    code=$?
    set -e
    end=$(date +%s.%N)
    if [ "$code" -ge 2 ]; then
        echo "run $i: mobauth run exited $code" >&2
        cat "$out/stderr-$i" >&2
        exit "$code"
    fi
    seconds=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }')
    times+=("$seconds")
    echo "run $i: ${seconds} s (exit $code: $(tail -n 2 "$out/stdout-$i" | head -n 1))"
done

# "mobauth 0.1.0: 606 of 606 scenarios against ..." is the summary's first line.
scenarios=$(head -n 1 "$out/stdout-1" | sed -n 's/^mobauth [^:]*: \([0-9]*\) of [0-9]* scenarios.*/\1/p')
median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ t[NR] = $1 } END { if (NR % 2) print t[(NR + 1) / 2]; else printf "%.3f\n", (t[NR / 2] + t[NR / 2 + 1]) / 2 }')
echo "scenarios: $scenarios"
echo "median wall time of $runs runs: ${median} s on $(nproc) cores"
