"""The daemon's configuration: one YAML file (``/etc/pedal/pedal.yaml`` on the pedal).

``systemd/pedal.yaml`` is the shipped file: every key, its default and a comment (a test keeps
it in step with ``SCHEMA``). Unknown keys are errors; every problem is reported at once, one line
each, naming the file and the key; relative paths resolve against the config file's folder.
Without a file the defaults run the bundled presets and models from this checkout.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields
from pathlib import Path

from .. import paths
from ..errors import ConfigError
from ..preset.safe_yaml import read_yaml
from ..preset.schema import Bool, Choice, FilePath, Num, NumOrWord, Section, Text, validate

BACKENDS = ("pyaudio", "pedalpi", "file", "fake")
PIN_FACTORIES = ("auto", "mock", "rpigpio", "lgpio", "native")
SYSTEM_CONFIG = Path("/etc/pedal/pedal.yaml")


def _dir(default=""):
    return FilePath(default=default, must_exist=False)


SCHEMA = Section({
    "audio": Section({
        "backend": Choice(BACKENDS, "pyaudio"),
        "device": Text(""),                  # pyaudio: name, part of a name, or index
        "channels": Num(1, 32, 1, integer=True),
        "input_channel": Num(1, 32, 1, integer=True),
        # a rate, or "model": the device runs at the rate of the model the pedal starts with
        "sample_rate": NumOrWord(Num(8000, 192000, unit="Hz", integer=True), ("model",), 48000),
        "block": Num(16, 2048, 64, "samples", integer=True),
        "realtime_priority": Num(0, 99, 70, integer=True),
        "restart_after_s": Num(0.5, 60, 2.0, "s"),
        "file": Section({
            "input": Text(""),
            "output": Text(""),
            "realtime": Bool(False),
            "exit_at_end": Bool(True),
        }),
        "pedalpi": Section({
            "hardware": Choice(("pi", "fake"), "pi"),
            "spi_bus": Num(0, 6, 0, integer=True),
            "spi_device": Num(0, 2, 0, integer=True),
            "spi_hz": Num(100000, 4000000, 3600000, "Hz", integer=True),
            "output_device": Text("Headphones"),
            "fake_input": Text(""),
        }),
    }),
    "sound": Section({
        "presets_dir": _dir(str(paths.PRESETS_DIR)),
        "preset": Text("default"),
        "models_dir": _dir(str(paths.MODELS_DIR)),
        "cycle": Choice(("models", "presets"), "models"),
        "crossfade_ms": Num(1, 500, 20.0, "ms"),
        "max_load": Num(0.05, 0.95, 0.5),
        "scan_interval_s": Num(0.1, 60, 0.5, "s"),
        "settle_s": Num(0, 60, 1.0, "s"),
    }),
    "controls": Section({
        "enabled": Bool(False),
        "pin_factory": Choice(PIN_FACTORIES, "auto"),
        "footswitch_pin": Num(0, 27, 15, integer=True),
        "next_pin": Num(0, 27, 14, integer=True),
        "prev_pin": Num(0, 27, 20, integer=True),
        "led_pin": Num(0, 27, 16, integer=True),
        "pull_up": Bool(True),
        "bounce_ms": Num(0, 500, 20.0, "ms"),
        "hold_s": Num(0.2, 10, 1.0, "s"),
    }),
    "control": Section({
        "socket": _dir(""),
        "socket_mode": Choice(("0600", "0660", "0666"), "0660"),
    }),
    "state_file": _dir(""),
    "loader": Section({
        "memory_mb": Num(256, 65536, 1536, "MB", integer=True),
        "timeout_s": Num(1, 600, 20.0, "s"),
        "idle_exit_s": Num(0, 86400, 60.0, "s"),
    }),
    "log": Section({
        "level": Choice(("debug", "info", "warning", "error"), "info"),
        "xrun_report_s": Num(1, 3600, 10.0, "s"),
    }),
})


FALLBACK_RUNTIME = Path("/tmp")


def _runtime_dir() -> Path:
    d = os.environ.get("XDG_RUNTIME_DIR")
    return Path(d) if d else FALLBACK_RUNTIME / f"pedal-{os.getuid()}"


def _state_home() -> Path:
    d = os.environ.get("XDG_STATE_HOME")
    return (Path(d) if d else Path.home() / ".local" / "state") / "pedal"


# the validated config, one frozen dataclass per section (fields as in SCHEMA)
@dataclass(frozen=True)
class FileConfig:
    input: str
    output: str
    realtime: bool
    exit_at_end: bool


@dataclass(frozen=True)
class PedalPiConfig:
    hardware: str
    spi_bus: int
    spi_device: int
    spi_hz: int
    output_device: str
    fake_input: str


@dataclass(frozen=True)
class AudioConfig:
    backend: str
    device: str
    channels: int
    input_channel: int
    sample_rate: int | str  # Hz, or "model" (the daemon chooses; see ``Daemon.rate``)
    block: int
    realtime_priority: int
    restart_after_s: float
    file: FileConfig
    pedalpi: PedalPiConfig


@dataclass(frozen=True)
class SoundConfig:
    presets_dir: Path
    preset: str
    models_dir: Path
    cycle: str
    crossfade_ms: float
    max_load: float
    scan_interval_s: float
    settle_s: float


@dataclass(frozen=True)
class ControlsConfig:
    enabled: bool
    pin_factory: str
    footswitch_pin: int
    next_pin: int
    prev_pin: int
    led_pin: int
    pull_up: bool
    bounce_ms: float
    hold_s: float


@dataclass(frozen=True)
class ControlConfig:
    socket: str
    socket_mode: str


@dataclass(frozen=True)
class LoaderConfig:
    memory_mb: int
    timeout_s: float
    idle_exit_s: float


@dataclass(frozen=True)
class LogConfig:
    level: str
    xrun_report_s: float


def _build(cls, d: dict):
    """A section's dataclass from its validated mapping (nested sections likewise)."""
    kw = {}
    for f in fields(cls):
        v = d[f.name]
        kind = _SECTIONS.get(f.name) if isinstance(v, dict) else None
        kw[f.name] = _build(kind, v) if kind else v
    return cls(**kw)


