#!/usr/bin/env bash
# Install the pedal as a systemd service on Raspberry Pi OS (run as root from a checkout):
#   sudo scripts/install-pi.sh
# Copies this checkout to /opt/pedal, makes its venv (with the system's lgpio/RPi.GPIO, which
# Raspberry Pi OS ships as packages), creates the unprivileged `pedal` user, seeds
# /etc/pedal (config, presets) and /var/lib/pedal/models, warms numba's cache as that user,
# enables SPI, and starts the service. Running it again upgrades the code and keeps your
# config, presets, models and state.
#
# What only a Raspberry Pi has (raspi-config, the GPIO packages, a running systemd) is detected;
# each step that cannot run here is reported as skipped, with what to do on the Pi, never
# skipped silently. scripts/test-arm64.sh runs this inside an arm64 Debian root under QEMU.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }
SRC="$(cd "$(dirname "$0")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive
SKIPPED=()
skip() { echo "install-pi: skipped: $*"; SKIPPED+=("$*"); }

apt-get update -q
# what every Debian has; a failure here stops the install
apt-get install -y -q python3 python3-venv python3-dev libsndfile1 portaudio19-dev gcc g++ rsync
# the GPIO libraries gpiozero uses, from Raspberry Pi OS's own archive (not in Debian's)
gpio=()
for p in python3-lgpio python3-rpi-lgpio; do
    if apt-get install -y -q "$p" >/dev/null 2>&1; then gpio+=("$p"); fi
done
if [ "${#gpio[@]}" = 0 ] && apt-get install -y -q python3-rpi.gpio >/dev/null 2>&1; then
    gpio+=(python3-rpi.gpio)
fi
[ "${#gpio[@]}" -gt 0 ] || skip "GPIO packages (python3-lgpio, python3-rpi-lgpio): not in this" \
    "system's archives (not Raspberry Pi OS); buttons need them on the Pi, audio does not"

id pedal >/dev/null 2>&1 || useradd --system --home-dir /var/lib/pedal --shell /usr/sbin/nologin pedal
for g in audio gpio spi; do getent group "$g" >/dev/null || groupadd --system "$g"; done
usermod -a -G audio,gpio,spi pedal
rsync -a --delete --exclude .venv --exclude .git --exclude '__pycache__' "$SRC/" /opt/pedal/
[ -d /opt/pedal/.venv ] || python3 -m venv --system-site-packages /opt/pedal/.venv
/opt/pedal/.venv/bin/pip install -q -e "/opt/pedal[audio,pi]"
install -d -m 0755 /etc/pedal /etc/pedal/presets
[ -f /etc/pedal/pedal.yaml ] || install -m 0644 /opt/pedal/systemd/pedal.yaml /etc/pedal/pedal.yaml
for p in /opt/pedal/presets/*.yaml; do
    [ -f "/etc/pedal/presets/$(basename "$p")" ] || install -m 0644 "$p" /etc/pedal/presets/
done
install -d -o pedal -g pedal -m 0775 /var/lib/pedal /var/lib/pedal/models
[ -n "$(ls -A /var/lib/pedal/models)" ] || install -o pedal -g pedal -m 0644 /opt/pedal/models/*.onnx /var/lib/pedal/models/
install -d -o pedal -g pedal -m 0755 /var/cache/pedal /var/cache/pedal/numba
runuser -u pedal -- env NUMBA_CACHE_DIR=/var/cache/pedal/numba /opt/pedal/.venv/bin/pedal warmup
if command -v raspi-config >/dev/null; then
    raspi-config nonint do_spi 0 || skip "raspi-config do_spi failed: set dtparam=spi=on in /boot/firmware/config.txt"
else
    skip "SPI (Pedal Pi board): raspi-config not found; on the Pi: raspi-config nonint do_spi 0," \
        "or dtparam=spi=on in /boot/firmware/config.txt"
fi
[ -f /boot/firmware/config.txt ] || skip "device-tree overlays for the Pedal Pi's PWM output:" \
    "no /boot/firmware/config.txt here; see hardware.md (dtoverlay=audremap,pins_18_19)"
install -m 0644 /opt/pedal/systemd/pedal.service /etc/systemd/system/pedal.service
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now pedal
    echo "installed: systemctl status pedal; journalctl -u pedal -f; /opt/pedal/.venv/bin/pedal status"
else
    skip "starting the service: systemd is not running here (a chroot or container);" \
        "on the Pi: systemctl daemon-reload && systemctl enable --now pedal"
    echo "installed (not started): the service's command is" \
        "$(sed -n 's/^ExecStart=//p' /etc/systemd/system/pedal.service)"
fi
echo "add yourself to the pedal group to use pedal status/ctl: sudo usermod -a -G pedal \$USER"
if [ "${#SKIPPED[@]}" -gt 0 ]; then
    echo "install-pi: ${#SKIPPED[@]} step(s) skipped on this machine:"
    printf '  - %s\n' "${SKIPPED[@]}"
fi
