"""Models in several sizes, and choosing one: NAM's ``SlimmableContainer`` (a list of
submodels, each chosen for slim values below its ``max_value``) and its slimmable WaveNet (one
network whose layer arrays can be cut to fewer channels, ``slice_channels_uniform``).

``amp.slim`` is a value 0..1 as NAM Core's ``SetSlimmableSize`` takes it, or ``auto``: the
largest size that passes the real-time budget check at the pedal's block size on this machine
(``choose``). The selection rules and the weight slicing are NAM Core's
(``NAM/container.cpp``, ``NAM/wavenet/slimmable.cpp`` at daae2d0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any



from ...errors import ModelError
from .. import budget


@dataclass
class ContainerSpec:
    submodels: list  # [(max_value, spec)], max_value ascending, the last >= 1
    sample_rate: int = 48000
    metadata: dict = field(default_factory=dict)

    @property
    def full(self):
        return self.submodels[-1][1]

    arch = property(lambda self: "slimmable[" + ", ".join(s.arch for _, s in self.submodels)
                    + "]")
    n_weights = property(lambda self: sum(s.n_weights for _, s in self.submodels))
    macs_per_sample = property(lambda self: self.full.macs_per_sample)
    receptive_field = property(lambda self: self.full.receptive_field)
    input_size = property(lambda self: getattr(self.full, "input_size", 1))

    def validate(self, name="<memory>"):
        if not self.submodels:
            raise ModelError(f"{name}: config.submodels: a container needs a submodel")
        values = [v for v, _ in self.submodels]
        if any(b <= a for a, b in zip(values, values[1:])):
            raise ModelError(f"{name}: config.submodels: max_value must rise from one "
                             f"submodel to the next, got {values}")
        if values[-1] < 1.0:
            raise ModelError(f"{name}: config.submodels: the last max_value must be at least "
                             f"1, got {values[-1]:g}")
        for i, (_, s) in enumerate(self.submodels):
            if isinstance(s, ContainerSpec):
                raise ModelError(f"{name}: config.submodels[{i}]: a container in a container")
            s.validate(f"{name}: config.submodels[{i}]")
            if getattr(s, "input_size", 1) != 1:
                raise ModelError(f"{name}: config.submodels[{i}]: knobs are not supported in a "
                                 "container")
        budget.check(name, weights=self.n_weights)


def is_slimmable(spec) -> bool:
    return isinstance(spec, ContainerSpec) or bool(getattr(spec, "slimmable", None))


def sizes(spec) -> list[tuple[float, Any]]:
    """Every size the model offers, smallest first: (the lowest slim value that selects it,
    its description). A model of one size gives [(1.0, spec)]."""
    if isinstance(spec, ContainerSpec):
        out, lo = [], 0.0
        for v, s in spec.submodels:
            out.append((lo, s))
            lo = v
        return out
    if getattr(spec, "slimmable", None):
        return [(v, at(spec, v)) for v in [0.0] + breakpoints(spec)]
    return [(1.0, spec)]


def breakpoints(spec) -> list[float]:
    """The slim values where the size changes (NAM Core's GetSlimmableSizeBreakpoints)."""
    if isinstance(spec, ContainerSpec):
        return [v for v, _ in spec.submodels[:-1]]
    points: set[float] = set()
    for allowed in spec.slimmable or []:
        points.update(i / len(allowed) for i in range(1, len(allowed)))
    return sorted(points)


def at(spec, value: float):
    """The description that plays at slim ``value`` (0..1)."""
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise ModelError(f"amp.slim: must be 0..1 or auto, got {value!r}")
    if isinstance(spec, ContainerSpec):
        for v, s in spec.submodels:
            if value < v:
                return s
        return spec.submodels[-1][1]
    if not getattr(spec, "slimmable", None):
        return spec
    channels = [a.channels if not allowed else
                allowed[min(int(math.floor(value * len(allowed))), len(allowed) - 1)]
                for a, allowed in zip(spec.arrays, spec.slimmable)]
    if channels == [a.channels for a in spec.arrays]:
        return replace(spec, slimmable=None)  # the full size, as one concrete description
    return _sliced(spec, channels)


def describe(spec, value: float | None) -> str:
    """Which size plays, for ``pedal info``/``status``."""
    if not is_slimmable(spec):
        return ""
    s = sizes(spec)
    chosen = at(spec, 1.0 if value is None else value)
    k = next(i for i, (_, d) in enumerate(s) if d.arch == chosen.arch)
    return f"size {k + 1} of {len(s)} ({chosen.arch}, {chosen.macs_per_sample:,} MAC/sample)"


def check_slimmable(spec, name: str) -> None:
    if len(spec.slimmable) != len(spec.arrays):
        raise ModelError(f"{name}: slimmable: one entry per layer array")
    for i, (a, allowed) in enumerate(zip(spec.arrays, spec.slimmable)):
        if not allowed:
            continue
        where = f"{name}: config.layers[{i}].slimmable"
        if any(b <= c for c, b in zip(allowed, allowed[1:])) or allowed[-1] != a.channels or \
                allowed[0] < 1:
            raise ModelError(f"{where}: allowed_channels must rise to the array's "
                             f"{a.channels} channels, got {allowed}")
        if a.head_kernel != 1:
            raise ModelError(f"{where}: slimming a head with a kernel is not supported (nor "
                             "by NAM Core)")
        if a.layer_head_w or a.rechannel_b is not None:
            raise ModelError(f"{where}: not a NAM layer array")
    if spec.post_head is not None:
        raise ModelError(f"{name}: a slimmable WaveNet with a post-stack head is not supported "
                         "(nor by NAM Core)")


def _sliced(spec, channels: list[int]):
    """The WaveNet cut to ``channels`` per array: the first rows and columns of every weight,
    as NAM Core's extract_slimmed_weights takes them (grouped convolutions refused there)."""
    arrays = []
    n = len(spec.arrays)
    for i, (a, ch) in enumerate(zip(spec.arrays, channels)):
        bn = max(1, a.b * ch // a.channels) if a.layer1x1 else ch
        cin = a.input_size if i == 0 else channels[i - 1]
        hd = a.head_size if i == n - 1 else channels[i + 1]
        h_in = a.head_inputs if a.head1x1_w else bn
        conv_w, conv_b, mixin, w1, b1, films = [], [], [], [], [], []
        for j in range(a.n_layers):
            m = 2 * bn if a.gate(j) != "none" else bn
            conv_w.append(a.conv_w[j][:m, :ch].copy())
            conv_b.append(a.conv_b[j][:m].copy())
            mixin.append(a.mixin[j][:m].copy())
            if a.layer1x1:
                w1.append(a.w1x1[j][:ch, :bn].copy())
                b1.append(a.b1x1[j][:ch].copy())
            dims = {"conv_pre": ch, "conv_post": m, "input_mixin_post": m, "activation_pre": m,
                    "activation_post": bn, "layer1x1_post": ch}
            lf = {}
            for site, f in (a.films[j].items() if a.films else ()):
                if site in dims:
                    rows = (2 if f.shift else 1) * dims[site]
                    lf[site] = type(f)(f.w[:rows].copy(), f.b[:rows].copy(), f.shift)
                else:
                    lf[site] = f
            films.append(lf)
        head_b = a.head_b[:hd].copy() if a.head_b is not None else None
        arrays.append(replace(
            a, input_size=cin, head_size=hd, channels=ch, rechannel=a.rechannel[:ch, :cin].copy(),
            conv_w=conv_w, conv_b=conv_b, mixin=mixin, w1x1=w1, b1x1=b1,
            head_w=a.head_w[:hd, :h_in].copy(), head_b=head_b,
            bottleneck=None if bn == ch else bn,
            head1x1_w=[w[:, :bn].copy() for w in a.head1x1_w] if a.head1x1_w else None,
            films=films if a.films else None,
            acts=[_slim_act(x, bn) for x in a.acts] if a.acts else None,
            gate_acts=[_slim_act(x, bn) for x in a.gate_acts] if a.gate_acts else None))
    return replace(spec, arrays=arrays, slimmable=None)


def _slim_act(act, width: int):
    if act.name == "PReLU" and len(act.params) > 1:
        return replace(act, params=tuple(act.params[:width]))
    return act


def choose(spec, block: int, fits) -> tuple[float, str]:
    """``auto``: the slim value of the largest size for which ``fits(value)`` (the real-time
    budget check at ``block`` on this machine: (ok, "what it needs")) holds, and why. Raises
    ModelError with the figures when even the smallest size does not fit."""
    tried = []
    options = sizes(spec)
    for value, sub in reversed(options):
        ok, figure = fits(value)
        tried.append(f"{sub.arch} needs {figure}")
        if ok:
            why = (f"auto: the largest of {len(options)} sizes within the budget at block "
                   f"{block} ({figure})")
            return value, why + (f"; too slow: {'; '.join(tried[:-1])}" if len(tried) > 1
                                 else "")
    raise ModelError(f"even its smallest size is too slow for this machine at block {block}: "
                     f"{'; '.join(tried)}")


__all__ = ["ContainerSpec", "at", "breakpoints", "choose", "describe", "is_slimmable", "sizes"]

