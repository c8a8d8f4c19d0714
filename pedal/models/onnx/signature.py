"""How an ONNX graph's inputs and outputs map onto the pedal's block call.

The pedal's own signature is ``x [1, N, C], h [L, 1, H], c [L, 1, H] -> y, h_out, c_out``
(``layout.py``); other interfaces are mapped where they fit: one audio input (a free length, or
one sample per call) and up to two state inputs, each carried by a same-shaped output. State
sizes are bounded before anything is made for them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...errors import ModelError
from .proto import Graph

MAX_STATE_VALUES = 1_000_000  # per state tensor (a standard WaveNet's flat state: 49,104)
MAX_CHANNELS = 9              # audio and up to 8 knobs


@dataclass
class Signature:
    """How a graph's inputs and outputs map onto the pedal's block call."""
    audio: str
    knob_count: int
    h: str | None
    c: str | None
    y: str
    h_out: str | None
    c_out: str | None
    state_shape: tuple | None  # shape of each state tensor
    audio_shape: tuple = (1, -1, 1)  # -1 marks the block length N
    y_shape: tuple = (1, -1, 1)
    per_sample: bool = False  # the graph takes exactly one sample per call

    @property
    def states(self):
        return [(i, o) for i, o in ((self.h, self.h_out), (self.c, self.c_out)) if i]


def _free(shape) -> int | None:
    """Index of the one variable dimension of an audio shape whose other dims are 1."""
    free = [i for i, d in enumerate(shape) if not (isinstance(d, int) and d > 0)]
    if len(free) == 1 and all(d == 1 for i, d in enumerate(shape) if i != free[0]):
        return free[0]
    return None


def _stem(name: str) -> str:
    """A state tensor's name without its in/out marker: hin, h_in, h_input -> h."""
    low = name.lower()
    for tag in ("_output", "_input", "output", "input", "_out", "_in", "out", "in"):
        if low.endswith(tag) and len(low) > len(tag):
            return low[: -len(tag)]
        if low.startswith(tag.strip("_")) and len(low) > len(tag):
            return low[len(tag.strip("_")):].strip("_")
    return low


def _generic_signature(g: Graph, name: str) -> Signature:
    """Map another ONNX interface onto the block call: one audio input (a free length, or a
    single sample per call), state inputs each paired with a same-shaped output."""
    got = ", ".join(f"{v.name}{v.shape}" for v in g.inputs) or "none"
    why = (f"{name}: inputs don't match the pedal's block signature (x[1,N,C], h, c -> y, "
           f"h_out, c_out) and cannot be mapped onto it: ")
    floats = [v for v in g.inputs if v.elem_type == 1]
    if len(floats) != len(g.inputs):
        raise ModelError(why + f"every input must be float32 (inputs are {got})")
    fixed = lambda v: all(isinstance(d, int) and d > 0 for d in v.shape)  # noqa: E731
    audio = [v for v in floats if _free(v.shape) is not None]
    single = [v for v in floats if fixed(v) and int(np.prod(v.shape)) == 1]
    if len(audio) > 1 or (not audio and len(single) != 1):
        raise ModelError(why + f"cannot tell which input is the audio (inputs are {got})")
    a = audio[0] if audio else single[0]
    per_sample = not audio
    states = [v for v in floats if v is not a]
    if any(not fixed(v) for v in states) or len(states) > 2:
        raise ModelError(why + f"besides the audio, only up to two fixed-shape state inputs "
                         f"are supported (inputs are {got})")
    for v in states:
        _check_state_size(v.shape, name, v.name)
    outs = list(g.outputs)
    pairs = []
    for v in states:
        same = [o for o in outs if o.shape == v.shape]
        named = [o for o in same if _stem(o.name) == _stem(v.name)]
        pick = named[0] if named else (same[0] if len(same) == 1 else None)
        if pick is None:
            raise ModelError(why + f"state input '{v.name}' {v.shape} has no output of the "
                             "same shape to carry it to the next block")
        outs.remove(pick)
        pairs.append((v.name, pick.name))
    want = (lambda o: _free(o.shape) is not None) if not per_sample else \
        (lambda o: fixed(o) and int(np.prod(o.shape)) == 1)  # noqa: E731
    y = [o for o in outs if want(o)]
    if len(y) != 1:
        raise ModelError(why + "cannot tell which output is the audio (outputs are "
                         f"{', '.join(f'{o.name}{o.shape}' for o in g.outputs)})")
    tmpl = lambda v: tuple(-1 if i == _free(v.shape) else d  # noqa: E731
                           for i, d in enumerate(v.shape))
    (h, h_out), (c, c_out) = (pairs + [(None, None)] * 2)[:2]
    return Signature(a.name, 0, h, c, y[0].name, h_out, c_out,
                     tuple(states[0].shape) if states else None,
                     tmpl(a) if not per_sample else tuple(a.shape),
                     tmpl(y[0]) if not per_sample else tuple(y[0].shape), per_sample)


def signature(g: Graph, name: str) -> Signature:
    by_name = {v.name: v for v in g.inputs}
    outs = [v.name for v in g.outputs]
    if "x" not in by_name or len(by_name["x"].shape) != 3:
        return _generic_signature(g, name)
    x = by_name["x"]
    if x.elem_type != 1 or len(x.shape) != 3 or x.shape[0] not in (1, None, "1") \
            or not isinstance(x.shape[2], int) or x.shape[2] < 1:
        raise ModelError(f"{name}: input 'x': must be float32 [1, N, C], got shape {x.shape}")
    if x.shape[2] > MAX_CHANNELS:
        raise ModelError(f"{name}: input 'x': {x.shape[2]} channels, at most {MAX_CHANNELS} "
                         "(audio and 8 knobs) are supported")
    if isinstance(x.shape[1], int) and x.shape[1] > 0:
        raise ModelError(f"{name}: input 'x': block length is fixed at {x.shape[1]}; "
                         "the pedal needs a variable length N")
    state_shape = None
    for key in ("h", "c"):
        if key in by_name:
            s = by_name[key].shape
            if len(s) != 3 or not all(isinstance(d, int) and d > 0 for d in s):
                raise ModelError(f"{name}: input '{key}': must be float32 [L, 1, H], got {s}")
            _check_state_size(s, name, key)
            if state_shape is not None and tuple(s) != state_shape:
                raise ModelError(f"{name}: inputs 'h' and 'c' have different shapes")
            state_shape = tuple(s)
    extra = set(by_name) - {"x", "h", "c"}
    if extra:
        raise ModelError(f"{name}: unexpected input(s) {sorted(extra)}; the pedal feeds x, h, c")
    y = "y" if "y" in outs else outs[0]
    h_out = "h_out" if "h_out" in outs else None
    c_out = "c_out" if "c_out" in outs else None
    if ("h" in by_name) != (h_out is not None) or ("c" in by_name) != (c_out is not None):
        raise ModelError(f"{name}: every state input (h, c) needs its output (h_out, c_out); "
                         f"inputs {sorted(by_name)}, outputs {outs}")
    return Signature("x", x.shape[2] - 1, "h" if "h" in by_name else None,
                     "c" if "c" in by_name else None, y, h_out, c_out, state_shape,
                     (1, -1, x.shape[2]), (1, -1, 1))


def _check_state_size(shape, name: str, key: str) -> None:
    n = int(np.prod([int(d) for d in shape], dtype=np.int64))
    if n > MAX_STATE_VALUES:
        raise ModelError(f"{name}: input '{key}': a state of {n:,} values {list(shape)}, over the "
                         f"limit of {MAX_STATE_VALUES:,}")
