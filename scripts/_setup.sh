# Shared by scripts/demo.sh and scripts/test.sh: Debian / Raspberry Pi OS packages, a virtual
# environment in .venv (Raspberry Pi OS forbids pip outside one), and the pedal in it.
# Usage: . scripts/_setup.sh EXTRAS [APT PACKAGES...]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
EXTRAS="$1"
shift
APT=(python3 python3-venv python3-dev libsndfile1 gcc g++ "$@")  # gcc, g++: numba pycc (the ahead-of-time kernels)

need=()
for p in "${APT[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ "${#need[@]}" -gt 0 ]; then
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    echo "installing Debian packages: ${need[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
        "${need[@]}" > /dev/null
fi

PY="${PYTHON:-python3}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
    "$PY" -m venv "$ROOT/.venv"
fi
VPY="$ROOT/.venv/bin/python"
"$VPY" -m pip install -q --upgrade pip
"$VPY" -m pip install -q -e "$ROOT[$EXTRAS]"
