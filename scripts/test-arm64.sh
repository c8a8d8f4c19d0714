#!/usr/bin/env bash
# The test suite, and the Raspberry Pi install, on the Pi's own architecture: a Debian bookworm
# arm64 root (Raspberry Pi OS 64-bit is bookworm arm64) run under QEMU user-mode emulation on
# an x86_64 Debian machine, as root.
#
#   scripts/test-arm64.sh                 # the whole suite inside the root
#   scripts/test-arm64.sh --ci            # what .ci/run runs: the CI subset, then the install
#   scripts/test-arm64.sh --install       # scripts/install-pi.sh inside the root, then the
#                                         # installed service's command and `pedal status`
#   scripts/test-arm64.sh -- -k golden    # pytest arguments after --
#
# Everything it builds is kept outside the repository, under $PEDAL_ARM64 (default
# /var/cache/pedal-arm64): the root (about 10 min to make, emulated), the aarch64 wheels, and
# numba's cache, so a later run takes minutes. QEMU checks correctness (numerics on NEON,
# wheels that exist for aarch64, install steps), never speed. See hardware.md.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
BASE=${PEDAL_ARM64:-/var/cache/pedal-arm64}
ROOT=$BASE/root
WHEELS=$BASE/wheels
SHARED="$(cd "$SRC/.." && pwd)/shared"
MODE=full
PYTEST=()
while [ $# -gt 0 ]; do
    case "$1" in
        --ci) MODE=ci ;;
        --install) MODE=install ;;
        --) shift; PYTEST=("$@"); break ;;
        *) PYTEST+=("$1") ;;
    esac
    shift
done
EXTRA=""  # the pytest arguments, quoted for the shell inside (none: nothing, not '')
[ "${#PYTEST[@]}" -gt 0 ] && EXTRA=$(printf '%q ' "${PYTEST[@]}")
[ "$(id -u)" = 0 ] || { echo "test-arm64: run as root (chroot, mounts, binfmt)" >&2; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "test-arm64: for an x86_64 host" >&2; exit 1; }
t0=$(date +%s)
step() { echo "[arm64 $(( $(date +%s) - t0 )) s] $*"; }

# -- QEMU and binfmt --------------------------------------------------------------------------
need=()
for p in qemu-user-static debootstrap binfmt-support; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    step "installing ${need[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
mountpoint -q /proc/sys/fs/binfmt_misc || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
update-binfmts --enable qemu-aarch64 2>/dev/null || true

# -- the root ---------------------------------------------------------------------------------
mkdir -p "$BASE" "$WHEELS"
# mounts a run left behind (killed before its cleanup) point at whatever they bound then, often
# a deleted checkout: drop them, innermost first, before anything binds anew (or removes $ROOT)
awk -v root="$ROOT/" 'index($2, root) == 1 { print $2 }' /proc/mounts | sort -r \
    | while read -r m; do umount -l "$m" 2>/dev/null || true; done
