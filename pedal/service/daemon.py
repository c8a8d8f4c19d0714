"""``pedal run``: the pedal as a service.

Start: read and check the config; start the loader process; warm the real-time kernels; load
the saved sound (or the configured preset) through the loader and build, prepare and warm its
chain; open the audio device; start the control socket and the buttons; tell systemd READY.
Then one control loop owns everything that is not audio. It waits on one queue of work
(intents from the buttons and the socket, results from the loader, signals through a
self-pipe) and between items runs its chores: the audio device's health, the watchdog, the
models folder, state saving, logs and the status snapshot. It never waits on a file: files are
loaded in the loader process, and a file that fails is reported while the sound that was
playing plays on. Nothing a file, a client or a config does ends the loop.
"""

from __future__ import annotations

import gc
import logging
import queue
import select
import signal
import socket
import sys
import time
from dataclasses import replace
from pathlib import Path

from . import intents
from . import status as status_mod
from .config import Config, load_config
from .library import ModelLibrary
from .loader import Loader, LoaderLimits
from .player import FAULTS, LOAD_MAX, OVERRUNS, Player
from .sdnotify import Notifier
from .sounds import Sounds
from .state import load_state, save_state
from .supervisor import AudioSupervisor
from ..errors import PedalError

log = logging.getLogger("pedal")
TICK_S = 0.05
ERROR_BLINK_S = 3.0
GIL_SWITCH_S = 0.0005  # hand the GIL to the audio thread within half a millisecond
LOAD_WINDOW_S = 10.0
FALLBACK_RATE = 48000  # audio.sample_rate: model, before (or without) a model to follow


class Every:
    """A chore's timer: ``due(now)`` is true once per ``seconds``."""

    def __init__(self, seconds: float):
        self.seconds, self.next = seconds, 0.0

    def due(self, now: float) -> bool:
        if now >= self.next:
            self.next = now + self.seconds
            return True
        return False


