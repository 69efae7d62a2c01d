#!/usr/bin/env bash
# The whole suite by URL against `mobauth serve` on 127.0.0.1, one scenario at a time
# (--concurrency 1) and side by side (the default: the scenarios that change nothing server-wide
# at once, the @server-wide ones after them alone), in a release build, excluding the build:
# N runs of each, alternating, then each median and the ratio of the medians, measured in one go
# so that the machine's load weighs on both alike. Every run must end with the gate's exit code 0
# (a run that fails stops the script).
#
# Usage: scripts/bench-remote.sh [RUNS (default 3)] [SERVER FILE (default fixtures/servers/override-enabled.toml)]
#        [extra `mobauth run` arguments for both, e.g. --tags 'not @server-wide']
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

runs="${1:-3}"
config="${2:-fixtures/servers/override-enabled.toml}"
shift $(($# < 2 ? $# : 2))
extra=("$@")
cargo build --release --locked -p mobauth
bin=target/release/mobauth
out="$(mktemp -d /tmp/mobauth-bench-remote.XXXXXX)"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$bin" serve --config "$config" --addr "127.0.0.1:$port" >"$out/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; rm -rf "$out"' EXIT
# Ready when it answers (bounded: 100 tries).
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    sleep 0.05
done

timed() { # NAME I ARGS...: runs the suite by URL, prints its seconds
    local name=$1 i=$2
    shift 2
    local start end code
    start=$(date +%s.%N)
    set +e
    "$bin" run --server "http://127.0.0.1:$port" --progress off --out "$out/$name-$i" "$@" >"$out/$name-$i.stdout" 2>"$out/$name-$i.stderr"
    code=$?
    set -e
    end=$(date +%s.%N)
    if [ "$code" -ne 0 ]; then
        echo "$name run $i: mobauth run exited $code" >&2
        tail -n 20 "$out/$name-$i.stdout" "$out/$name-$i.stderr" >&2
        exit 1
    fi
    awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", b - a }'
}

median() { sort -n | awk '{ t[NR] = $1 } END { if (NR % 2) print t[(NR + 1) / 2]; else printf "%.3f\n", (t[NR / 2] + t[NR / 2 + 1]) / 2 }'; }

serial=()
side=()
for i in $(seq "$runs"); do
    s=$(timed serial "$i" --concurrency 1 "${extra[@]}")
    c=$(timed side-by-side "$i" "${extra[@]}")
    serial+=("$s")
    side+=("$c")
    echo "run $i: one at a time ${s} s, side by side ${c} s"
done
scenarios=$(head -n 1 "$out/side-by-side-1.stdout" | sed -n 's/^mobauth [^:]*: \([0-9]*\) of [0-9]* scenarios.*/\1/p')
ms=$(printf '%s\n' "${serial[@]}" | median)
mc=$(printf '%s\n' "${side[@]}" | median)
echo "scenarios: $scenarios, against mobauth serve --config $config on $(nproc) cores"
echo "median of $runs: one at a time ${ms} s, side by side ${mc} s, ratio $(awk -v a="$ms" -v b="$mc" 'BEGIN { printf "%.2f", a / b }')x"
