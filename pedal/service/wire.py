"""Loaded models (and presets) sent between processes as data, never as pickle.

The daemon's loader process (``service/loader.py``) parses and checks files and hands the
finished descriptions back through a pipe. A message is a JSON header and the raw bytes of its
arrays::

    [4-byte header length][header JSON][array bytes ...]

The header holds the value tree (dataclasses by name, dicts, lists, scalars, paths) with arrays
as references into a table of (dtype, shape, offset, size). Decoding builds only the
dataclasses listed in ``TYPES``, with exactly their fields, arrays only of plain numeric
dtypes whose sizes fit the message; the receiver then validates the descriptions as it would a
file (``spec.validate``). A corrupt or hostile message is a ``WireError``, nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import numpy as np

from ..errors import PedalError

MAX_MESSAGE = 512 * 1024 * 1024
_DTYPES = {"<f4", "<f8", "<f2", "<i8", "<i4", "<i2", "|i1", "|u1", "<u2", "<u4", "<u8", "|b1"}
_SKIP = {"OnnxGraph": {"session"}}  # fields that never travel (rebuilt by the receiver)


class WireError(PedalError, ValueError):
    """A message between the pedal's processes is malformed."""


def _types() -> dict:
    from ..audio.ir import ImpulseResponse
    from ..models.arch.linear import LinearSpec
    from ..models.arch.recurrent import RecurrentLayer, RecurrentSpec
    from ..models.arch.smartamppro import SmartAmpProSpec
    from ..models.arch.slim import ContainerSpec
    from ..models.arch.wavenet import Activation, Film, LayerArray, PostHead, WaveNetSpec
    from ..models.onnx.runtime import OnnxGraph
    from ..models.onnx.signature import Signature
    from ..models.record import ModelFile
    from ..preset import Preset

    return {c.__name__: c for c in (ModelFile, RecurrentSpec, RecurrentLayer, WaveNetSpec,
                                     LayerArray, LinearSpec, SmartAmpProSpec, Signature,
                                     OnnxGraph, ImpulseResponse, Preset, Activation, Film,
                                     PostHead, ContainerSpec)}


def pack(obj) -> bytes:
    arrays: list[np.ndarray] = []
    types = _types()

    def enc(v):
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return float(v)
        if isinstance(v, np.ndarray):
            arrays.append(np.ascontiguousarray(v))
            return {"$a": len(arrays) - 1}
        if isinstance(v, (bytes, bytearray)):
            arrays.append(np.frombuffer(bytes(v), np.uint8))
            return {"$b": len(arrays) - 1}
        if isinstance(v, Path):
            return {"$p": str(v)}
        if isinstance(v, tuple):
            return {"$t": [enc(x) for x in v]}
        if isinstance(v, list):
            return [enc(x) for x in v]
        if isinstance(v, dict):
            return {"$d": [[enc(k), enc(x)] for k, x in v.items()]}
        if dataclasses.is_dataclass(v) and type(v).__name__ in types:
            name = type(v).__name__
            skip = _SKIP.get(name, set())
            return {"$c": name, "f": {f.name: enc(getattr(v, f.name))
                                      for f in dataclasses.fields(v)
                                      if f.init and f.name not in skip}}
        raise WireError(f"cannot send a {type(v).__name__}")

    tree = enc(obj)
    table, offset = [], 0
    for a in arrays:
        table.append([a.dtype.str, list(a.shape), offset, a.nbytes])
        offset += a.nbytes
    header = json.dumps({"tree": tree, "arrays": table}).encode()
    return b"".join([struct.pack(">I", len(header)), header] + [a.tobytes() for a in arrays])


def unpack(buf: bytes):
    if len(buf) < 4:
        raise WireError("message too short")
    (n,) = struct.unpack(">I", buf[:4])
    if n > len(buf) - 4:
        raise WireError("message header runs past its end")
    try:
        head = json.loads(buf[4:4 + n].decode("utf-8"))
    except (ValueError, RecursionError):
        raise WireError("message header is not JSON") from None
    if not isinstance(head, dict) or not isinstance(head.get("arrays"), list):
        raise WireError("message header has no array table")
    blob = memoryview(buf)[4 + n:]
    arrays = []
    for entry in head["arrays"]:
        try:
            dt, shape, off, size = entry
            dtype = np.dtype(dt) if dt in _DTYPES else None
            ok = (dtype is not None and isinstance(shape, list) and len(shape) <= 8
                  and all(isinstance(d, int) and d >= 0 for d in shape)
                  and isinstance(off, int) and isinstance(size, int) and 0 <= off
                  and off + size <= len(blob)
                  and size == int(np.prod(shape, dtype=np.int64)) * dtype.itemsize)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise WireError(f"bad array entry {str(entry)[:80]}")
        arrays.append(np.frombuffer(blob[off:off + size], dtype).reshape(shape).copy())
    types = _types()

    def dec(v, depth=0):
        if depth > 64:
            raise WireError("message nested too deeply")
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        if not isinstance(v, dict) or len(v) not in (1, 2):
            raise WireError("unknown value in message")
        if "$a" in v or "$b" in v:
            i = v.get("$a", v.get("$b"))
            if not isinstance(i, int) or not 0 <= i < len(arrays):
                raise WireError("bad array reference")
            return arrays[i] if "$a" in v else arrays[i].tobytes()
        if "$p" in v and isinstance(v["$p"], str):
            return Path(v["$p"])
        if "$t" in v and isinstance(v["$t"], list):
            return tuple(dec(x, depth + 1) for x in v["$t"])
        if "$d" in v and isinstance(v["$d"], list):
            out = {}
            for pair in v["$d"]:
                if not isinstance(pair, list) or len(pair) != 2 or \
                        not isinstance(pair[0], (str, int)):
                    raise WireError("bad dict entry")
                out[pair[0]] = dec(pair[1], depth + 1)
            return out
        if "$c" in v and isinstance(v.get("f"), dict):
            cls = types.get(v["$c"])
            if cls is None:
                raise WireError(f"type {str(v['$c'])[:40]!r} is not sent between processes")
            names = {f.name for f in dataclasses.fields(cls) if f.init}
            names -= _SKIP.get(cls.__name__, set())
            if set(v["f"]) != names:
                raise WireError(f"{cls.__name__}: fields {sorted(v['f'])[:8]} do not match")
            return cls(**{k: dec(x, depth + 1) for k, x in v["f"].items()})
        raise WireError("unknown value in message")

    return dec(head.get("tree"))