class Daemon:
    def __init__(self, config: Config, notifier: Notifier | None = None, config_path=None,
                 overrides=None, loader: Loader | None = None):
        """loader: one already started (``pedal run`` starts it before importing this), kept
        when its limits are the config's, else closed and replaced."""
        self.config = config
        self.config_path = config_path
        self.overrides = overrides
        self.notifier = notifier or Notifier()
        self.t0 = time.monotonic()
        self.last_error: str | None = None
        self.error_at = -1e9
        self.stop_requested = False
        self.dirty = False
        self.ready_s: float | None = None
        self.load_max_prev = 0.0
        self.footswitch = intents.Footswitch()
        self.signals: list[int] = []  # appended by signal handlers, read by the loop
        self._work: queue.SimpleQueue = queue.SimpleQueue()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._faults_seen = 0
        self._xruns_seen = 0
        self._xrun_report_at = 0.0
        self._last_watchdog = 0.0
        self.server = None
        self.controls = None
        if loader is not None and loader.limits != self._limits(config):
            loader.close()
            loader = None
        self.loader = loader or Loader(self._limits(config))
        self.rate = self._configured_rate(config)  # the device's rate: see _follow_model
        self._parts(config, new_player=True)
        self.snapshot: dict = {}

    @staticmethod
    def _limits(config: Config) -> LoaderLimits:
        lc = config.loader
        return LoaderLimits(memory_mb=lc.memory_mb, cpu_s=lc.timeout_s, wall_s=lc.timeout_s,
                            idle_exit_s=lc.idle_exit_s)

    @staticmethod
    def _configured_rate(config: Config) -> int:
        r = config.audio.sample_rate
        return r if isinstance(r, int) else FALLBACK_RATE

    def _parts(self, config: Config, new_player: bool) -> None:
        """The player and the audio device (new only when the audio settings change), the
        models folder and the sound selector, all at ``self.rate``."""
        a, s = replace(config.audio, sample_rate=self.rate), config.sound
        if new_player:
            self.player = Player(self.rate, a.block, s.crossfade_ms)
            self.audio = AudioSupervisor(a, self.player, self.error)
        else:
            self.player.set_crossfade(s.crossfade_ms)
        self.library = ModelLibrary(Path(s.models_dir), self.rate, a.block, s.max_load,
                                    s.settle_s)
        self.sounds = Sounds(s, self.player, self.loader, self.library, self.post, self.error)
        self._scan = Every(s.scan_interval_s)
        self._load_window = Every(LOAD_WINDOW_S)

    # -- reporting ---------------------------------------------------------------------------
    def error(self, message: str) -> None:
        for line in str(message).splitlines():
            log.error("%s", line)
        self.last_error = str(message).splitlines()[0] if message else str(message)
        self.error_at = time.monotonic()

    def status(self) -> dict:
        return status_mod.snapshot(self)

    def answer(self, reply) -> None:
        """Reply to an intent that is done now."""
        self.snapshot = self.status()
        reply({"ok": True, "status": self.snapshot})

    def completion(self, reply):
        """A ``done(ok, error)`` for work that finishes later (a sound being loaded)."""
        def done(ok, err):
            if ok:
                self.answer(reply)
            else:
                reply({"ok": False, "error": err or self.last_error})
        return done

    # -- work from other threads -------------------------------------------------------------
    def post(self, fn) -> None:
        """Run ``fn()`` on the control loop (any thread; also reentrant for signal time)."""
        self._work.put(fn)
        try:
            self._wake_w.send(b"x")
        except OSError:
            pass

    def intent(self, name: str, args=(), reply=None) -> None:
        """From any thread (buttons, socket): do ``name`` on the control loop."""
        reply = reply or (lambda r: None)
        self.post(lambda: intents.dispatch(self, name, args, reply))

    def _handle_request(self, req: dict, reply) -> None:
        """Control socket thread: status at once from the snapshot, the rest on the loop."""
        if req["cmd"] == "status":
            return reply({"ok": True, "status": self.snapshot})
        self.intent(req["cmd"], req.get("args") or [], reply)

    # -- reload ------------------------------------------------------------------------------
    def reload(self, done=None) -> None:
        done = done or (lambda ok, err: None)
        self.notifier.reloading()
        try:
            new = load_config(self.config_path, self.overrides)
        except PedalError as exc:
            self.error(f"reload refused, the old configuration keeps playing: {exc}")
            self.notifier.ready(status_mod.line(self))
            return done(False, self.last_error)
        old, self.config = self.config, new
        audio_changed = new.audio != old.audio
        keep = (self.sounds.preset_name, self.sounds.model_path)
        if audio_changed:
            log.info("audio settings changed: reopening the device")
            self.audio.stop()
            r = new.audio.sample_rate
            self.rate = r if isinstance(r, int) else self._model_rate(new, self.sounds.model_rate)
        if audio_changed or new.sound != old.sound:
            self._parts(new, new_player=audio_changed)
        if new.loader != old.loader:
            self.loader.limits = self._limits(new)
        if new.controls != old.controls:
            self._stop_controls()
            self._start_controls()
        if new.socket_path != old.socket_path or new.control != old.control:
            self._stop_server()
            self._start_server()
        self.sounds.forget()
        self.sounds.scan_presets()
        preset = keep[0] if keep[0] in self.sounds.presets else new.sound.preset

        def after(ok, err):
            if audio_changed:
                self.audio.start()
            log.info("configuration reloaded from %s", new.path)
            self.notifier.ready(status_mod.line(self))
            done(ok, err)
        self.sounds.select(preset, keep[1], "reload", after)

    # -- pieces started and stopped -----------------------------------------------------------
    def _start_server(self):
        from .socket import ControlServer, private_dir

        path = self.config.socket_path
        try:
            if self.config.socket_dir_is_private:
                private_dir(path.parent)
            self.server = ControlServer(path, int(self.config.control.socket_mode, 8),
                                        self._handle_request)
        except OSError as exc:
            self.error(f"control socket: {exc}; the pedal plays without it")
            self.server = None

    def _stop_server(self):
        if self.server is not None:
            self.server.close()
            self.server = None

    def _start_controls(self):
        if not self.config.controls.enabled:
            return
        from .buttons import Controls

        try:
            self.controls = Controls(self.config.controls, lambda i, a=None: self.intent(i))
        except (OSError, ValueError) as exc:
            self.error(f"controls: {exc}; the pedal plays without them")
            self.controls = None

    def _stop_controls(self):
        if self.controls is not None:
            self.controls.close()
            self.controls = None

    def _save(self):
        state = {"preset": self.sounds.preset_name,
                 "model": self.sounds.model_path.name if self.sounds.model_path else None,
                 "bypass": self.player.bypass, "rate": self.rate}
        self.dirty = False  # a failure is retried at the next change, not every tick
        try:
            save_state(self.config.state_path, state)
        except OSError as exc:
            self.error(f"{self.config.state_path}: cannot save state "
                       f"({exc.strerror or exc}); the pedal keeps playing")

    # -- start, loop, stop -------------------------------------------------------------------
    def start(self) -> None:
        sys.setswitchinterval(GIL_SWITCH_S)
        self.loader.start()  # it imports while the kernels warm up here
        from ..kernels import jit
        from ..tools.warmup import warm_up

        log.info("%s; ready in %.2f s", jit.WHAT, warm_up())
        self.sounds.scan_presets()
        state, why = load_state(self.config.state_path)
        if why:
            self.error(why)
        if self.config.audio.sample_rate == "model" and state.get("rate", self.rate) != self.rate:
            self._rebuild_at(state["rate"])  # last time's model rate: usually right
        ok = self.sounds.start(state)
        if ok and self.config.audio.sample_rate == "model":
            ok = self._follow_model(state)
        if not ok:
            self.error("no sound could be loaded: the pedal plays the dry signal (see the "
                       "errors above; fix the preset, then `pedal ctl reload`)")
        self.player.set_bypass(bool(state.get("bypass", False)))
        self.sounds.changed = False
        self.snapshot = self.status()  # before the socket answers its first status
        self._start_server()
        self._start_controls()
        _freeze_heap()
        self.audio.start()  # last: the control thread is idle when the first block runs
        self.ready_s = time.monotonic() - self.t0
        self.snapshot = self.status()
        self.notifier.ready(status_mod.line(self))
        log.info("ready in %.2f s: %s", self.ready_s, status_mod.line(self))

    def _follow_model(self, state: dict) -> bool:
        """``audio.sample_rate: model``: run the device at the starting model's rate (no
        resampling, no added latency) if the device can; otherwise stay and resample. The rate
        is chosen once: models chosen later at another rate are resampled, since reopening the
        device would interrupt the sound (a restart, or a reload that changes ``audio``,
        chooses again)."""
        want = self._model_rate(self.config, self.sounds.model_rate)
        if want == self.rate:
            return True
        log.info("audio.sample_rate: model: the device runs at %d Hz, %s's rate", want,
                 self.sounds.model_name)
        self._rebuild_at(want)
        return self.sounds.start(state)

    def _model_rate(self, config: Config, model_rate: int | None) -> int:
        """The rate ``audio.sample_rate: model`` runs the device at for a model at
        ``model_rate``: that rate if the device takes it, else the rate it runs at now."""
        from ..backends import backend_class

        if model_rate is None or model_rate == self.rate:
            return self.rate
        a = config.audio
        why = backend_class(a.backend).rate_problem(replace(a, sample_rate=model_rate),
                                                    model_rate)
        if why:
            log.warning("audio.sample_rate: model: %s; the device runs at %d Hz and the model "
                        "is resampled", why, self.rate)
            return self.rate
        return model_rate

    def _rebuild_at(self, rate: int) -> None:
        """Start-up only (nothing plays yet): the player, device and folders at ``rate``."""
        self.rate = rate
        self._parts(self.config, new_player=True)
        self.sounds.scan_presets()

    def loop(self) -> int:
        while not self.stop_requested:
            self._wait(TICK_S)
            for _ in range(len(self.signals)):
                self._signal(self.signals.pop(0))
            while True:
                try:
                    fn = self._work.get_nowait()
                except queue.Empty:
                    break
                try:
                    fn()
                except Exception as exc:  # noqa: BLE001 - nothing a client sends ends the loop
                    log.exception("control loop")
                    self.error(f"internal error: {type(exc).__name__}: {exc} (please report)")
                if self.stop_requested:
                    break
            try:
                self._chores(time.monotonic())
            except Exception as exc:  # noqa: BLE001
                log.exception("control loop chores")
                self.error(f"internal error: {type(exc).__name__}: {exc} (please report)")
        return 0

    def _wait(self, timeout: float) -> None:
        try:
            if select.select([self._wake_r], [], [], timeout)[0]:
                while self._wake_r.recv(4096):
                    pass
        except (BlockingIOError, InterruptedError):
            pass

    def _signal(self, signum: int) -> None:
        if signum in (signal.SIGTERM, signal.SIGINT):
            self.stop_requested = True
        elif signum == signal.SIGHUP:
            self.reload()

    def _chores(self, now: float) -> None:
        advanced = self.audio.watch(now)
        if self.audio.finished():
            log.info("input file ended")
            if self.config.audio.file.exit_at_end:
                self.stop_requested = True
        wd = self.notifier.watchdog_s
        if wd and (advanced or self.audio.backend is None) and \
                now - self._last_watchdog >= wd / 4:
            # pinged while blocks advance, or while the device is being reopened on purpose;
            # a stalled audio thread or a hung loop stops the pings and systemd restarts us
            self.notifier.watchdog()
            self._last_watchdog = now
        self.sounds.retry_offer()
        if self._scan.due(now):
            self._scan_models(now)
        self.player.collect()
        st = self.player.stats
        if st[FAULTS] != self._faults_seen:
            self._faults_seen = int(st[FAULTS])
            self.error(f"the sound failed while playing ({self.sounds.model_name}): the dry "
                       "signal plays; choose another model or preset")
            self.sounds.playing = False
        if self._load_window.due(now):  # the load peak reported is the last 10 s's
            self.load_max_prev = float(st[LOAD_MAX])
            self.player.reset_load_max()
        xr = self.audio.xruns + int(st[OVERRUNS])
        if xr != self._xruns_seen and now >= self._xrun_report_at:
            log.warning("%d xrun(s) in the last %.0f s (%d in all)", xr - self._xruns_seen,
                        self.config.log.xrun_report_s, xr)
            self._xruns_seen = xr
            self._xrun_report_at = now + self.config.log.xrun_report_s
        if self.controls is not None:
            p = self.player
            self.controls.show(p.bypass, p.tuner, now - self.error_at < ERROR_BLINK_S)
        if self.dirty or self.sounds.changed:
            self.sounds.changed = False
            self._save()
        self.snapshot = self.status()

    def _scan_models(self, now: float) -> None:
        lib = self.library
        for kind, p in lib.scan(now):
            log.info("model removed: %s%s", p.name, " (still playing until the next change)"
                     if p == self.sounds.model_path else "")
        entry = lib.next_to_check(now)
        if entry is not None:
            def checked(result, error, entry=entry, lib=lib):
                self.post(lambda: self._checked(lib, entry, result, error))
            self.loader.submit("model", checked, **lib.job(entry.path))
        while lib.errors:
            _, msg = lib.errors.pop(0)
            self.error(f"model skipped: {msg}")

    def _checked(self, lib, entry, result, error) -> None:
        if lib is not self.library:
            return  # a reload made a new library meanwhile
        verdict = lib.checked(entry, result, error)
        if verdict == "added":
            log.info("model added: %s (%.0f%% of the block budget)", entry.path.name,
                     100 * entry.load)
        while lib.errors:
            _, msg = lib.errors.pop(0)
            self.error(f"model skipped: {msg}")

    def shutdown(self) -> None:
        self.notifier.stopping()
        self._stop_controls()
        self._stop_server()
        self.audio.stop()
        if self.dirty or self.sounds.changed:
            self._save()
        self.loader.close()
        gc.unfreeze()  # a daemon in a test's process leaves that heap as it found it
        log.info("stopped")


