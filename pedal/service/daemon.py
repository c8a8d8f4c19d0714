"""``pedal run``: the pedal as a service.

Startup: read and check the config; warm the real-time kernels; load the saved state (or the
configured preset) and build, prepare and warm its chain; open the audio device; start the
control socket and the buttons; tell systemd READY. Then one control loop owns everything
that is not audio: intents from the buttons, the socket and signals, the models folder, the
audio device's health, the watchdog, state saving and logs. Model and preset changes are
loaded, checked and warmed here and handed to the engine, which crossfades at a block
boundary; a file that fails is logged and the sound that was playing keeps playing.
"""

from __future__ import annotations

import copy
import logging
import queue
import signal
import sys
import threading
import time
from pathlib import Path

from .config import Config, load_config
from .player import Engine
from ..errors import ConfigError, PedalError
from .library import ModelLibrary, check_rate
from .sdnotify import Notifier
from .state import load_state, save_state

log = logging.getLogger("pedal")
TICK_S = 0.05
ERROR_BLINK_S = 3.0
GIL_SWITCH_S = 0.0005  # hand the GIL to the audio thread within half a millisecond


class _Request:
    __slots__ = ("intent", "arg", "reply", "done")

    def __init__(self, intent, arg=None, wait=False):
        self.intent, self.arg = intent, arg
        self.reply = None
        self.done = threading.Event() if wait else None


