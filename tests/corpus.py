"""A small valid file of every model format, made here (no third-party data), for the fuzz and
hostile-input tests; ``shared_files`` adds the real ones of ../shared when it is present."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from pedal import paths
from pedal.models.formats.nam import to_nam


def _r(rng, *shape, scale=0.3):
    return (rng.standard_normal(shape) * scale).astype(np.float32).tolist()


def guitarml(seed=0, hid=4, cell="LSTM", knobs=0):
    rng = np.random.default_rng(seed)
    g = 4 if cell == "LSTM" else 3
    return {"model_data": {"model": "SimpleRNN", "input_size": 1 + knobs, "skip": 1,
                           "output_size": 1, "unit_type": cell, "num_layers": 1,
                           "hidden_size": hid, "bias_fl": True},
            "state_dict": {"rec.weight_ih_l0": _r(rng, g * hid, 1 + knobs),
                           "rec.weight_hh_l0": _r(rng, g * hid, hid),
                           "rec.bias_ih_l0": _r(rng, g * hid), "rec.bias_hh_l0": _r(rng, g * hid),
                           "lin.weight": _r(rng, 1, hid), "lin.bias": _r(rng, 1)}}


def keras(seed=0, hid=4):
    rng = np.random.default_rng(seed)
    return {"in_shape": [None, None, 1],
            "layers": [{"type": "lstm", "activation": "tanh", "shape": [None, None, hid],
                        "weights": [_r(rng, 1, 4 * hid), _r(rng, hid, 4 * hid), _r(rng, 4 * hid)]},
                       {"type": "dense", "activation": "", "shape": [None, None, 1],
                        "weights": [_r(rng, hid, 1), _r(rng, 1)]}],
            "metadata": {"samplerate": "48000", "name": "fuzz"}}


def wavenetva(seed=0, c=2, k=3, dil=(1, 2)):
    rng = np.random.default_rng(seed)
    m = 2 * c
    shapes = [(-1, "W", c), (-1, "b", c)]
    for i in range(len(dil)):
        shapes += [(i, "W_conv", k * c * m), (i, "b_conv", m), (i, "W_out", c * c), (i, "b_out", c)]
    shapes += [(len(dil), "W", len(dil) * c), (len(dil), "b", 1)]
    return {"activation": "gated", "output_channels": 1, "input_channels": 1,
            "residual_channels": c, "filter_width": k, "dilations": list(dil),
            "variables": [{"layer_idx": li, "name": nm, "data": _r(rng, n)}
                          for li, nm, n in shapes]}


def smartamppro(seed=0, c=2, hid=4):
    rng = np.random.default_rng(seed)
    return {"conv1d": {"kernel:0": _r(rng, 12, 1, c), "bias:0": _r(rng, c)},
            "conv1d_1": {"kernel:0": _r(rng, 12, c, c), "bias:0": _r(rng, c)},
            "lstm": {"kernel:0": _r(rng, c, 4 * hid), "bias:0": _r(rng, 4 * hid),
                     "recurrent_kernel:0": _r(rng, hid, 4 * hid)},
            "dense": {"kernel:0": _r(rng, hid, 1), "bias:0": _r(rng, 1)},
            "input_size": 120, "conv1d_stride": 12, "conv1d_1_stride": 12}


def nam_lstm(seed=0):
    from helpers import random_spec

    return to_nam(random_spec("lstm", hidden=3, seed=seed), {"loudness": -12.0, "name": "fuzz"})


def nam_wavenet(seed=0):
    from pedal.models.arch.wavenet import LayerArray, WaveNetSpec

    rng = np.random.default_rng(seed)
    arrays, cin = [], 1
    for c, hd, bias in ((3, 2, False), (2, 1, True)):
        r = lambda *s: rng.standard_normal(s) * 0.3  # noqa: E731
        dil = [1, 2]
        arrays.append(LayerArray(cin, 1, hd, c, 3, dil, "Tanh", False, bias, r(c, cin),
                                 [r(c, c, 3) for _ in dil], [r(c) for _ in dil],
                                 [r(c, 1) for _ in dil], [r(c, c) for _ in dil],
                                 [r(c) for _ in dil], r(hd, c), r(hd) if bias else None))
        cin = c
    return to_nam(WaveNetSpec(arrays, 0.02), {"loudness": -20.0})


def nam_linear():
    return {"version": "0.5.4", "architecture": "Linear",
            "config": {"receptive_field": 3, "bias": True}, "weights": [0.25, 0.5, 0.25, 0.0],
            "sample_rate": 48000}


JSON_FORMATS = {"guitarml": guitarml, "keras": keras, "wavenetva": wavenetva,
                "smartamppro": smartamppro, "nam_lstm": nam_lstm, "nam_wavenet": nam_wavenet,
                "nam_linear": nam_linear}


def onnx_files() -> dict[str, bytes]:
    """The bundled model (int8 LSTM on numba), a pedal WaveNet, and a graph only onnxruntime
    runs (when the onnx package is there to write them)."""
    out = {"bundled_lstm.onnx": (paths.MODELS_DIR / "pedal_overdrive_lstm16.onnx").read_bytes()}
    try:
        from pedal.models.onnx.write import write_onnx
        from pedal.tools.bench_models import random_wavenet
    except ImportError:
        return out
    with tempfile.TemporaryDirectory() as d:
        spec = random_wavenet("nano")
        spec.arrays = spec.arrays[:1]
        spec.arrays[0].head_size = 1
        spec.arrays[0].head_w = spec.arrays[0].head_w[:1]
        p = Path(d) / "wn.onnx"
        write_onnx(spec, p)
        out["wavenet.onnx"] = p.read_bytes()
    return out


NAM_CASES = Path(__file__).parent / "data" / "nam_cases"


def files() -> dict[str, bytes]:
    """name -> bytes of every format's small file, and the NAM 0.6/0.7 cases (every A2
    option, condition networks, containers: scripts/make_nam_cases.py)."""
    out = {f"{k}.json": json.dumps(f()).encode() for k, f in JSON_FORMATS.items()}
    out.update(onnx_files())
    for p in sorted(NAM_CASES.glob("*.nam")):
        out[f"nam_a2_{p.name}"] = p.read_bytes()
    return out


def shared_files(shared: Path | None) -> dict[str, bytes]:
    """The real model files of ../shared (empty without it)."""
    if shared is None or not (shared / "data").is_dir():
        return {}
    out = {}
    for sub in ("nam", "json", "onnx"):
        for p in sorted((shared / "data" / sub).rglob("*")):
            if p.is_file() and p.stat().st_size < 2_000_000:
                out[f"shared/{p.relative_to(shared / 'data')}"] = p.read_bytes()
    return out
