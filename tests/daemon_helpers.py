"""Running the daemon in tests: a config in tmp_path, the bundled preset, a models folder of
its own, and helpers to wait for what the daemon reports."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import yaml

from pedal import paths
from pedal.models.onnx.write import write_onnx
from helpers import random_spec

BUNDLED = paths.MODELS_DIR / "pedal_overdrive_lstm16.onnx"


def write_config(tmp: Path, **sections) -> Path:
    models = tmp / "models"
    models.mkdir(exist_ok=True)
    presets = tmp / "presets"
    presets.mkdir(exist_ok=True)
    shutil.copy(paths.DEFAULT_PRESET, presets / "default.yaml")
    doc = {
        "audio": {"backend": "fake", "realtime_priority": 0},
        "sound": {"presets_dir": "presets", "models_dir": "models", "settle_s": 0.3,
                  "scan_interval_s": 0.1},
        "controls": {"enabled": True, "pin_factory": "mock", "hold_s": 0.4, "bounce_ms": 0},
        "control": {"socket": "pedal.sock"},
        "state_file": "state/state.json",
    }
    for k, v in sections.items():
        doc[k] = {**doc.get(k, {}), **v} if isinstance(v, dict) else v
    path = tmp / "pedal.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def drop_model(folder: Path, name: str, src: Path = BUNDLED) -> Path:
    """Copy the way README says: a hidden temporary name, then a rename."""
    tmp = folder / f".{name}.part"
    shutil.copy(src, tmp)
    tmp.rename(folder / name)
    return folder / name


def slow_model(path: Path) -> Path:
    write_onnx(random_spec("lstm", hidden=192, layers=3, seed=5), path)  # 0.74 MMAC/sample
    return path


def nan_model(path: Path) -> Path:
    data = BUNDLED.read_bytes()
    import onnx
    from onnx import numpy_helper

    m = onnx.load_from_string(data)
    init = next(i for i in m.graph.initializer
                if numpy_helper.to_array(i).dtype.kind == "f" and numpy_helper.to_array(i).size)
    arr = numpy_helper.to_array(init).copy()
    arr.flat[0] = np.nan
    init.CopyFrom(numpy_helper.from_array(arr, init.name))
    path.write_bytes(m.SerializeToString())
    return path


def wait_for(pred, timeout=15.0, step=0.05, what="condition"):
    t_end = time.monotonic() + timeout
    while time.monotonic() < t_end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Running:
    """A Daemon started in this process, its loop on a thread."""

    def __init__(self, config_path: Path, notifier=None):
        from pedal.service.config import load_config
        from pedal.service.daemon import Daemon

        self.daemon = Daemon(load_config(config_path), notifier, config_path=config_path)
        self.daemon.start()
        self.thread = threading.Thread(target=self.daemon.loop, daemon=True)
        self.thread.start()

    def ask(self, cmd, *args):
        from pedal.service.socket import request

        return request(self.daemon.config.socket_path, cmd, args)

    def status(self):
        return self.ask("status")["status"]

    def blocks(self):
        return self.status()["blocks"]

    def stop(self):
        self.daemon.stop_requested = True
        self.thread.join(10)
        self.daemon.shutdown()
