"""Writing .nam files: 0.5.4 for LSTMs and A1 WaveNets (what NAM's trainer writes and every
NAM version reads), 0.7.0 for the A2 forms, each in the exact weight order the reader takes
(NAM Core's)."""

from __future__ import annotations

import numpy as np

from ...errors import ModelError
from ..arch.recurrent import RecurrentSpec
from ..arch.wavenet import FILM_SITES, Activation, WaveNetSpec

VERSION_WRITTEN = "0.5.4"
NUMERIC_METADATA = ("loudness", "gain", "input_level_dbu", "output_level_dbu")


def to_nam(spec, metadata: dict | None = None) -> dict:
    """A .nam 0.5.4 document for an LSTM (no input skip, no knobs) or an A1 WaveNet, in the
    exact weight order ``parse_nam`` reads (and NAM's trainer writes)."""
    w: list[np.ndarray] = []
    if isinstance(spec, RecurrentSpec):
        if spec.cell != "lstm" or spec.skip or spec.input_size != 1:
            raise ModelError(f"{spec.arch}: .nam holds LSTMs without input skip or knobs only")
        hid = spec.hidden_size
        for i, layer in enumerate(spec.layers):
            w += [np.concatenate([layer.w_ih, layer.w_hh], axis=1).ravel(),
                  layer.b_ih + layer.b_hh,
                  spec.h0[i] if spec.h0 is not None else np.zeros(hid),
                  spec.c0[i] if spec.c0 is not None else np.zeros(hid)]
        w += [spec.dense_w.ravel(), np.array([spec.dense_b])]
        arch = "LSTM"
        cfg: dict = {"input_size": 1, "hidden_size": hid, "num_layers": spec.num_layers}
    elif isinstance(spec, WaveNetSpec):
        if any(a.rechannel_b is not None or a.layer_head_w or a.gate_activation != "Sigmoid"
               for a in spec.arrays):
            raise ModelError(f"{spec.arch}: this WaveNet variant (rechannel bias, per-layer "
                             "heads) has no .nam form")
        if not spec.is_a1:
            return _to_nam_a2(spec, metadata)
        layers = []
        for a in spec.arrays:
            w.append(a.rechannel.ravel())
            for cw, cb, m, w1, b1 in zip(a.conv_w, a.conv_b, a.mixin, a.w1x1, a.b1x1):
                w += [cw.ravel(), cb, m.ravel(), w1.ravel(), b1]
            w.append(a.head_w.ravel())
            if a.head_b is not None:
                w.append(a.head_b)
            layers.append({"input_size": a.input_size, "condition_size": a.condition_size,
                           "head_size": a.head_size, "channels": a.channels,
                           "kernel_size": a.kernel_size, "dilations": list(a.dilations),
                           "activation": a.activation, "gated": a.gated,
                           "head_bias": a.head_b is not None})
        w.append(np.array([spec.head_scale]))
        arch = "WaveNet"
        cfg = {"layers": layers, "head": None, "head_scale": spec.head_scale}
    else:
        raise ModelError(f"{type(spec).__name__}: no .nam form")
    flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in w])
    return {"version": VERSION_WRITTEN, "architecture": arch, "config": cfg,
            "weights": flat.tolist(), "sample_rate": spec.sample_rate,
            "metadata": _numeric_metadata(metadata)}


def _numeric_metadata(metadata: dict | None) -> dict:
    meta = dict(metadata or {})
    for key in NUMERIC_METADATA:  # numbers as numbers, whatever carried them here (ONNX: text)
        if key in meta:
            try:
                meta[key] = float(meta[key])
            except (TypeError, ValueError):
                meta.pop(key)
    return meta


def write_nam(spec, path, metadata: dict | None = None) -> None:
    import json

    from ...audio.files import atomic_path

    doc = to_nam(spec, metadata)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc))


VERSION_WRITTEN_A2 = "0.7.0"