class Daemon:
    def __init__(self, config: Config, notifier: Notifier | None = None, config_path=None,
                 overrides=None):
        self.config = config
        self.config_path = config_path
        self.overrides = overrides
        self.notifier = notifier or Notifier()
        self.queue: queue.Queue = queue.Queue()
        self.t0 = time.monotonic()
        self.last_error: str | None = None
        self.error_at = -1e9
        self.stop_requested = False
        self.exit_code = 0
        self.engine: Engine | None = None
        self.backend = None
        self.server = None
        self.controls = None
        self.library: ModelLibrary | None = None
        self.presets: dict[str, Path] = {}
        self._preset_cache: dict[str, object] = {}
        self.preset_name = ""
        self.model_path: Path | None = None  # None: the preset's own model
        self.model_name = ""
        self._audio_down_since: float | None = None
        self._last_blocks = 0
        self._last_watchdog = 0.0
        self._xrun_seen = 0
        self._xrun_report_at = 0.0
        self._scan_at = 0.0
        self._press_left_tuner = False
        self._bypass_before_press = False
        self._dirty = False
        self.first_block_s: float | None = None
        self.ready_s: float | None = None
        self._xruns_lost = 0          # xruns of backends that were restarted
        self._unoffered = None        # a sound the audio thread did not take: offered again
        self._retry_at = 0.0
        self._audio_checked = 0.0
        self._load_window_at = 0.0
        self._load_max_prev = 0.0

    # -- errors ------------------------------------------------------------------------------
    def error(self, message: str) -> None:
        for line in str(message).splitlines():
            log.error("%s", line)
        self.last_error = str(message).splitlines()[0] if message else message
        self.error_at = time.monotonic()

    # -- sound selection ---------------------------------------------------------------------
    def _scan_presets(self) -> None:
        folder = self.config["sound"]["presets_dir"]
        try:
            files = sorted(p for p in Path(folder).iterdir() if p.suffix in (".yaml", ".yml")
                           and not p.name.startswith("."))
        except OSError as exc:
            self.error(f"{folder}: presets folder unreadable ({exc.strerror})")
            files = []
        self.presets = {p.stem: p for p in files}

    def _preset(self, name: str):
        from ..preset import load_preset

        if name not in self.presets:
            raise ConfigError(f"no preset named {name!r} in {self.config['sound']['presets_dir']}"
                              f" (there are: {', '.join(self.presets) or 'none'})")
        p = self._preset_cache.get(name)
        if p is None:
            p = load_preset(self.presets[name])
            check_rate(p.model, self.engine.sample_rate)
            self._preset_cache[name] = p
        return p

    def _build(self, preset_name: str, model_path: Path | None):
        """A prepared, warmed chain for the preset with the model swapped in (or its own)."""
        preset = self._preset(preset_name)
        if model_path is not None:
            model = self.library.get(model_path)
            if model is None:
                model, _ = self.library.check(model_path)
            if model is not preset.model:
                preset = copy.copy(preset)
                preset.data = copy.deepcopy(preset.data)
                preset.model = model
                knobs = preset.data["amp"]["knobs"]
                if len(knobs) != model.knob_count:
                    preset.data["amp"]["knobs"] = [0.5] * model.knob_count
        return self.engine.prepare_chain(preset.build_chain()), preset

    def select(self, preset_name: str, model_path: Path | None, why: str = "") -> bool:
        """Load, check and warm a sound, then hand it to the engine. On any failure the
        current sound keeps playing and the error is reported. Returns success."""
        t = time.perf_counter()
        try:
            chain, preset = self._build(preset_name, model_path)
        except (PedalError, OSError) as exc:
            self.error(str(exc))
            return False
        if not self.engine.offer(chain, timeout=2.0):
            self.error("the audio thread did not take the new sound (audio stopped?); "
                       "it will be offered again")
            self._unoffered = (preset_name, model_path)
            return False
        self.preset_name, self.model_path = preset_name, model_path
        self.model_name = Path(preset.model.path).name if preset.model.path else "?"
        self._dirty = True
        log.info("playing %s with %s%s (ready in %.0f ms)", preset.name, self.model_name,
                 f" [{why}]" if why else "", 1000 * (time.perf_counter() - t))
        return True

    def step(self, delta: int) -> None:
        if self.config["sound"]["cycle"] == "presets":
            names = list(self.presets)
            if not names:
                return self.error("no presets to step through")
            i = names.index(self.preset_name) if self.preset_name in names else -1
            self.select(names[(i + delta) % len(names)], None, "preset " +
                        ("next" if delta > 0 else "previous"))
            return
        cycle = self.library.cycle
        if not cycle:
            return self.error(f"no models in {self.library.folder} to step through")
        current = self.model_path or Path(self._preset(self.preset_name).model.path)
        i = cycle.index(current) if current in cycle else (-1 if delta > 0 else 0)
        for k in range(1, len(cycle) + 1):  # skip one that fails now; try the next
            target = cycle[(i + delta * k) % len(cycle)]
            if self.select(self.preset_name, target, "next" if delta > 0 else "previous"):
                return

    # -- intents -----------------------------------------------------------------------------
    def post(self, intent: str, arg=None) -> None:
        """From any thread (buttons, signals): queue an intent for the control loop."""
        self.queue.put(_Request(intent, arg))

    def _handle_request(self, req: dict) -> dict:
        """Control socket thread: forward to the loop and wait for its answer."""
        r = _Request(req["cmd"], req.get("args") or [], wait=True)
        self.queue.put(r)
        if not r.done.wait(60):
            return {"ok": False, "error": "the daemon is busy; try again"}
        return r.reply

    def _do(self, r: _Request) -> dict:
        i, a = r.intent, r.arg
        e = self.engine
        if i == "status":
            return {"ok": True, "status": self.status()}
        if i in ("bypass", "toggle"):
            on = (not e.bypass) if not a else a[0] in ("on", "1", "true")
            e.set_bypass(on)
            self._dirty = True
            log.info("bypass %s", "on" if on else "off")
        elif i == "tuner":
            on = (not e.tuner) if not a else a[0] in ("on", "1", "true")
            e.set_tuner(on)
            log.info("tuner %s", "on" if on else "off")
        elif i == "footswitch":  # pressed: leave the tuner, or toggle bypass at once
            self._press_left_tuner = e.tuner
            if e.tuner:
                e.set_tuner(False)
                log.info("tuner off")
            else:
                self._bypass_before_press = e.bypass
                e.set_bypass(not e.bypass)
                self._dirty = True
                log.info("bypass %s", "on" if e.bypass else "off")
        elif i == "footswitch_held":  # a long press means tuner, not bypass: undo the toggle
            if not self._press_left_tuner:
                e.set_bypass(self._bypass_before_press)
                e.set_tuner(True)
                self._dirty = True
                log.info("tuner on")
        elif i == "next":
            self.step(+1)
        elif i == "prev":
            self.step(-1)
        elif i == "preset":
            if not a:
                return {"ok": False, "error": "preset needs a NAME", "presets": list(self.presets)}
            self._scan_presets()
            if not self.select(str(a[0]), None, "preset"):
                return {"ok": False, "error": self.last_error}
        elif i == "model":
            if not a:
                return {"ok": False, "error": "model needs a FILE name in the models folder"}
            if not self.select(self.preset_name, self.library.folder / Path(str(a[0])).name,
                               "model"):
                return {"ok": False, "error": self.last_error}
        elif i == "reload":
            ok = self.reload()
            if not ok:
                return {"ok": False, "error": self.last_error}
        elif i == "pin":
            if self.controls is None:
                return {"ok": False, "error": "controls are not enabled"}
            try:
                self.controls.drive(int(a[0]), a[1] == "press")
            except (ValueError, IndexError, TypeError) as exc:
                return {"ok": False, "error": f"pin PIN press|release: {exc}"}
        elif i == "stop":
            self.stop_requested = True
        else:
            return {"ok": False, "error": f"unknown command {i!r} (status, next, prev, bypass, "
                    "tuner, preset NAME, model FILE, reload, pin N press|release)"}
        return {"ok": True, "status": self.status()}

    # -- status ------------------------------------------------------------------------------
    def status(self) -> dict:
        e = self.engine
        c = e.counters() if e else {}
        be = self.backend
        state = ("no audio" if self._audio_down_since is not None else
                 "tuner" if e.tuner else "bypass" if e.bypass else "playing")
        out = {
            "state": state,
            "preset": self.preset_name,
            "model": self.model_name,
            "bypass": e.bypass, "tuner": e.tuner,
            "backend": be.describe() if be else None,
            "sample_rate": e.sample_rate, "block": e.max_block,
            "latency_ms": round(1000 * e.max_block / e.sample_rate, 2),
            "xruns": (be.xruns if be else 0) + self._xruns_lost,
            "overruns": c.get("overruns", 0),
            "xrun_kinds": be.flag_names() if hasattr(be, "flag_names") else [],
            "load": {"avg": round(c.get("load_avg", 0), 4), "max_10s": round(max(c.get("load_max", 0),
                                                                  self._load_max_prev), 4),
                     "last": round(c.get("load_last", 0), 4)},
            "blocks": c.get("blocks", 0), "swaps": c.get("swaps", 0),
            "nonfinite_samples": c.get("nonfinite", 0), "clipped_samples": c.get("clipped", 0),
            "realtime": be.realtime if be else None,
            "uptime_s": round(time.monotonic() - self.t0, 1),
            "ready_s": None if self.ready_s is None else round(self.ready_s, 3),
            "first_block_s": None if self.first_block_s is None else round(self.first_block_s, 3),
            "last_error": self.last_error,
            "models": [p.name for p in self.library.cycle] if self.library else [],
            "models_pending": self.library.pending() if self.library else 0,
            "models_rejected": self.library.rejected() if self.library else {},
            "presets": list(self.presets),
            "led": getattr(self.controls, "_shown", None),
            "config": self.config.path,
        }
        if e.tuner:
            out["tuner_reading"] = e.tracker.reading().describe()
        return out

    # -- audio -------------------------------------------------------------------------------
    def _start_audio(self) -> bool:
        from ..backends import AudioDeviceError, make_backend

        try:
            self.backend = make_backend(self.config["audio"], self.engine)
            self.backend.start()
        except AudioDeviceError as exc:
            if self._audio_down_since is None:
                self.error(str(exc))
            self._audio_down_since = self._audio_down_since or time.monotonic()
            self.backend = None
            return False
        log.info("audio: %s", self.backend.describe())
        self._audio_down_since = None
        self._last_blocks = self.engine.stats[0]
        self._audio_checked = time.monotonic()
        return True

    def _stop_audio(self):
        if self.backend is not None:
            self._xruns_lost += self.backend.xruns
            try:
                self.backend.stop()
            except PedalError as exc:
                self.error(str(exc))
            self.backend = None

    def _watch_audio(self, now):
        """Blocks must advance; if they stall for restart_after_s, reopen the device."""
        blocks = self.engine.stats[0]
        advanced = blocks > self._last_blocks
        if advanced:
            self._last_blocks = blocks
            self._audio_checked = now
            if self.first_block_s is None:
                self.first_block_s = time.monotonic() - self.t0
        if self.backend is not None and self.backend.finished.is_set():
            log.info("input file ended")
            if self.config["audio"]["file"]["exit_at_end"]:
                self.stop_requested = True
            return advanced
        if self.backend is None:
            if now - (self._retry_at or 0) >= 1.0:
                self._retry_at = now
                if self._start_audio():
                    log.info("audio device is back")
            return advanced
        err = getattr(self.backend, "error", None)
        if now - self._audio_checked > self.config["audio"]["restart_after_s"] or err:
            why = err or f"no block for {self.config['audio']['restart_after_s']:g} s"
            self.error(f"audio stalled ({why}); reopening the device")
            self._stop_audio()
            self._audio_down_since = now
            self._retry_at = now
            self._start_audio()
        return advanced

    # -- reload ------------------------------------------------------------------------------
    def reload(self) -> bool:
        self.notifier.reloading()
        try:
            new = load_config(self.config_path, self.overrides)
        except PedalError as exc:
            self.error(f"reload refused, the old configuration keeps playing: {exc}")
            self.notifier.ready(self._status_line())
            return False
        old = self.config
        self.config = new
        audio_changed = new["audio"] != old["audio"]
        self._preset_cache.clear()
        self._scan_presets()
        s = new["sound"]
        if (s["models_dir"], s["max_load"], s["settle_s"]) != (
                old["sound"]["models_dir"], old["sound"]["max_load"], old["sound"]["settle_s"]) \
                or audio_changed:
            self._new_library()
        if audio_changed:
            log.info("audio settings changed: reopening the device")
            self._stop_audio()
            self.engine = Engine(new["audio"]["sample_rate"], new["audio"]["block"],
                                 new["sound"]["crossfade_ms"])
        if new["controls"] != old["controls"]:
            self._stop_controls()
            self._start_controls()
        if new.socket_path != old.socket_path or new["control"] != old["control"]:
            self._stop_server()
            self._start_server()
        preset = self.preset_name if self.preset_name in self.presets else s["preset"]
        ok = self.select(preset, self.model_path, "reload")
        if audio_changed:
            self._start_audio()
        log.info("configuration reloaded from %s", new.path)
        self.notifier.ready(self._status_line())
        return ok

    def _new_library(self):
        s, a = self.config["sound"], self.config["audio"]
        self.library = ModelLibrary(Path(s["models_dir"]), a["sample_rate"], a["block"],
                                    s["max_load"], s["settle_s"])

    # -- pieces started and stopped -----------------------------------------------------------
    def _start_server(self):
        from .socket import ControlServer

        try:
            self.server = ControlServer(self.config.socket_path,
                                        int(self.config["control"]["socket_mode"], 8),
                                        self._handle_request)
        except OSError as exc:
            self.error(f"control socket: {exc}")
            self.server = None

    def _stop_server(self):
        if self.server is not None:
            self.server.close()
            self.server = None

    def _start_controls(self):
        if not self.config["controls"]["enabled"]:
            return
        from .buttons import Controls

        try:
            self.controls = Controls(self.config["controls"], self.post)
        except (OSError, ValueError) as exc:
            self.error(f"controls: {exc}; the pedal plays without them")
            self.controls = None

    def _stop_controls(self):
        if self.controls is not None:
            self.controls.close()
            self.controls = None

    def _status_line(self) -> str:
        e = self.engine
        return (f"{self.preset_name} / {self.model_name}"
                f"{' (bypass)' if e.bypass else ''}{' (tuner)' if e.tuner else ''}")

    def _save(self):
        state = {"preset": self.preset_name,
                 "model": self.model_path.name if self.model_path else None,
                 "bypass": self.engine.bypass}
        try:
            save_state(self.config.state_path, state)
            self._dirty = False
        except OSError as exc:
            self._dirty = False  # retried at the next change, not every tick
            self.error(f"{self.config.state_path}: cannot save state ({exc.strerror or exc}); "
                       "the pedal keeps playing")

    # -- the loop ----------------------------------------------------------------------------
    def start(self) -> None:
        cfg = self.config
        a, s = cfg["audio"], cfg["sound"]
        sys.setswitchinterval(GIL_SWITCH_S)
        from ..tools.warmup import warm_up

        t = warm_up()
        log.info("numba kernels ready in %.2f s", t)
        self.engine = Engine(a["sample_rate"], a["block"], s["crossfade_ms"])
        self._new_library()
        self._scan_presets()
        state, why = load_state(cfg.state_path)
        if why:
            self.error(why)
        preset = state.get("preset") if state.get("preset") in self.presets else s["preset"]
        model = None
        if state.get("model"):
            model = Path(s["models_dir"]) / Path(state["model"]).name
        if not self.select(preset, model, "restored" if state else "start"):
            if model is not None and self.select(preset, None, "start"):
                pass  # the saved model failed: the preset's own model plays
            elif preset != s["preset"] and self.select(s["preset"], None, "start"):
                pass
            else:
                raise ConfigError(f"{cfg.path}: nothing to play: the preset "
                                  f"{s['preset']!r} cannot be loaded ({self.last_error})")
        self.engine.set_bypass(bool(state.get("bypass", False)))
        self._dirty = False
        self._start_server()
        self._start_controls()
        self._start_audio()  # last: the control thread is idle when the first block runs
        self.ready_s = time.monotonic() - self.t0
        self.notifier.ready(self._status_line())
        log.info("ready in %.2f s: %s", self.ready_s, self._status_line())

    def loop(self) -> int:
        cfg = self.config
        while not self.stop_requested:
            try:
                r = self.queue.get(timeout=TICK_S)
            except queue.Empty:
                r = None
            if r is not None:
                try:
                    reply = self._do(r)
                except Exception as exc:  # noqa: BLE001 - one bad intent must not stop the pedal
                    log.exception("while handling %s", r.intent)
                    self.error(f"{r.intent}: {type(exc).__name__}: {exc}")
                    reply = {"ok": False, "error": self.last_error}
                if r.done is not None:
                    r.reply = reply
                    r.done.set()
            self._tick(time.monotonic())
            cfg = self.config
        return self.exit_code if cfg else 0

    def _tick(self, now):
        cfg = self.config
        advanced = self._watch_audio(now)
        wd = self.notifier.watchdog_s
        if wd and (advanced or self.backend is None) and now - self._last_watchdog >= wd / 4:
            # pinged while blocks advance, or while the device is being reopened on purpose;
            # a stalled audio thread or a hung loop stops the pings and systemd restarts us
            self.notifier.watchdog()
            self._last_watchdog = now
        if self._unoffered is not None:
            pending, self._unoffered = self._unoffered, None
            self.select(*pending, why="retry")
        if now - self._scan_at >= cfg["sound"]["scan_interval_s"]:
            self._scan_at = now
            for kind, p in self.library.scan(now):
                if kind == "added":
                    e = self.library.entries[p]
                    log.info("model added: %s (%.0f%% of the block budget)", p.name, 100 * e.load)
                elif kind == "removed":
                    log.info("model removed: %s%s", p.name,
                             " (still playing until the next change)" if p == self.model_path
                             else "")
            while self.library.errors:
                _, msg = self.library.errors.pop(0)
                self.error(f"model skipped: {msg}")
        self.engine.collect()
        if now >= self._load_window_at:  # the load peak reported is the last 10 s's
            self._load_window_at = now + 10.0
            self._load_max_prev = float(self.engine.stats[3])
            self.engine.reset_load_max()
        be = self.backend
        xr = (be.xruns if be else 0) + self._xruns_lost + int(self.engine.stats[5])
        if xr != self._xrun_seen and now >= self._xrun_report_at:
            log.warning("%d xrun(s) in the last %.0f s (%d in all)", xr - self._xrun_seen,
                        cfg["log"]["xrun_report_s"], xr)
            self._xrun_seen = xr
            self._xrun_report_at = now + cfg["log"]["xrun_report_s"]
        if self.controls is not None:
            e = self.engine
            self.controls.show(e.bypass, e.tuner, now - self.error_at < ERROR_BLINK_S)
        if self._dirty:
            self._save()

    def shutdown(self):
        self.notifier.stopping()
        self._stop_controls()
        self._stop_server()
        self._stop_audio()
        if self._dirty:
            self._save()
        log.info("stopped")


def run(config_path=None, overrides=None) -> int:
    """The daemon's main: returns the process exit code."""
    logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s",
                        level=logging.INFO, force=True)
    try:
        config = load_config(config_path, overrides)
    except PedalError as exc:
        for line in str(exc).splitlines():
            print(f"pedal: error: {line}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(config["log"]["level"].upper())
    d = Daemon(config, config_path=config_path, overrides=overrides)
    signal.signal(signal.SIGTERM, lambda *_: setattr(d, "stop_requested", True))
    signal.signal(signal.SIGINT, lambda *_: setattr(d, "stop_requested", True))
    signal.signal(signal.SIGHUP, lambda *_: d.post("reload"))
    try:
        d.start()
    except PedalError as exc:
        d.error(str(exc))
        d.shutdown()
        return 2
    try:
        return d.loop()
    finally:
        d.shutdown()
