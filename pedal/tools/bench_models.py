"""``pedal bench models``: every engine on the same audio at several block sizes, beside
onnxruntime and PyTorch running the same model in the same run (when they are installed).

The models are the standard sizes of the ecosystem with random weights (speed does not
depend on the values): NAM WaveNet standard / lite / feather / nano, NAM 0.7's A2 at its full
and smallest slim size, LSTM 1x16 / 1x20 / 1x40 (NAM feather, NeuralPi, Proteus), GRU 1x32.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..models import ModelFile
from ..dsp.run import stream_seconds
from ..models.arch.recurrent import RecurrentLayer, RecurrentSpec
from ..models.arch.wavenet import Activation, LayerArray, WaveNetSpec

SR = 48000
_WN = {  # (channels, head) of array 1 and 2; dilations of array 1 and 2 (NAM trainer presets)
    "standard": ((16, 8), (8, 1), [2 ** i for i in range(10)], [2 ** i for i in range(10)]),
    # the standard layout at 24 channels (a "complex" capture; issue 19's table)
    "24ch": ((24, 12), (12, 1), [2 ** i for i in range(10)], [2 ** i for i in range(10)]),
    "lite": ((12, 6), (6, 1), [2 ** i for i in range(7)], [128, 256, 512] + [2 ** i for i in
                                                                          range(10)]),
    "feather": ((8, 4), (4, 1), [2 ** i for i in range(7)], [128, 256, 512] + [2 ** i for i in
                                                                            range(10)]),
    "nano": ((4, 2), (2, 1), [2 ** i for i in range(7)], [128, 256, 512] + [2 ** i for i in
                                                                         range(10)]),
}


# NAM 0.7 "A2" (the shapes of NAM Core's example_models/A2.nam): one array of 23 layers,
# kernel 6 (15 at two layers), LeakyReLU, a 1x1 per layer, a head convolution of kernel 16;
# full size 8 channels, its smallest slim size 3
_A2_DIL = [1, 3, 7, 17, 41, 101, 239] * 2 + [1, 13] + [1, 3, 7, 17, 41, 101, 239]
_A2_K = [6] * 14 + [15, 15] + [6] * 7
_A2 = {"a2-full": 8, "a2-slim": 3}


def random_a2(channels: int, rng) -> WaveNetSpec:
    c, n = channels, len(_A2_DIL)
    r = lambda *s: rng.standard_normal(s) * (0.5 / np.sqrt(s[1] if len(s) > 1 else s[0]))  # noqa: E731
    arr = LayerArray(1, 1, 1, c, 6, list(_A2_DIL), "LeakyReLU", False, True, r(c, 1),
                     [r(c, c, k) for k in _A2_K], [r(c) for _ in range(n)],
                     [r(c, 1) for _ in range(n)], [r(c, c) for _ in range(n)],
                     [r(c) for _ in range(n)], r(1, c, 16), r(1),
                     kernel_sizes=list(_A2_K), acts=[Activation("LeakyReLU", (0.01,))] * n)
    return WaveNetSpec([arr], 0.01)


def random_wavenet(name: str, seed: int = 0) -> WaveNetSpec:
    rng = np.random.default_rng(seed)
    if name in _A2:
        return random_a2(_A2[name], rng)
    (c1, h1), (c2, h2), d1, d2 = _WN[name]
    arrays = []
    for cin, (c, hd), dil, bias in ((1, (c1, h1), d1, False), (c1, (c2, h2), d2, True)):
        r = lambda *s: rng.standard_normal(s) * (0.5 / np.sqrt(s[-1]))  # noqa: E731
        arrays.append(LayerArray(cin, 1, hd, c, 3, dil, "Tanh", False, bias, r(c, cin),
                                 [r(c, c, 3) for _ in dil], [r(c) for _ in dil],
                                 [r(c, 1) for _ in dil], [r(c, c) for _ in dil],
                                 [r(c) for _ in dil], r(hd, c), r(hd) if bias else None))
    return WaveNetSpec(arrays, 0.02)


def random_recurrent(cell: str, hidden: int, seed: int = 0) -> RecurrentSpec:
    rng = np.random.default_rng(seed)
    g = 4 if cell == "lstm" else 3
    s = 1 / np.sqrt(hidden)
    layer = RecurrentLayer(rng.uniform(-s, s, (g * hidden, 1)),
                           rng.uniform(-s, s, (g * hidden, hidden)),
                           rng.uniform(-s, s, g * hidden), rng.uniform(-s, s, g * hidden))
    return RecurrentSpec(cell, [layer], rng.uniform(-s, s, hidden), 0.0, True, 1, SR)


def _models():
    out = [(f"nam-wavenet-{n}", random_wavenet(n)) for n in ("standard", "lite", "feather",
                                                              "nano", "a2-full", "a2-slim")]
    out += [("lstm-1x16", random_recurrent("lstm", 16)), ("lstm-1x20", random_recurrent(
        "lstm", 20)), ("lstm-1x40", random_recurrent("lstm", 40)),
        ("gru-1x32", random_recurrent("gru", 32))]
    return out


def _torch_peer(spec, block):
    import torch

    torch.set_num_threads(1)
    if isinstance(spec, RecurrentSpec):
        cls = torch.nn.LSTM if spec.cell == "lstm" else torch.nn.GRU
        rnn = cls(1, spec.hidden_size, batch_first=True)
        lin = torch.nn.Linear(spec.hidden_size, 1)
        state = [None]

        def run(buf):
            with torch.no_grad():
                out, state[0] = rnn(torch.from_numpy(buf)[None, :, None], state[0])
                buf[:] = lin(out)[0, :, 0].numpy() + buf
        return run
    # WaveNet: stream by recomputing the receptive field for every block, as a plain
    # PyTorch model (NAM's trainer) does when it is fed audio block by block
    convs = []
    for a in spec.arrays:
        rech = torch.nn.Conv1d(a.input_size, a.channels, 1, bias=False)
        layers = [(torch.nn.Conv1d(a.channels, a.channels, a.kernel_size, dilation=d),
                   torch.nn.Conv1d(a.channels, a.channels, 1)) for d in a.dilations]
        convs.append((rech, layers, torch.nn.Conv1d(a.channels, a.head_size, 1)))
    rf = spec.receptive_field
    hist = np.zeros(rf - 1, np.float32)

    def run(buf):
        nonlocal hist
        x = torch.from_numpy(np.concatenate([hist, buf]))[None, None]
        hist = np.concatenate([hist, buf])[-(rf - 1):]
        with torch.no_grad():
            z, head = x, None
            for rech, layers, head_conv in convs:
                z = rech(z)
                acc = None
                for conv, mix in layers:
                    a = torch.tanh(conv(z))
                    acc = a if acc is None else acc[..., -a.shape[-1]:] + a
                    z = z[..., -a.shape[-1]:] + mix(a)
                head = head_conv(acc)
            buf[:] = head[0, 0, -len(buf):].numpy() * spec.head_scale
    return run


def measure_models(seconds: float, blocks, budget_s: float = 3.0) -> list[dict]:
    n = int(seconds * SR)
    x = (0.3 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    rows = []

    def add(model, engine, block, secs, note=""):
        rows.append({"model": model, "engine": engine, "block": block,
                     "samples_per_s": n / secs, "xrt": seconds / secs, "note": note})

    tmp = Path(tempfile.mkdtemp(prefix="pedal-bench-"))
    for name, spec in _models():
        native = ModelFile(f"<{name}>", "bench", spec, SR)
        onnx_model = None
        try:  # the same model as the pedal's ONNX, run by onnxruntime
            from ..models.onnx.write import write_onnx
            from ..models.onnx.load import load_onnx

            write_onnx(spec, tmp / f"{name}.onnx")
            onnx_model = load_onnx(tmp / f"{name}.onnx", prefer="onnxruntime")
        except ImportError:
            pass
        for block in blocks:
            def timed(fn, block=block):
                return stream_seconds(fn, x, block, budget_s=budget_s)

            eng = native.make_engine()
            eng.prepare(block)
            add(name, "pedal-numba", block, timed(eng.process))
            if onnx_model is not None:
                ort = onnx_model.make_engine()
                ort.prepare(block)
                add(name, "onnxruntime", block, timed(ort.process),
                    "stateful block call, I/O bound to buffers")
            if isinstance(spec, WaveNetSpec) and not spec.is_a1:
                continue  # the PyTorch peer builds A1 layers only
            try:
                add(name, "pytorch", block, timed(_torch_peer(spec, block)),
                    "nn.LSTM/GRU with state" if isinstance(spec, RecurrentSpec) else
                    "Conv1d stack, receptive field recomputed per block")
            except ImportError:
                pass
    return rows


def run_models_bench(seconds=10.0, blocks=(32, 64, 128, 256), as_json=False) -> int:
    from .warmup import warm_up

    warm_up()
    rows = measure_models(seconds, blocks)
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"pedal bench models: {seconds:g} s of 48 kHz audio per row (long rows stop after "
          "3 s and are scaled), one thread", file=sys.stderr)
    print(f"{'model':<22}{'engine':<14}{'block':>6}{'samples/s':>13}{'x real time':>13}")
    for r in rows:
        print(f"{r['model']:<22}{r['engine']:<14}{r['block']:>6}{r['samples_per_s']:>13,.0f}"
              f"{r['xrt']:>13.1f}")
    return 0