def _act_doc(a: Activation):
    """An Activation as NAM 0.7 writes it: a name, or an object with its parameters."""
    if a.name == "LeakyReLU":
        return {"type": "LeakyReLU", "negative_slope": float(a.params[0]) if a.params else 0.01}
    if a.name == "PReLU":
        return {"type": "PReLU", "negative_slopes": [float(v) for v in a.params]}
    if a.name == "LeakyHardtanh":
        return dict(zip(("type", "min_val", "max_val", "min_slope", "max_slope"),
                        ["LeakyHardtanh"] + [float(v) for v in a.params]))
    return a.name


def _to_nam_a2(spec, metadata):
    """A .nam 0.7 document for a NAM 0.6/0.7 WaveNet (one size of it), in the weight order
    ``_ArrayPlan.read`` takes (NAM Core's). Grouped convolutions are written dense (groups 1:
    the same numbers, with their zeros)."""
    if spec.slimmable:
        raise ModelError(f"{spec.arch}: a slimmable WaveNet is written at one size: choose it "
                         "with --slim")
    w: list[np.ndarray] = []
    layers = []
    for a in spec.arrays:
        n = a.n_layers
        w.append(a.rechannel.ravel())
        for j in range(n):
            w += [a.conv_w[j].ravel(), a.conv_b[j], a.mixin[j].ravel()]
            if a.layer1x1:
                w += [a.w1x1[j].ravel(), a.b1x1[j]]
            if a.head1x1_w:
                w += [a.head1x1_w[j].ravel(), a.head1x1_b[j]]
            for site in FILM_SITES:
                f = a.film(j, site)
                if f is not None:
                    w += [f.w.ravel(), f.b]
        hw = a.head_w if a.head_w.ndim == 3 else a.head_w[:, :, None]
        w.append(hw.ravel())
        if a.head_b is not None:
            w.append(a.head_b)
        lc: dict = {"input_size": a.input_size, "condition_size": a.condition_size,
                    "channels": a.channels, "bottleneck": a.b,
                    "kernel_sizes": [a.kernel(j) for j in range(n)],
                    "dilations": list(a.dilations),
                    "activation": [_act_doc(a.act(j)) for j in range(n)],
                    "gating_mode": [a.gate(j) for j in range(n)],
                    "secondary_activation": [_act_doc(a.gate_act(j)) if a.gate(j) != "none"
                                             else None for j in range(n)],
                    "head": {"out_channels": a.head_size, "kernel_size": a.head_kernel,
                             "bias": a.head_b is not None, "head_dilation": a.head_dilation},
                    "layer1x1": {"active": a.layer1x1, "groups": 1},
                    "head1x1": {"active": bool(a.head1x1_w), "groups": 1,
                                "out_channels": int(a.head1x1_w[0].shape[0])
                                if a.head1x1_w else a.channels}}
        for site in FILM_SITES:
            f = a.film(0, site) if a.films else None
            if any(a.film(j, site) is not None for j in range(n)) and f is None:
                raise ModelError(f"{spec.arch}: {site}_film on some layers only has no .nam "
                                 "form")
            if f is not None:
                lc[f"{site}_film"] = {"active": True, "shift": bool(f.shift), "groups": 1}
        layers.append(lc)
    cfg: dict = {"layers": layers, "head": None, "head_scale": spec.head_scale}
    if spec.post_head is not None:
        convs = spec.post_head.convs
        cfg["head"] = {"in_channels": int(convs[0][0].shape[1]),
                       "channels": int(convs[0][0].shape[0]),
                       "out_channels": int(convs[-1][0].shape[0]),
                       "kernel_sizes": [int(cw.shape[2]) for cw, _ in convs],
                       "activation": _act_doc(spec.post_head.activation)}
        for cw, cb in convs:
            w += [cw.ravel(), cb]
    if spec.condition is not None:
        cfg["condition_dsp"] = to_nam(spec.condition)
    w.append(np.array([spec.head_scale]))
    flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in w])
    return {"version": VERSION_WRITTEN_A2, "architecture": "WaveNet", "config": cfg,
            "weights": flat.tolist(), "sample_rate": spec.sample_rate,
            "metadata": _numeric_metadata(metadata)}
