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

from ...errors import ModelError
from .. import budget
from ..jsondoc import Node
from ..arch.wavenet import MAX_CHANNELS, MAX_DILATION, LayerArray, WaveNetSpec

SAMPLE_RATE = 44100
# activation name -> (activation, gate activation or None when not gated)
_ACTIVATIONS = {
    "gated": ("Tanh", "Sigmoid"), "softgated": ("Softsign", "Softsign"),
    "tanh": ("Tanh", None), "sigmoid": ("Sigmoid", None), "relu": ("ReLU", None),
    "softsign": ("Softsign", None), "linear": ("Linear", None),
}


def detect(doc) -> bool:
    return isinstance(doc, dict) and "variables" in doc and "dilations" in doc


def parse(doc: Node):
    name = doc.name
    for key in ("input_channels", "output_channels"):
        if doc.has(key):
            doc[key].int(1, 1)
    c = doc["residual_channels"].int(1, MAX_CHANNELS)
    k = doc["filter_width"].int(1, 64)
    dil_node = doc["dilations"]
    dil = [d.int(1, MAX_DILATION) for d in dil_node.items()]
    if not 1 <= len(dil) <= 64:
        raise dil_node.error("must be a list of 1..64 dilations", show=False)
    act = doc["activation"].str(tuple(_ACTIVATIONS))
    activation, gate = _ACTIVATIONS[act]
    m = 2 * c if gate else c
    n_lay = len(dil)
    rf = 1 + (k - 1) * sum(dil)
    budget.check(name, macs=n_lay * (m * c * k + c * c + c) + 2 * c, receptive_field=rf)

    found = {}
    for v in doc["variables"].items():
        v.obj()
        layer = v["layer_idx"].int(-1, 1 << 16)
        key = v["name"].str()
        found[(layer, key)] = v["data"]

    def get(layer, key, shape):
        where = f"variables[layer_idx={layer}, name={key}]"
        node = found.get((layer, key))
        if node is None:
            raise ModelError(f"{name}: {where}: missing")
        # the plugins' files store numbers as strings too
        a = Node(node.value, name, where).array(strings=True)
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
    meta: dict = {"activation": act}
    if doc.has("level_adjust"):  # a SmartAmp plugin control, not applied
        meta["level_adjust"] = doc["level_adjust"].num(strings=True)
    meta["sample_rate_stated"] = False
    return spec, SAMPLE_RATE, meta
