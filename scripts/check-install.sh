#!/usr/bin/env bash
# Checks that an installed mobauth carries its suite: `cargo install --path mobauth --locked`
# into a temporary root, then `mobauth run` from an empty folder must say conformant and exit 0.
#
#   scripts/check-install.sh
#
# A release build: several minutes cold. It uses its own target dir (CARGO_TARGET_DIR, default
# ${TMPDIR:-/tmp}/mobauth-install-target, kept between runs so a second run is incremental) so it
# does not wait on the workspace's debug builds. Kept out of CI on purpose: too slow for every
# push, and `cargo test -p mobauth --test it install` checks the same from the debug binary.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-${TMPDIR:-/tmp}/mobauth-install-target}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/root" "$work/empty"
echo "installing mobauth into $work/root (target dir $CARGO_TARGET_DIR)" >&2
cargo install --quiet --path "$repo/mobauth" --root "$work/root" --locked
# From an empty folder: no features/, no fixtures/, no docs/ to lean on.
cd "$work/empty"
set +e
"$work/root/bin/mobauth" run --progress off --out "$work/reports" >"$work/out.txt" 2>&1
code=$?
set -e
head -n 1 "$work/out.txt"
grep "^Result:" "$work/out.txt" || true
[ "$code" -eq 0 ] || { echo "the installed mobauth exited $code, not 0:" >&2; cat "$work/out.txt" >&2; exit 1; }
grep -q "^Result: conformant (exit 0)" "$work/out.txt" \
    || { echo "the installed mobauth did not say conformant" >&2; exit 1; }
[ -s "$work/reports/report.json" ] || { echo "no report.json was written" >&2; exit 1; }
[ -z "$(ls -A "$work/empty")" ] || { echo "the run left files in the working folder" >&2; exit 1; }
echo "ok: the installed mobauth runs its suite from an empty folder and is conformant"
