"""WaveNet json of the WaveNetVA family (SmartGuitarPedal, SmartGuitarAmp, PedalNetRT exports,
WaveNetVA), mapped onto the WaveNet description the NAM files use.

The file holds ``residual_channels`` C, ``filter_width`` K, ``dilations``, ``activation`` and
a list of ``variables`` (``layer_idx``, ``name``, ``data``; numbers, or numbers as strings):

- layer -1, ``W`` [C] and ``b`` [C]: the 1x1 input layer (with a bias, unlike NAM's rechannel);
- layers 0..L-1: ``W_conv`` flat [K][C][M] (M = 2C when gated), tap k reading x[t - d(K-1-k)],
  ``b_conv`` [M]; ``W_out`` [C][C] and ``b_out`` [C] the residual 1x1, added to the layer input;
- layer L, ``W`` [L*C] and ``b`` [1]: the output layer over the concatenated skip channels
  (each layer's activation), which maps onto per-layer head weights.

Gated activations take tanh (``gated``) or softsign (``softgated``) of the first C channels
times sigmoid (or softsign) of the last C. History starts at zero, as the plugins and their
zero-padded training start; there is no prewarm. No sample rate is stored: 44100 Hz.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .json_models import _arr
from .wavenet import MAX_CHANNELS, MAX_DILATION, LayerArray, WaveNetSpec

SAMPLE_RATE = 44100
# activation name -> (activation, gate activation or None when not gated)
_ACTIVATIONS = {
    "gated": ("Tanh", "Sigmoid"), "softgated": ("Softsign", "Softsign"),
    "tanh": ("Tanh", None), "sigmoid": ("Sigmoid", None), "relu": ("ReLU", None),
    "softsign": ("Softsign", None), "linear": ("Linear", None),
}


def _int(doc, key, name, lo, hi):
    v = doc.get(key)
    if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
        raise ModelError(f"{name}: {key}: must be an integer {lo}..{hi}, got {v!r}")
    return v


def parse_wavenetva(doc: dict, name: str):
    for key, want in (("input_channels", 1), ("output_channels", 1)):
        if doc.get(key, 1) != want:
            raise ModelError(f"{name}: {key}: only {want} is supported, got {doc.get(key)!r}")
    c = _int(doc, "residual_channels", name, 1, MAX_CHANNELS)
    k = _int(doc, "filter_width", name, 1, 64)
    dil = doc.get("dilations")
    if (not isinstance(dil, list) or not 1 <= len(dil) <= 64
            or not all(isinstance(d, int) and 1 <= d <= MAX_DILATION for d in dil)):
        raise ModelError(f"{name}: dilations: must be a list of 1..64 integers in "
                         f"1..{MAX_DILATION}")
    act = doc.get("activation")
    if act not in _ACTIVATIONS:
        raise ModelError(f"{name}: activation: must be one of {', '.join(_ACTIVATIONS)}, "
                         f"got {act!r}")
    activation, gate = _ACTIVATIONS[act]
    m = 2 * c if gate else c
    n_lay = len(dil)

    found = {}
    variables = doc.get("variables")
    if not isinstance(variables, list):
        raise ModelError(f"{name}: variables: must be a list")
    for i, v in enumerate(variables):
        if not isinstance(v, dict) or not isinstance(v.get("layer_idx"), int):
            raise ModelError(f"{name}: variables[{i}]: needs layer_idx, name and data")
        found[(v["layer_idx"], v.get("name"))] = v.get("data")

    def get(layer, key, shape):
        where = f"variables[layer_idx={layer}, name={key}]"
        if (layer, key) not in found:
            raise ModelError(f"{name}: {where}: missing")
        a = _arr(found[(layer, key)], name, where)
        if a.size != int(np.prod(shape)):
            raise ModelError(f"{name}: {where}: {a.size} values, expected "
                             f"{int(np.prod(shape))}")
        return a.reshape(shape)

    expected = {(-1, "W"), (-1, "b"), (n_lay, "W"), (n_lay, "b")}
    expected |= {(i, key) for i in range(n_lay) for key in ("W_conv", "b_conv", "W_out", "b_out")}
    extra = sorted(set(found) - expected)
    if extra:
        raise ModelError(f"{name}: variables: unexpected layer_idx/name {extra[0]} "
                         f"(for {n_lay} dilations)")

    f32 = np.float32  # the plugins compute in float32 from weights rounded to float32
    conv_w, conv_b, w1, b1 = [], [], [], []
    for i in range(n_lay):
        conv_w.append(get(i, "W_conv", (k, c, m)).transpose(2, 1, 0).astype(f32))  # [M, C, K]
        conv_b.append(get(i, "b_conv", (m,)).astype(f32))
        w1.append(get(i, "W_out", (c, c)).T.astype(f32))  # [C_out, C_in]
        b1.append(get(i, "b_out", (c,)).astype(f32))
    head = get(n_lay, "W", (n_lay, c, 1)).astype(f32)  # [L][C][out]
    arr = LayerArray(
        input_size=1, condition_size=1, head_size=1, channels=c, kernel_size=k,
        dilations=list(dil), activation=activation, gated=gate is not None, head_bias=True,
        rechannel=get(-1, "W", (1, c)).T.astype(f32),
        conv_w=conv_w, conv_b=conv_b, mixin=[np.zeros((m, 1), f32)] * n_lay,
        w1x1=w1, b1x1=b1,
        head_w=np.ones((1, 1), f32), head_b=get(n_lay, "b", (1,)).astype(f32),
        rechannel_b=get(-1, "b", (c,)).astype(f32), gate_activation=gate or "Sigmoid",
        layer_head_w=[head[i].T for i in range(n_lay)])  # [A=1, C]
    spec = WaveNetSpec([arr], head_scale=1.0, sample_rate=SAMPLE_RATE, prewarm=False)
    spec.validate(name)
    meta = {"activation": act}
    if "level_adjust" in doc:
        meta["level_adjust"] = doc["level_adjust"]  # a SmartAmp plugin control, not applied
    return spec, SAMPLE_RATE, meta
