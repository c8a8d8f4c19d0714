"""What ``pedal status`` shows: a snapshot of the daemon, built on the control loop (every tick
and after every change) and read as a whole by the socket thread."""

from __future__ import annotations

import time


def _kernels() -> str:
    from ..kernels import jit

    return jit.mode()


def snapshot(d) -> dict:
    p = d.player
    c = p.counters()
    audio = d.audio
    be = audio.backend
    state = ("no audio" if audio.down else "tuner" if p.tuner else
             "bypass" if p.bypass else "playing" if d.sounds.playing else "dry")
    out = {
        "state": state,
        "preset": d.sounds.preset_name,
        "model": d.sounds.model_name,
        "bypass": p.bypass, "tuner": p.tuner,
        "backend": audio.describe(),
        "sample_rate": p.sample_rate, "block": p.max_block,
        "rate_from": "model" if d.config.audio.sample_rate == "model" else "config",
        "model_rate": d.sounds.model_rate,
        "model_size": d.sounds.model_size or None,
        "resampled": d.sounds.model_rate not in (None, p.sample_rate),
        "latency_ms": round(1000 * (p.max_block + d.sounds.chain_latency) / p.sample_rate, 2),
        "xruns": audio.xruns,
        "overruns": c["overruns"],
        "xrun_kinds": be.flag_names() if hasattr(be, "flag_names") else [],
        "load": {"avg": round(c["load_avg"], 4),
                 "max_10s": round(max(c["load_max"], d.load_max_prev), 4),
                 "last": round(c["load_last"], 4)},
        "blocks": c["blocks"], "swaps": c["swaps"], "faults": c["faults"],
        "nonfinite_samples": c["nonfinite"], "clipped_samples": c["clipped"],
        "realtime": be.realtime if be else None,
        "kernels": _kernels(),
        "uptime_s": round(time.monotonic() - d.t0, 1),
        "ready_s": None if d.ready_s is None else round(d.ready_s, 3),
        "first_block_s": None if audio.first_block_s is None else round(audio.first_block_s, 3),
        "last_error": d.last_error,
        "models": [x.name for x in d.library.cycle] if d.library else [],
        "models_pending": d.library.pending() if d.library else 0,
        "models_rejected": d.library.rejected() if d.library else {},
        "presets": list(d.sounds.presets),
        "led": getattr(d.controls, "shown", None),
        "loader": {"pid": d.loader.pid, "restarts": d.loader.restarts,
                   "jobs": d.loader.jobs_done, "idle_exits": d.loader.idle_exits},
        "config": d.config.path,
    }
    if p.tuner:
        out["tuner_reading"] = p.tracker.reading().describe()
    return out


def line(d) -> str:
    """One line for systemd's STATUS=."""
    p = d.player
    return (f"{d.sounds.preset_name or '(no sound)'} / {d.sounds.model_name or '-'}"
            f"{' (bypass)' if p.bypass else ''}{' (tuner)' if p.tuner else ''}")
