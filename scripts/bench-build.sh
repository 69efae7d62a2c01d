#!/usr/bin/env bash
# Cold build time of the workspace's tests: clones a revision (default HEAD) into a fresh folder
# with a fresh target dir (the registry stays warm: no download is timed) and times
# `cargo test --workspace --no-run --locked` there, then `.ci/run` in the same clone when asked.
# A cold build takes minutes, so each figure is one run: compare two revisions back to back on a
# quiet machine, e.g. `scripts/bench-build.sh 4502b17 && scripts/bench-build.sh HEAD`.
#
# The same build also prints the floor its dependencies set: the CPU seconds cargo's --timings
# gives the units of packages outside the workspace, divided by the cores, is a wall time no
# change to the workspace's own code can go below.
#
# Usage: scripts/bench-build.sh [REVISION (default HEAD)] [--ci]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

rev="${1:-HEAD}"
ci="${2:-}"
work="$(mktemp -d /tmp/mobauth-bench-build.XXXXXX)"
trap 'rm -rf "$work"' EXIT

git clone --quiet --no-hardlinks . "$work/clone"
git -C "$work/clone" checkout --quiet "$rev"
cd "$work/clone"
export CARGO_TARGET_DIR="$work/target"
# Fetch (from the warm registry) outside the timing, so only the build is timed.
cargo fetch --locked --quiet

start=$(date +%s.%N)
cargo test --workspace --no-run --locked --quiet --timings
end=$(date +%s.%N)
printf 'cold `cargo test --workspace --no-run` of %s: %.1f s\n' "$(git rev-parse --short HEAD)" "$(awk "BEGIN{print $end - $start}")"
# The workspace's packages are `mobauth` and `mobauth-*`.
python3 - "$CARGO_TARGET_DIR/cargo-timings/cargo-timing.html" "$(nproc)" <<'PY'
import json, re, sys
html, cores = open(sys.argv[1]).read(), int(sys.argv[2])
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", html, re.S).group(1))
members = {u["name"] for u in units if u["name"] == "mobauth" or u["name"].startswith("mobauth-")}
deps = sum(u["duration"] for u in units if u["name"] not in members)
own = sum(u["duration"] for u in units if u["name"] in members)
print(f"  units' CPU: dependencies {deps:.1f} s, workspace {own:.1f} s; "
      f"the dependencies alone need at least {deps / cores:.1f} s on {cores} cores")
PY

if [ "$ci" = "--ci" ]; then
    rm -rf "$CARGO_TARGET_DIR"
    start=$(date +%s.%N)
    .ci/run >"$work/ci.log" 2>&1 || { tail -30 "$work/ci.log"; exit 1; }
    end=$(date +%s.%N)
    printf 'cold .ci/run of %s: %.1f s\n' "$(git rev-parse --short HEAD)" "$(awk "BEGIN{print $end - $start}")"
fi
