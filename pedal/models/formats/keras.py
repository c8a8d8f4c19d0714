"""AIDA-X / RTNeural Keras-style json: ``layers`` of lstm / gru / dense with Keras weight
layouts, mapped onto the recurrent description. AIDA-X files carry ``input_batch`` /
``output_batch``, which are checked at load (``embedded_check``).
"""

from __future__ import annotations

import numpy as np

from ...dsp.run import run_blocks
from ..jsondoc import Node
from ..arch.recurrent import RecurrentLayer, RecurrentSpec


def detect(doc) -> bool:
    return isinstance(doc, dict) and "layers" in doc and "in_shape" in doc


def parse(doc: Node):
    name = doc.name
    layers_doc = doc["layers"].items()
    if not 1 <= len(layers_doc) <= 16:
        raise doc["layers"].error("must be a list of 1..16 layers", show=False)
    shape = doc.get("in_shape")
    if shape is not None:
        dims = shape.list(1, 8)
        if dims[-1] not in (None, 1):
            raise shape.error("only one input channel is supported")
    rec, dense, cell = [], None, None
    width = 1
    for lay in layers_doc:
        lay.obj()
        kind = lay["type"].str(("lstm", "gru", "dense"))
        w = lay["weights"]
        if kind in ("lstm", "gru"):
            if dense is not None:
                raise lay.error("a recurrent layer after a dense layer", show=False)
            if cell not in (None, kind):
                raise lay.error("mixed lstm and gru layers", show=False)
            cell = kind
            g = 4 if kind == "lstm" else 3
            parts = w.items()
            if len(parts) != 3:
                raise w.error("expected kernel, recurrent kernel and bias", show=False)
            kern = parts[0].array(ndim=2)
            hid = kern.shape[1] // g
            if not 1 <= hid <= 256 or kern.shape != (width, g * hid):
                raise parts[0].error(f"has shape {kern.shape}, expected ({width}, {g}*H)",
                                     show=False)
            recur = parts[1].array((hid, g * hid))
            if kind == "lstm":  # Keras gate order i, f, c, o == PyTorch's i, f, g, o
                bias = parts[2].array((g * hid,))
                rec.append(RecurrentLayer(kern.T.copy(), recur.T.copy(), bias,
                                          np.zeros(g * hid)))
            else:  # Keras z, r, h with reset_after -> PyTorch r, z, n
                bias = parts[2].array((2, g * hid))
                order = np.r_[hid:2 * hid, 0:hid, 2 * hid:3 * hid]
                rec.append(RecurrentLayer(kern.T[order].copy(), recur.T[order].copy(),
                                          bias[0][order].copy(), bias[1][order].copy()))
            width = hid
        else:
            parts = w.items()
            if dense is not None or len(parts) != 2:
                raise lay.error("one dense layer with kernel and bias expected", show=False)
            act = lay["activation"].str() if lay.has("activation") else ""
            if act not in ("", "linear"):
                raise lay["activation"].error("only a linear dense layer is supported")
            dense = (parts[0].array((width, 1))[:, 0], float(parts[1].array((1,))[0]))
    if not rec or dense is None or cell is None:
        raise doc["layers"].error("need recurrent layers followed by one dense layer",
                                  show=False)
    meta_node = doc.get("metadata")
    meta = {k: v for k, v in (meta_node.obj() if meta_node else {}).items()
            if isinstance(v, (str, int, float)) and not isinstance(v, bool)}
    rate_node = meta_node.get("samplerate") if meta_node is not None else None
    if rate_node is not None:
        sr = int(rate_node.num(8000, 384000, strings=True))
    else:
        sr = 48000 if meta_node is not None else 44100
        meta["sample_rate_stated"] = False
    spec = RecurrentSpec(cell, rec, dense[0], dense[1], False, 1, sr,
                         metadata={k: v for k, v in meta.items() if k != "sample_rate_stated"})
    spec.validate(name)
    return spec, sr, meta


def embedded_check(doc: Node, engine) -> float | None:
    """Max |difference| between the engine and the file's own output_batch (None if absent)."""
    if not doc.has("input_batch") or not doc.has("output_batch"):
        return None
    x = doc["input_batch"].array().astype(np.float32).reshape(-1)
    want = doc["output_batch"].array().reshape(-1)
    if x.size != want.size or x.size == 0:
        raise doc["output_batch"].error("differs in length from input_batch", show=False)
    engine.prepare(256)
    y = run_blocks(engine, x, 256)
    engine.reset()
    return float(np.max(np.abs(y - want)))
