"""The trainable networks (PyTorch) and their hand-over to the pedal's own model descriptions.

Each network mirrors one of the pedal's engines exactly, so what was trained is what plays:
:class:`RecurrentNet` is a :class:`~pedal.models.arch.recurrent.RecurrentSpec` (LSTM/GRU stack and a
dense head, no input skip, as in ``.nam``), :class:`WaveNet` is NAM's A1 WaveNet
(:class:`~pedal.models.arch.wavenet.WaveNetSpec`). ``to_spec`` copies the weights out in float64.
"""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import torch
from torch import nn

from ..errors import ConfigError
from ..models.arch.recurrent import RecurrentLayer, RecurrentSpec
from ..models.arch.wavenet import LayerArray, WaveNetSpec
from .arch import WAVENETS

def build(arch: dict, sample_rate: int) -> nn.Module:
    if arch["kind"] == "recurrent":
        return RecurrentNet(arch["cell"], arch["hidden"], arch["layers"], sample_rate)
    cfg = WAVENETS[arch["size"]]
    arrays = [dict(input_size=1 if i == 0 else cfg[i - 1][0], condition_size=1, channels=c,
                   head_size=h, kernel_size=3, dilations=d, activation="Tanh", gated=False,
                   head_bias=i == 1)
              for i, (c, h, d) in enumerate(cfg)]
    return WaveNet(arrays, head_scale=0.02, sample_rate=sample_rate)


def _np(t) -> np.ndarray:
    return t.detach().cpu().double().numpy().copy()


class RecurrentNet(nn.Module):
    """LSTM or GRU stack -> Linear(H, 1). ``forward(x [B, T], state) -> (y [B, T], state)``."""

    receptive_field = 1

    def __init__(self, cell: str, hidden: int, layers: int = 1, sample_rate: int = 48000):
        super().__init__()
        self.cell, self.hidden, self.layers, self.sample_rate = cell, hidden, layers, sample_rate
        rnn = nn.LSTM if cell == "lstm" else nn.GRU
        self.rec = rnn(1, hidden, layers, batch_first=True)
        self.lin = nn.Linear(hidden, 1)

    def forward(self, x, state=None):
        out, state = self.rec(x[..., None], state)
        return self.lin(out)[..., 0], state

    def unit_norms(self):
        """Per hidden unit of every layer, the norm of all weights that read it (recurrent,
        next layer or head): a group-L1 penalty on these drives whole units to zero, which
        ``compress --hidden`` then cuts out."""
        norms = []
        for i in range(self.layers):
            out = getattr(self.rec, f"weight_ih_l{i + 1}") if i + 1 < self.layers \
                else self.lin.weight
            w = torch.cat([getattr(self.rec, f"weight_hh_l{i}"), out], dim=0)
            norms.append(torch.sqrt(torch.sum(w ** 2, dim=0) + 1e-12))
        return torch.cat(norms)

    def steady_state(self, n: int = 48000):
        """The state a long silence leaves (NAM exports it as the initial state)."""
        with torch.no_grad():
            p = next(self.parameters())
            _, state = self(torch.zeros(1, n, dtype=p.dtype, device=p.device))
        return state

    def to_spec(self) -> RecurrentSpec:
        sd = self.rec.state_dict()
        layers = [RecurrentLayer(_np(sd[f"weight_ih_l{i}"]), _np(sd[f"weight_hh_l{i}"]),
                                 _np(sd[f"bias_ih_l{i}"]), _np(sd[f"bias_hh_l{i}"]))
                  for i in range(self.layers)]
        state = self.steady_state()
        h0, c0 = (state if self.cell == "lstm" else (state, None))
        return RecurrentSpec(self.cell, layers, _np(self.lin.weight)[0],
                             float(self.lin.bias.item()), skip=False, input_size=1,
                             sample_rate=self.sample_rate, linear_before_reset=True,
                             h0=_np(h0[:, 0, :]), c0=None if c0 is None else _np(c0[:, 0, :]))

    @classmethod
    def from_spec(cls, spec: RecurrentSpec) -> "RecurrentNet":
        """For fine-tuning a model the pedal can load (LSTM/GRU without skip or knobs)."""
        if spec.skip or spec.input_size != 1 or (spec.cell == "gru"
                                                  and not spec.linear_before_reset):
            raise ConfigError(f"{spec.arch}: only plain LSTM/GRU models (no input skip, no "
                              "knobs) can be fine-tuned")
        net = cls(spec.cell, spec.hidden_size, spec.num_layers, spec.sample_rate)
        with torch.no_grad():
            for i, layer in enumerate(spec.layers):
                for key in ("w_ih", "w_hh", "b_ih", "b_hh"):
                    name = {"w_ih": "weight_ih", "w_hh": "weight_hh", "b_ih": "bias_ih",
                            "b_hh": "bias_hh"}[key]
                    getattr(net.rec, f"{name}_l{i}").copy_(torch.tensor(getattr(layer, key)))
            net.lin.weight.copy_(torch.tensor(spec.dense_w)[None])
            net.lin.bias.fill_(spec.dense_b)
        return net


_ACT = {"Tanh": torch.tanh, "ReLU": torch.relu, "Sigmoid": torch.sigmoid,
        "Hardtanh": lambda v: torch.clamp(v, -1.0, 1.0),
        "LeakyReLU": lambda v: torch.nn.functional.leaky_relu(v, 0.01),
        "Softsign": torch.nn.functional.softsign, "Linear": lambda v: v}