_SECTIONS = {"file": FileConfig, "pedalpi": PedalPiConfig}


@dataclass(frozen=True)
class Config:
    path: str
    audio: AudioConfig
    sound: SoundConfig
    controls: ControlsConfig
    control: ControlConfig
    loader: LoaderConfig
    log: LogConfig
    state_file: str

    @property
    def socket_path(self) -> Path:
        s = self.control.socket
        return Path(s) if s else _runtime_dir() / "pedal.sock"

    @property
    def socket_dir_is_private(self) -> bool:
        """The socket lives in the fallback folder /tmp/pedal-<uid>, which must be ours alone
        (``socket.private_dir``)."""
        return not self.control.socket and not os.environ.get("XDG_RUNTIME_DIR")

    @property
    def state_path(self) -> Path:
        return Path(self.state_file) if self.state_file else _state_home() / "state.json"


def load_config(path=None, overrides: dict | None = None) -> Config:
    """Read and check the config (``None``: /etc/pedal/pedal.yaml if present, else defaults).
    ``overrides`` is a nested mapping laid over the file (``pedal run`` flags)."""
    if path is None and SYSTEM_CONFIG.is_file():
        path = SYSTEM_CONFIG
    if path is None:
        doc, name, base = {}, "<defaults>", Path.cwd()
    else:
        p = Path(path)
        doc = read_yaml(p, "config file")
        name, base = str(p), p.resolve().parent
        if not isinstance(doc, dict):
            raise ConfigError(f"{p}: (top): must be a mapping of keys to values, "
                              f"got {type(doc).__name__}")
    for k, v in (overrides or {}).items():
        if isinstance(v, dict):
            doc[k] = {**(doc.get(k) or {}), **v}
        else:
            doc[k] = v
    data, problems = validate(doc, SCHEMA, file=name, base=base)
    if not problems:
        a = data["audio"]
        if a["input_channel"] > a["channels"]:
            problems.append(f"{name}: audio.input_channel: must be 1..audio.channels "
                            f"({a['channels']}), got {a['input_channel']}")
        if a["backend"] == "file" and not a["file"]["input"]:
            problems.append(f"{name}: audio.file.input: the file backend needs an input file")
        for section, k in (("file", "input"), ("file", "output"), ("pedalpi", "fake_input")):
            v = a[section][k]  # recordings named by the config: relative to it
            if v and not Path(v).expanduser().is_absolute():
                a[section][k] = str(base / v)
    if problems:
        raise ConfigError(problems)
    for k in ("presets_dir", "models_dir"):
        data["sound"][k] = Path(data["sound"][k]).resolve()
    return Config(name, _build(AudioConfig, data["audio"]), _build(SoundConfig, data["sound"]),
                  _build(ControlsConfig, data["controls"]),
                  _build(ControlConfig, data["control"]), _build(LoaderConfig, data["loader"]),
                  _build(LogConfig, data["log"]), str(data["state_file"] or ""))
