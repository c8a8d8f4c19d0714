"""What the pedal plays: a preset, with a model of the models folder swapped in or its own.

Choosing a sound never waits on the control loop. A preset that is not yet loaded, or a model
file that is not in the cycle, is loaded by the loader process; when it arrives, the chain is
built, prepared and warmed here and offered to the player, which crossfades at a block
boundary. Until then the sound that was playing plays on; a newer request replaces one still
loading (its caller is told so); a failure is reported and changes nothing.
"""

from __future__ import annotations

import copy
import logging
import time
from pathlib import Path
from typing import Any

from ..errors import PedalError

log = logging.getLogger("pedal")


class _Request:
    __slots__ = ("preset", "model_path", "why", "done", "t0", "preset_obj", "model")

    def __init__(self, preset, model_path, why, done):
        self.preset, self.model_path, self.why, self.done = preset, model_path, why, done
        self.t0 = time.perf_counter()
        self.preset_obj = None
        self.model = None


class Sounds:
    def __init__(self, cfg, player, loader, library, post, report):
        """cfg: ``config.SoundConfig``; post(fn) runs fn on the control loop; report(message)
        logs an error for ``pedal status``."""
        self.cfg = cfg
        self.player = player
        self.loader = loader
        self.library = library
        self.post = post
        self.report = report
        self.presets: dict[str, Path] = {}
        self._cache: dict[str, Any] = {}
        self.preset_name = ""
        self.model_path: Path | None = None  # None: the preset's own model
        self.model_name = ""
        self.model_rate: int | None = None   # the playing model's own rate
        self.model_size = ""                 # which size of a model of several plays, and why
        self.chain_latency = 0               # samples the playing chain delays (resampling)
        self.playing = False                 # a chain of ours is in the player
        self._inflight: _Request | None = None
        self._unoffered = None               # (chain, request) the player has not taken yet
        self.changed = False                 # for the daemon: save the state

    # -- presets -----------------------------------------------------------------------------
    def scan_presets(self) -> None:
        folder = self.cfg.presets_dir
        try:
            files = sorted(p for p in Path(folder).iterdir() if p.suffix in (".yaml", ".yml")
                           and not p.name.startswith("."))
        except OSError as exc:
            self.report(f"{folder}: presets folder unreadable ({exc.strerror})")
            files = []
        self.presets = {p.stem: p for p in files}

    def forget(self) -> None:
        """Drop the loaded presets (a reload reads them again)."""
        self._cache.clear()

    def job(self, name: str) -> dict:
        lib = self.library
        return {"path": str(self.presets[name]), "sample_rate": lib.sample_rate,
                "block": lib.block, "max_load": lib.max_load}

    # -- requests ----------------------------------------------------------------------------
    def select(self, preset: str, model_path: Path | None, why: str = "", done=None) -> None:
        """Play ``preset`` with ``model_path`` (None: its own model). ``done(ok, error)`` is
        called on the control loop once it plays, fails, or is replaced by a newer request."""
        done = done or (lambda ok, err: None)
        if preset not in self.presets:
            msg = (f"no preset named {preset!r} in {self.cfg.presets_dir} (there are: "
                   f"{', '.join(self.presets) or 'none'})")
            self.report(msg)
            return done(False, msg)
        if self._inflight is not None:
            self._inflight.done(False, "replaced by a newer change before it was ready")
        r = self._inflight = _Request(preset, model_path, why, done)
        r.preset_obj = self._cache.get(preset)
        if model_path is not None:
            r.model = self.library.get(model_path)
        self._advance(r)

    def _advance(self, r: _Request) -> None:
        """Load what ``r`` still needs (one job at a time), then play it."""
        if r is not self._inflight:
            return
        if r.preset_obj is None:
            return self.loader.submit("preset", lambda res, err: self.post(
                lambda: self._loaded(r, "preset", res, err)), **self.job(r.preset))
        if r.model_path is not None and r.model is None:
            return self.loader.submit("model", lambda res, err: self.post(
                lambda: self._loaded(r, "model", res, err)), **self.library.job(r.model_path))
        self._play(r)

    def _loaded(self, r: _Request, kind: str, result, error) -> None:
        if kind == "preset" and error is None:
            self._cache[r.preset] = result["preset"]  # kept even if r was replaced
        if r is not self._inflight:
            return
        if error is not None:
            self._inflight = None
            self.report(str(error))
            return r.done(False, str(error).splitlines()[0])
        if kind == "preset":
            r.preset_obj = result["preset"]
        else:
            r.model = result["model"]
        self._advance(r)

    def _play(self, r: _Request) -> None:
        self._inflight = None
        try:
            chain, preset = self._build(r)
        except (PedalError, OSError, ValueError) as exc:
            self.report(str(exc))
            return r.done(False, str(exc).splitlines()[0])
        if not self.player.offer(chain):
            self._unoffered = (chain, r)  # offered again every tick (audio stopped?)
            return
        self._adopted(r, preset, chain)

    def _adopted(self, r: _Request, preset, chain) -> None:
        self.preset_name, self.model_path = r.preset, r.model_path
        self.model_name = Path(preset.model.path).name if preset.model.path else "?"
        self.model_rate = int(preset.model.sample_rate)
        self.model_size = preset.model.slim_note
        self.chain_latency = int(chain.latency)
        self.playing = True
        self.changed = True
        log.info("playing %s with %s%s (ready in %.0f ms)", preset.name, self.model_name,
                 f" [{r.why}]" if r.why else "", 1000 * (time.perf_counter() - r.t0))
        r.done(True, None)

    def retry_offer(self) -> None:
        """Chores: offer a chain the player had no room for."""
        if self._unoffered is None:
            return
        chain, r = self._unoffered
        if self.player.offer(chain):
            self._unoffered = None
            self._adopted(r, self._preset_with(r), chain)

    def _preset_with(self, r: _Request):
        preset = r.preset_obj
        model = r.model
        if model is None or model is preset.model:
            return preset
        preset = copy.copy(preset)
        preset.data = copy.deepcopy(preset.data)
        preset.model = model
        if len(preset.data["amp"]["knobs"]) != model.knob_count:
            preset.data["amp"]["knobs"] = [0.5] * model.knob_count
        return preset

    def _build(self, r: _Request):
        preset = self._preset_with(r)
        return self.player.prepare_chain(preset.build_chain()), preset

    @property
    def busy(self) -> bool:
        return self._inflight is not None or self._unoffered is not None

    # -- stepping ----------------------------------------------------------------------------
    def step(self, delta: int, done) -> None:
        """The next (+1) or previous (-1) model of the cycle, or preset (``sound.cycle``)."""
        word = "next" if delta > 0 else "previous"
        if self.cfg.cycle == "presets":
            names = list(self.presets)
            if not names:
                return done(False, "no presets to step through")
            i = names.index(self.preset_name) if self.preset_name in names else -1
            return self.select(names[(i + delta) % len(names)], None, f"preset {word}", done)
        cycle = self.library.cycle
        if not cycle:
            return done(False, f"no models in {self.library.folder} to step through")
        current = self.model_path
        if current is None and self.preset_name in self._cache:
            current = Path(self._cache[self.preset_name].model.path)
        i = cycle.index(current) if current in cycle else (-1 if delta > 0 else 0)
        self.select(self.preset_name, cycle[(i + delta) % len(cycle)], word, done)

    # -- start-up ----------------------------------------------------------------------------
    def start(self, state: dict) -> bool:
        """The first sound, loaded before the audio starts (waiting for the loader): the saved
        one, else the preset's own model, else the configured preset. False when none of them
        loads: the pedal then plays the dry signal, and says why."""
        saved_preset = state.get("preset")
        preset = saved_preset if saved_preset in self.presets else self.cfg.preset
        model = (Path(self.cfg.models_dir) / Path(state["model"]).name) if state.get("model") \
            else None
        tries = [(preset, model, "restored" if state else "start")]
        if model is not None:
            tries.append((preset, None, "start (the saved model failed)"))
        if preset != self.cfg.preset:
            tries.append((self.cfg.preset, None, "start (the saved preset failed)"))
        for name, path, why in tries:
            if name not in self.presets:
                self.report(f"no preset named {name!r} in {self.cfg.presets_dir}")
                continue
            try:
                r = _Request(name, path, why, lambda ok, err: None)
                r.preset_obj = self._cache.get(name) or self.loader.call(
                    "preset", **self.job(name))["preset"]
                self._cache[name] = r.preset_obj
                if path is not None:
                    r.model = self.loader.call("model", **self.library.job(path))["model"]
                self._inflight = r
                self._play(r)
                if self.playing:
                    return True
            except (PedalError, OSError) as exc:
                self.report(str(exc))
        if not self.presets:
            self.report(f"{self.cfg.presets_dir}: no presets")
        return False