if [ ! -x "$ROOT/opt/venv/bin/python" ] && [ ! -f "$ROOT/.pedal-root-ok" ]; then
    # the host's own Debian mirror (deb822 URIs: or a one-line deb entry; comments skipped)
    MIRROR=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources 2>/dev/null \
             | grep -v '^[[:space:]]*#' | grep -oE 'https?://[^ ]*/debian/?( |$)' \
             | head -1 | tr -d ' ' || true)
    MIRROR=${MIRROR:-http://deb.debian.org/debian}
    step "debootstrap bookworm arm64 from $MIRROR into $ROOT (first stage)"
    rm -rf "$ROOT"
    debootstrap --arch=arm64 --foreign --variant=minbase \
        --include=python3,python3-venv,python3-dev,libsndfile1,ca-certificates,gcc,g++,libc6-dev,portaudio19-dev,rsync,passwd \
        bookworm "$ROOT" "$MIRROR" >"$BASE/debootstrap1.log" 2>&1 \
        || { tail -20 "$BASE/debootstrap1.log"; exit 1; }
    cp /usr/bin/qemu-aarch64-static "$ROOT/usr/bin/"
    step "second stage, emulated (about 10 min)"
    chroot "$ROOT" /debootstrap/debootstrap --second-stage >"$BASE/debootstrap2.log" 2>&1 \
        || { tail -20 "$BASE/debootstrap2.log"; exit 1; }
    echo "deb $MIRROR bookworm main" > "$ROOT/etc/apt/sources.list"
    touch "$ROOT/.pedal-root-ok"
fi

# -- mounts: the checkout, ../shared, proc/sys/dev, and a Cortex-A72 cpuinfo ------------------
# QEMU passes the host's x86 /proc/cpuinfo through, and onnxruntime's CPU detection then
# crashes at import: the root sees a Raspberry Pi 4's instead.
CPUINFO=$BASE/cpuinfo-a72
: > "$CPUINFO"
for i in 0 1 2 3; do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: fp asimd evtstrm crc32 cpuid\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x0\nCPU part\t: 0xd08\nCPU revision\t: 3\n\n' "$i" >> "$CPUINFO"
done
MOUNTS=()
bind() {  # bind SRC DST [ro]
    mkdir -p "$2"
    mountpoint -q "$2" && return 0
    mount --bind "$1" "$2"
    [ "${3:-}" = ro ] && mount -o remount,bind,ro "$2"
    MOUNTS+=("$2")
}
cleanup() {
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
bind /proc "$ROOT/proc"
mount --bind "$CPUINFO" "$ROOT/proc/cpuinfo" && MOUNTS+=("$ROOT/proc/cpuinfo")
bind /sys "$ROOT/sys"
bind /dev "$ROOT/dev"
bind "$SRC" "$ROOT/src"
[ -d "$SHARED" ] && bind "$SHARED" "$ROOT/shared" ro
bind "$WHEELS" "$ROOT/wheels"
mkdir -p "$BASE/numba" && bind "$BASE/numba" "$ROOT/var/cache/pedal-test-numba"

# every emulated command: a clean environment (the host's pip settings must not leak in),
# the Pi 4's CPU, numba's cache outside the checkout (the x86 one lives in __pycache__)
run() {
    chroot "$ROOT" /usr/bin/env -i PATH=/opt/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
        LANG=C.UTF-8 QEMU_CPU=cortex-a72 NUMBA_CACHE_DIR=/var/cache/pedal-test-numba \
        PEDAL_ARM64=1 "$@"
}

# -- aarch64 wheels, fetched by the host's pip (the emulated resolver is slow) ----------------
# The test extra without torch: PyPI's aarch64 torch 2.13.0 is a CUDA build whose import
# fails; the tests that need torch skip under emulation and say so.
REQS=$(cd "$SRC" && python3 - <<'EOF'
import tomllib
p = tomllib.load(open("pyproject.toml", "rb"))["project"]
deps = list(p["dependencies"]) + [d for d in p["optional-dependencies"]["test"]
                                  if not d.startswith("torch")]
print(" ".join(sorted(set(deps))))
EOF
)
STAMP=$WHEELS/.reqs
if [ "$(cat "$STAMP" 2>/dev/null)" != "$REQS" ]; then
    step "downloading aarch64 wheels: $REQS"
    # shellcheck disable=SC2086
    python3 -m pip download -q -d "$WHEELS" --only-binary=:all: --python-version 3.11 \
        --implementation cp --abi cp311 --platform manylinux_2_28_aarch64 \
        --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64 --platform any \
        $REQS "setuptools>=61" wheel
    # what install-pi.sh installs beyond them: gpiozero (in REQS) and PyAudio, which has no
    # aarch64 wheel: its source, built inside the root against portaudio19-dev
    python3 -m pip download -q -d "$WHEELS" --no-deps --no-binary :all: "pyaudio>=0.2.13"
    echo "$REQS" > "$STAMP"
fi
if [ ! -x "$ROOT/opt/venv/bin/python" ] || [ "$(cat "$ROOT/opt/venv/.reqs" 2>/dev/null)" != "$REQS" ]; then
    step "the test venv in the root (emulated pip, about 3 min)"
    run /usr/bin/python3 -m venv /opt/venv
    # shellcheck disable=SC2086
    run /opt/venv/bin/pip install -q --no-index --find-links /wheels $REQS "setuptools>=61" wheel
    echo "$REQS" > "$ROOT/opt/venv/.reqs"
fi
# numba's cache index keys each kernel file by its mtime, and a fresh clone's are new: give
# unmodified kernel sources their last commit's time, so a cache kept in $BASE (and the one
# install-pi.sh warms for the pedal user, which rsync copies the mtimes into) stays valid
if git -C "$SRC" diff --quiet HEAD -- pedal/kernels 2>/dev/null; then
    for f in "$SRC"/pedal/kernels/*.py; do
        t=$(git -C "$SRC" log -1 --format=%ct -- "$f" 2>/dev/null || true)
        [ -n "$t" ] && touch -m -d "@$t" "$f"
    done
fi
if [ ! -x "$ROOT/usr/bin/g++" ]; then  # a root made before the ahead-of-time kernels
    step "g++ inside the root (numba's pycc checks for a C++ compiler too)"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    run /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq g++ >/dev/null'
fi
step "the pedal from the checkout, numba's cache for a Cortex-A72, the ahead-of-time kernels"
run /opt/venv/bin/pip install -q --no-index --find-links /wheels --no-build-isolation --no-deps -e /src
run /bin/sh -c 'cd /src && /opt/venv/bin/pedal warmup'

if [ "$MODE" = full ]; then
    step "the test suite"
    run /bin/sh -c "cd /src && exec /opt/venv/bin/python -m pytest -q -p no:cacheprovider $EXTRA"
    step "done"
    exit 0
fi
if [ "$MODE" = ci ]; then
    # The CI subset, sized to keep .ci/run well inside its 90 minutes on a cold machine (the
    # whole suite takes over an hour emulated on 2 cores; golden + NAM cases about 6 min):
    # every model family's goldens and NAM Core's 0.7 cases (the numerics NEON could change)
    # and the Pedal Pi board's fakes; the daemon is then exercised end to end by the install
    # check below. The contract and the in-process daemon tests run in the full script.
    step "the CI subset of the test suite"
    run /bin/sh -c "cd /src && exec /opt/venv/bin/python -m pytest -q -p no:cacheprovider -rs \
        --durations=8 tests/test_golden.py tests/test_nam_a2.py tests/test_pedalpi.py $EXTRA"
fi

# -- scripts/install-pi.sh as on a fresh Raspberry Pi OS, then the service's own command ------
step "scripts/install-pi.sh inside the root"
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"  # apt inside reaches the same mirror
# pip inside installs from the aarch64 wheels fetched above (and builds PyAudio from its
# source there): the emulated resolver is slow, and this host reaches PyPI only through its
# own proxy settings
run /usr/bin/env PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheels /bin/bash /src/scripts/install-pi.sh
step "the installed service's command with the fake backend, and pedal status"
EXEC=$(sed -n 's/^ExecStart=//p' "$ROOT/etc/systemd/system/pedal.service")
# the one setting emulation needs: checking a model takes about ten times as long under QEMU
# as on this host, past the loader's 20 s limit; the installed config is otherwise untouched
sed -i 's/^\(  timeout_s:\) *20 /\1 300 /' "$ROOT/etc/pedal/pedal.yaml"
SOCK=/tmp/pedal-arm64.sock
# It must start, finish loading its preset and answer. Under emulation the bundled model runs
# at about 0.3-0.9x real time, so the real-time check refuses it and the pedal plays dry,
# saying why: that is the check working, and status shows it.
run /bin/bash -c "rm -f $SOCK; runuser -u pedal -- env NUMBA_CACHE_DIR=/var/cache/pedal/numba \
    $EXEC --backend fake --socket $SOCK > /tmp/pedal-arm64.log 2>&1 & pid=\$!; \
    for i in \$(seq 1 600); do \
        grep -q 'ready in' /tmp/pedal-arm64.log && \
            /opt/pedal/.venv/bin/pedal status --socket $SOCK > /tmp/status.txt 2>&1 && \
            grep -q '^  audio      fake' /tmp/status.txt && break; \
        kill -0 \$pid 2>/dev/null || break; sleep 1; done; \
    kill \$pid 2>/dev/null; wait \$pid 2>/dev/null; \
    cat /tmp/status.txt; grep -q '^  audio      fake' /tmp/status.txt || { cat /tmp/pedal-arm64.log; exit 1; }; \
    grep -q 'kernels aot\$' /tmp/status.txt || { echo 'the service did not run the ahead-of-time kernels'; \
        cat /tmp/pedal-arm64.log; exit 1; }"
step "done"