class _Array(nn.Module):
    def __init__(self, input_size, condition_size, channels, head_size, kernel_size, dilations,
                 activation, gated, head_bias):
        super().__init__()
        self.cfg: dict[str, Any] = dict(input_size=input_size, condition_size=condition_size, channels=channels,
                        head_size=head_size, kernel_size=kernel_size, dilations=list(dilations),
                        activation=activation, gated=gated, head_bias=head_bias)
        m = 2 * channels if gated else channels
        self.rechannel = nn.Conv1d(input_size, channels, 1, bias=False)
        self.convs = nn.ModuleList(nn.Conv1d(channels, m, kernel_size, dilation=d)
                                   for d in dilations)
        self.mixins = nn.ModuleList(nn.Conv1d(condition_size, m, 1, bias=False)
                                    for _ in dilations)
        self.ones = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in dilations)
        self.head = nn.Conv1d(channels, head_size, 1, bias=head_bias)
        self.act = _ACT[activation]

    @property
    def receptive_field(self) -> int:
        return 1 + (self.cfg["kernel_size"] - 1) * sum(self.cfg["dilations"])

    def conv(self, kind: str, j: int) -> nn.Conv1d:
        """Layer j's convolution of ``kind`` (convs, mixins, ones)."""
        return cast(nn.Conv1d, getattr(self, kind)[j])

    def forward(self, x, cond, head_in):
        z = self.rechannel(x)
        acc = head_in
        c = self.cfg["channels"]
        for conv, mix, one in zip(self.convs, self.mixins, self.ones):
            a = conv(z)
            n = a.shape[-1]
            a = a + mix(cond[..., -n:])
            a = self.act(a[:, :c]) * torch.sigmoid(a[:, c:]) if self.cfg["gated"] \
                else self.act(a)
            acc = a if acc is None else acc[..., -n:] + a
            z = z[..., -n:] + one(a)
        return z, self.head(acc)


class WaveNet(nn.Module):
    """NAM's A1 WaveNet on valid (unpadded) convolutions: ``forward(x [B, T]) -> y [B, T - R +
    1]`` with R the receptive field; the first output needs R input samples."""

    def __init__(self, arrays: list[dict], head_scale: float = 0.02, sample_rate: int = 48000):
        super().__init__()
        self.arrays = nn.ModuleList(_Array(**a) for a in arrays)
        self.head_scale = head_scale
        self.sample_rate = sample_rate

    @property
    def array_list(self) -> list[_Array]:
        return [cast(_Array, a) for a in self.arrays]

    @property
    def receptive_field(self) -> int:
        return 1 + sum(a.receptive_field - 1 for a in self.array_list)

    def forward(self, x, state=None):  # noqa: ARG002 - same call as RecurrentNet
        cond = x[:, None, :]
        z, head = cond, None
        for a in self.array_list:
            z, head = a(z, cond[..., -z.shape[-1]:], head)
        return self.head_scale * head[:, 0, :], None

    def to_spec(self) -> WaveNetSpec:
        arrays = []
        for a in self.array_list:
            c = a.cfg
            n = len(c["dilations"])
            convs, mixins, ones = ([a.conv(k, j) for j in range(n)]
                                   for k in ("convs", "mixins", "ones"))
            arrays.append(LayerArray(
                c["input_size"], c["condition_size"], c["head_size"], c["channels"],
                c["kernel_size"], list(c["dilations"]), c["activation"], c["gated"],
                c["head_bias"], _np(a.rechannel.weight)[:, :, 0],
                [_np(v.weight) for v in convs], [_np(v.bias) for v in convs],
                [_np(v.weight)[:, :, 0] for v in mixins],
                [_np(v.weight)[:, :, 0] for v in ones], [_np(v.bias) for v in ones],
                _np(a.head.weight)[:, :, 0],
                _np(a.head.bias) if a.head.bias is not None else None))
        return WaveNetSpec(arrays, float(self.head_scale), self.sample_rate)

    @classmethod
    def from_spec(cls, spec: WaveNetSpec) -> "WaveNet":
        if any(a.rechannel_b is not None or a.layer_head_w or a.gate_activation != "Sigmoid"
               or a.activation == "Fasttanh" for a in spec.arrays):
            raise ConfigError("only NAM A1 WaveNets can be fine-tuned")
        net = cls([dict(input_size=a.input_size, condition_size=a.condition_size,
                        channels=a.channels, head_size=a.head_size, kernel_size=a.kernel_size,
                        dilations=a.dilations, activation=a.activation, gated=a.gated,
                        head_bias=a.head_b is not None) for a in spec.arrays],
                  spec.head_scale, spec.sample_rate)
        t = lambda v: torch.tensor(np.asarray(v))  # noqa: E731
        with torch.no_grad():
            for mod, a in zip(net.array_list, spec.arrays):
                mod.rechannel.weight.copy_(t(a.rechannel)[..., None])
                for j in range(len(a.dilations)):
                    conv, mix, one = (mod.conv(k, j) for k in ("convs", "mixins", "ones"))
                    conv.weight.copy_(t(a.conv_w[j]))
                    cast(torch.Tensor, conv.bias).copy_(t(a.conv_b[j]))
                    mix.weight.copy_(t(a.mixin[j])[..., None])
                    one.weight.copy_(t(a.w1x1[j])[..., None])
                    cast(torch.Tensor, one.bias).copy_(t(a.b1x1[j]))
                mod.head.weight.copy_(t(a.head_w)[..., None])
                if a.head_b is not None:
                    mod.head.bias.copy_(t(a.head_b))
        return net


def from_spec(spec):
    if isinstance(spec, RecurrentSpec):
        return RecurrentNet.from_spec(spec)
    if isinstance(spec, WaveNetSpec):
        return WaveNet.from_spec(spec)
    raise ConfigError(f"{type(spec).__name__} models cannot be trained here")
