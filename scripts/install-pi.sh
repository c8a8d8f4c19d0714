#!/usr/bin/env bash
# Install the pedal as a systemd service on Raspberry Pi OS (run as root from a checkout):
#   sudo scripts/install-pi.sh
# Copies this checkout to /opt/pedal, makes its venv (with the system's lgpio/RPi.GPIO, which
# Raspberry Pi OS ships as packages), creates the unprivileged `pedal` user, seeds
# /etc/pedal (config, presets) and /var/lib/pedal/models, warms numba's cache as that user,
# enables SPI, and starts the service. Running it again upgrades the code and keeps your
# config, presets, models and state.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root: sudo $0" >&2; exit 1; }
SRC="$(cd "$(dirname "$0")/.." && pwd)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q python3 python3-venv python3-dev libsndfile1 portaudio19-dev rsync \
    python3-lgpio || true
apt-get install -y -q python3-rpi-lgpio 2>/dev/null || apt-get install -y -q python3-rpi.gpio \
    2>/dev/null || true
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
if command -v raspi-config >/dev/null; then raspi-config nonint do_spi 0 || true; fi
install -m 0644 /opt/pedal/systemd/pedal.service /etc/systemd/system/pedal.service
systemctl daemon-reload
systemctl enable --now pedal
echo "installed: systemctl status pedal; journalctl -u pedal -f; /opt/pedal/.venv/bin/pedal status"
echo "add yourself to the pedal group to use pedal status/ctl: sudo usermod -a -G pedal \$USER"
