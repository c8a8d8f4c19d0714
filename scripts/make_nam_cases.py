#!/usr/bin/env python3
"""Small synthetic NAM 0.6/0.7 files that use what the shared captures do not (every gating
mode and named activation, bottleneck, grouped and depthwise convolutions, head 1x1, FiLM at
every site, head kernels and dilation, a post-stack head, condition networks, the slimmable
WaveNet, containers of LSTM and WaveNet submodels, Linear), and NAM Core's own output for
each, the reference tests/test_nam_a2.py compares the pedal against.

    python scripts/make_nam_cases.py                      # the .nam files only
    python scripts/make_nam_cases.py --namref /tmp/perf/ref/namref   # and Core's outputs

``namref`` is scripts/peers/namref.cpp built against NeuralAmpModelerCore daae2d0 (see
scripts/peers/README.md; never committed). The weights are random, scaled to keep every
layer in its working range; the counts follow NAM Core's order, and Core refuses a file whose
count is off, so a wrong layout here cannot pass silently.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "nam_cases"
N = 16384  # samples of input: eight rewinds of the engine's buffers at block 64
SLIMS = {"slimmable2": [0.0, 0.4, 1.0], "container": [0.2, 0.6, 1.0]}
FILMS = ("conv_pre", "conv_post", "input_mixin_pre", "input_mixin_post", "activation_pre",
         "activation_post", "layer1x1_post", "head1x1_post")


def case_input(n: int = N) -> np.ndarray:
    """The input every case plays: a decaying chord with a swell, up to 0.8 (float32)."""
    t = np.arange(n) / 48000.0
    env = np.minimum(t / 0.05, 1.0) * np.exp(-t * 2.0) + 0.3 * np.sin(2 * np.pi * 1.5 * t) ** 2
    x = sum(np.sin(2 * np.pi * f * t + p) for f, p in ((82.4, 0), (123.5, 1), (196.0, 2)))
    return (0.27 * env * x).astype(np.float32)


def _layer_count(lc: dict, cond: int) -> int:
    """Weights of one layer array in NAM Core's order (rechannel, layers, head)."""
    c, cin, cc = lc["channels"], lc["input_size"], lc["condition_size"]
    b = lc.get("bottleneck", c)
    n = len(lc["dilations"])
    ks = lc.get("kernel_sizes") or [lc.get("kernel_size")] * n
    gm = lc.get("gating_mode", "gated" if lc.get("gated") else "none")
    modes = gm if isinstance(gm, list) else [gm] * n
    g_in, g_mix = lc.get("groups_input", 1), lc.get("groups_input_mixin", 1)
    l1 = lc.get("layer1x1", {"active": True, "groups": 1})
    h1 = lc.get("head1x1", {"active": False, "out_channels": c, "groups": 1})
    total = c * cin
    for j in range(n):
        m = 2 * b if modes[j] != "none" else b
        total += m * (c // g_in) * ks[j] + m + m * (cc // g_mix)
        if l1["active"]:
            total += c * (b // l1["groups"]) + c
        if h1["active"]:
            total += h1["out_channels"] * (b // h1["groups"]) + h1["out_channels"]
        dims = {"conv_pre": c, "conv_post": m, "input_mixin_pre": cc, "input_mixin_post": m,
                "activation_pre": m, "activation_post": b, "layer1x1_post": c,
                "head1x1_post": h1["out_channels"]}
        for site in FILMS:
            f = lc.get(f"{site}_film")
            if f and f.get("active", True):
                rows = (2 if f.get("shift", True) else 1) * dims[site]
                total += rows * (cc // f.get("groups", 1)) + rows
    head = lc.get("head")
    if head:
        hd, hk, hb = head["out_channels"], head["kernel_size"], head["bias"]
    else:
        hd, hk, hb = lc["head_size"], 1, lc["head_bias"]
    a = h1["out_channels"] if h1["active"] else b
    return total + hd * a * hk + (hd if hb else 0)


def wavenet(layers: list, *, head=None, condition=None, version="0.7.0", scale=0.3, seed=0,
            head_scale=0.5) -> dict:
    count = sum(_layer_count(lc, 1) for lc in layers)
    if head:
        sizes = [layers[-1]["head"]["out_channels"] if "head" in layers[-1]
                 else layers[-1]["head_size"]] + [head["channels"]] * \
            (len(head["kernel_sizes"]) - 1) + [head["out_channels"]]
        count += sum(o * i * k + o for i, o, k in zip(sizes, sizes[1:], head["kernel_sizes"]))
    rng = np.random.default_rng(seed)
    w = (scale * rng.standard_normal(count + 1)).tolist()
    w[-1] = head_scale
    cfg: dict = {"layers": layers, "head": head, "head_scale": head_scale}
    if condition is not None:
        cfg["condition_dsp"] = condition
    return {"version": version, "architecture": "WaveNet", "config": cfg, "weights": w,
            "sample_rate": 48000, "metadata": {"loudness": -20.0}}


def lstm(hidden: int, layers: int = 1, seed: int = 0) -> dict:
    count = 0
    width = 1
    for _ in range(layers):
        count += 4 * hidden * (width + hidden) + 4 * hidden + 2 * hidden
        width = hidden
    count += hidden + 1
    rng = np.random.default_rng(seed)
    return {"version": "0.7.0", "architecture": "LSTM",
            "config": {"input_size": 1, "hidden_size": hidden, "num_layers": layers},
            "weights": (0.4 * rng.standard_normal(count)).tolist(), "sample_rate": 48000,
            "metadata": {"loudness": -15.0}}


def _arr(**kw) -> dict:
    base = {"input_size": 1, "condition_size": 1, "channels": 4, "kernel_size": 3,
            "dilations": [1, 2, 4], "activation": "Tanh", "gated": False,
            "head": {"out_channels": 1, "kernel_size": 1, "bias": True}}
    base.update(kw)
    return {k: v for k, v in base.items() if v is not None}


def cases() -> dict:
    acts = [{"type": "LeakyReLU", "negative_slope": 0.2}, "SiLU", "Hardswish",
            {"type": "LeakyHardtanh", "min_val": -0.5, "max_val": 0.7, "min_slope": 0.1,
             "max_slope": 0.05}, {"type": "PReLU", "negative_slopes": [0.1, 0.2, 0.3, 0.4]},
            "Softsign", "Hardtanh", "Sigmoid"]
    out = {
        # every gating mode and named activation, per layer
        "gating": wavenet([_arr(dilations=[1, 2, 4, 8, 1, 3, 5, 7], kernel_sizes=[3, 2, 4, 3, 5,
                                                                                  1, 2, 3],
                                kernel_size=None, activation=acts,
                                gating_mode=["none", "gated", "blended", "gated", "blended",
                                             "none", "gated", "blended"],
                                secondary_activation=[None, "Sigmoid", "Tanh", "Softsign",
                                                      "Sigmoid", None, "Hardtanh", "Sigmoid"],
                                bottleneck=4)], seed=1),
        # bottleneck, grouped and depthwise convolutions, head 1x1, no layer 1x1 in array 2
        "bottleneck_groups": wavenet([
            _arr(channels=6, bottleneck=4, groups_input=2, groups_input_mixin=1,
                 layer1x1={"active": True, "groups": 2},
                 head1x1={"active": True, "out_channels": 3, "groups": 1},
                 head={"out_channels": 4, "kernel_size": 1, "bias": False}),
            _arr(input_size=6, channels=4, bottleneck=4, groups_input=4,
                 layer1x1={"active": False, "groups": 1}, gating_mode="gated",
                 secondary_activation="Sigmoid",
                 head={"out_channels": 1, "kernel_size": 1, "bias": True})], seed=2),
        # a head convolution with a kernel and a dilation, between two arrays
        "head_kernel": wavenet([
            _arr(channels=5, head={"out_channels": 3, "kernel_size": 4, "bias": True,
                                   "head_dilation": 3}),
            _arr(input_size=5, channels=3, head={"out_channels": 1, "kernel_size": 6,
                                                 "bias": True})], seed=3),
        # a post-stack head
        "post_head": wavenet([_arr(head={"out_channels": 3, "kernel_size": 1, "bias": True})],
                             head={"channels": 4, "out_channels": 1, "kernel_sizes": [3, 2],
                                   "activation": "Tanh"}, seed=4),
    }
    # FiLM at every site (shift on and off), conditioned by a 2-channel condition network
    cond = wavenet([_arr(channels=3, head={"out_channels": 2, "kernel_size": 1, "bias": True})],
                   version="0.6.0", seed=5)
    film = {f"{s}_film": {"active": True, "shift": i % 2 == 0, "groups": 1}
            for i, s in enumerate(FILMS)}
    out["film"] = wavenet([_arr(condition_size=2, channels=4, bottleneck=4,
                                gating_mode=["blended", "gated", "none"],
                                secondary_activation=["Sigmoid", "Sigmoid", None],
                                head1x1={"active": True, "out_channels": 4, "groups": 1},
                                **film)], condition=cond, seed=6, scale=0.25)
    out["film_groups"] = wavenet([_arr(condition_size=2, channels=4,
                                       conv_post_film={"active": True, "shift": True,
                                                       "groups": 2},
                                       activation_post_film={"groups": 2})],
                                 condition=cond, seed=7)
    # the slimmable WaveNet: two arrays, a bottleneck and a head 1x1
    slim = {"method": "slice_channels_uniform", "kwargs": {"allowed_channels": [2, 4, 6]}}
    out["slimmable2"] = wavenet([
        _arr(channels=6, bottleneck=6, slimmable=slim,
             head={"out_channels": 4, "kernel_size": 1, "bias": True}),
        _arr(input_size=6, channels=4, bottleneck=4,
             slimmable={"method": "slice_channels_uniform",
                        "kwargs": {"allowed_channels": [2, 4]}},
             head={"out_channels": 1, "kernel_size": 1, "bias": False})], seed=8)
    out["container"] = {
        "version": "0.7.0", "architecture": "SlimmableContainer", "weights": [],
        "sample_rate": 48000,
        "config": {"submodels": [{"max_value": 0.5, "model": lstm(6, seed=9)},
                                 {"max_value": 0.8, "model": lstm(8, 2, seed=10)},
                                 {"max_value": 1.0, "model": out["head_kernel"]}]}}
    out["linear"] = {"version": "0.5.4", "architecture": "Linear",
                     "config": {"receptive_field": 5, "bias": True},
                     "weights": [0.9, -0.4, 0.25, 0.1, -0.05, 0.01], "sample_rate": 48000}
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--namref", help="NAM Core's reference renderer, to write the outputs")
    a = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    x = case_input()
    with tempfile.TemporaryDirectory() as tmp:
        xin = Path(tmp) / "in.f32"
        x.astype("<f4").tofile(xin)
        for name, doc in cases().items():
            path = OUT / f"{name}.nam"
            path.write_text(json.dumps(doc, separators=(",", ":")))
            if not a.namref:
                continue
            outs = {}
            for slim in SLIMS.get(name, [None]):
                y = Path(tmp) / "out.f32"
                cmd = [a.namref, str(path), "64", str(xin), str(y)]
                if slim is not None:
                    cmd += ["--slim", str(slim)]
                r = subprocess.run(cmd, capture_output=True, text=True)
                if r.returncode != 0 or not r.stdout.startswith("ok"):
                    raise SystemExit(f"{name}: NAM Core: {r.stdout}{r.stderr}")
                key = "output" if slim is None else f"slim_{slim:g}"
                outs[key] = np.fromfile(y, "<f4")
            np.savez_compressed(OUT / f"{name}.npz", **outs)
            print(name, {k: f"rms {np.sqrt(np.mean(v ** 2)):.3f}" for k, v in outs.items()})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