def _freeze_heap() -> None:
    """Collect once, then freeze what start-up built (imports, config, the first chain): the
    garbage collector never traverses it again. A full collection of that heap holds the GIL
    for 10-12 ms in ``pedal run`` on the x86 machine here (35 ms with the test helpers
    imported; more on a Pi), on whatever thread an allocation triggers it, and the audio thread
    waits for the GIL: tens of lost blocks. Frozen, a collection walks only the objects made
    since (a chain loaded later, one reply), well under a millisecond. Nothing leaks: a
    retired chain has no reference cycles and is freed by its reference count (the tests say
    so), and the freeze runs before any audio does."""
    gc.collect()
    gc.freeze()


def run(config_path=None, overrides=None, loader: Loader | None = None) -> int:
    """The daemon's main: returns the process exit code. loader: see ``Daemon``."""
    logging.basicConfig(stream=sys.stdout, format="%(levelname)s %(message)s",
                        level=logging.INFO, force=True)
    try:
        config = load_config(config_path, overrides)
    except PedalError as exc:
        for line in str(exc).splitlines():
            print(f"pedal: error: {line}", file=sys.stderr)
        if loader is not None:
            loader.close()
        return 2
    logging.getLogger().setLevel(config.log.level.upper())
    d = Daemon(config, config_path=config_path, overrides=overrides, loader=loader)
    # signals only note what arrived; the C-level wakeup byte ends the loop's wait
    signal.set_wakeup_fd(d._wake_w.fileno(), warn_on_full_buffer=False)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: d.signals.append(signum))
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
