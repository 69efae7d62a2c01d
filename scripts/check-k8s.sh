#!/usr/bin/env bash
# Validates the Kubernetes recipe of sharded load generators (docs/load/indexed-job.yaml and
# docs/load/merge-job.yaml) against the Kubernetes API's OpenAPI schemas with
# kubernetes-validate, strictly (an unknown field is an error), and checks that the generator's
# command line is one `mobauth load` accepts (shard 1 of 4 of its plan, run briefly here on the
# embedded default instead of the target file).
#
#   scripts/check-k8s.sh
#
# Needs python3 with venv. kubernetes-validate is installed once, at the pinned version below,
# into ${XDG_CACHE_HOME:-$HOME/.cache}/mobauth/kubernetes-validate-VERSION. MOBAUTH names the
# binary (default target/debug/mobauth, built when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=1.37.0
kubernetes=1.33.0 # the API version the files are checked against
cache=${XDG_CACHE_HOME:-$HOME/.cache}/mobauth/kubernetes-validate-$version
if [ ! -x "$cache/bin/kubernetes-validate" ]; then
    python3 -m venv "$cache"
    "$cache/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$version" >&2
fi
for file in docs/load/indexed-job.yaml docs/load/merge-job.yaml; do
    "$cache/bin/kubernetes-validate" --strict --kubernetes-version "$kubernetes" "$file"
done

bin=${MOBAUTH:-target/debug/mobauth}
[ -x "$bin" ] || cargo build --locked -p mobauth
# The generator's arguments as the Job gives them to sh, for index 0, with the target file and
# the plan's length swapped for a run that ends in a second here.
line=$(python3 - <<'PY'
import yaml
docs = [d for d in yaml.safe_load_all(open("docs/load/indexed-job.yaml")) if d and d["kind"] == "Job"]
print(docs[0]["spec"]["template"]["spec"]["containers"][0]["args"][0])
PY
)
out=$(mktemp -d /tmp/mobauth-check-k8s.XXXXXX)
trap 'rm -rf "$out"' EXIT
line=${line/exec \/usr\/local\/bin\/mobauth/exec \"\$MOBAUTH_BIN\"}
line=${line/--target \/config\/target.toml/}
line=$(printf '%s' "$line" | sed -e 's/--ramp-up [^ ]*/--ramp-up 0s/' -e 's/--hold [^ ]*/--hold 1s/' \
    -e 's/--ramp-down [^ ]*/--ramp-down 0s/' -e 's/--rate [^ ]*/--rate 20\/s/' -e 's/--devices [^ ]*/--devices 4/' \
    -e "s#/reports/#$out/#")
set +e
JOB_COMPLETION_INDEX=0 MOBAUTH_BIN="$bin" sh -c "$line" >"$out/stdout" 2>"$out/stderr"
code=$?
set -e
if [ "$code" -ne 0 ] || [ ! -f "$out/shard-1/load.json" ]; then
    echo "the generator's command line failed (exit $code):" >&2
    cat "$out/stderr" >&2
    exit 1
fi
grep -q '"index": 1' "$out/shard-1/load.json" && grep -q '"count": 4' "$out/shard-1/load.json" || {
    echo "the generator did not run shard 1/4" >&2
    exit 1
}
echo "docs/load: both files valid against Kubernetes $kubernetes; the generator's command line runs shard 1/4"
