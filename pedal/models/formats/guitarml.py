"""GuitarML "SimpleRNN" json (NeuralPi, Proteus, Chameleon, TS-M1N3, Automated-GuitarAmpModelling):
PyTorch state_dict names, LSTM or GRU, optional input skip, 1-2 knob inputs, mapped onto the
recurrent description. No sample rate is stored: 44100 Hz (48000 when the file name says
``48k``), said as assumed.
"""

from __future__ import annotations

import re

import numpy as np

from ..jsondoc import Node
from ..arch.recurrent import MAX_HIDDEN, MAX_LAYERS, RecurrentLayer, RecurrentSpec


def detect(doc) -> bool:
    return isinstance(doc, dict) and "model_data" in doc and "state_dict" in doc


def parse(doc: Node):
    name = doc.name
    md, sd = doc["model_data"], doc["state_dict"]
    md.obj()
    sd.obj()
    md["model"].str(("SimpleRNN",))
    unit = md["unit_type"].str(("LSTM", "GRU", "lstm", "gru")).upper()
    g = 4 if unit == "LSTM" else 3
    hid = md["hidden_size"].int(1, MAX_HIDDEN)
    n_layers = md["num_layers"].int(1, MAX_LAYERS) if md.has("num_layers") else 1
    n_in = md["input_size"].int(1, 9) if md.has("input_size") else 1
    if md.has("output_size"):
        md["output_size"].int(1, 1)
    bias = md["bias_fl"].bool() if md.has("bias_fl") else True
    skip = md["skip"].int(0, 1) if md.has("skip") else 0
    layers, width = [], n_in
    for i in range(n_layers):
        def get(k, shape):
            node = sd.get(f"rec.{k}_l{i}")
            if node is None and k.startswith("bias") and not bias:
                return np.zeros(shape)
            if node is None:
                raise sd.error(f"rec.{k}_l{i}: missing", show=False)
            return node.array(shape)
        layers.append(RecurrentLayer(get("weight_ih", (g * hid, width)),
                                     get("weight_hh", (g * hid, hid)),
                                     get("bias_ih", (g * hid,)), get("bias_hh", (g * hid,))))
        width = hid
    lw = sd["lin.weight"].array((1, hid))[0]
    lb = sd["lin.bias"].array((1,))[0] if sd.has("lin.bias") else 0.0
    said = re.search(r"48k", name, re.IGNORECASE)
    sr = 48000 if said else 44100
    spec = RecurrentSpec(unit.lower(), layers, lw, float(lb), bool(skip), n_in, sr)
    spec.validate(name)
    return spec, sr, {"sample_rate_stated": False}
