"""``pedal bench models --peers DIR``: the pedal's engines beside the C++ players, side by
side, on the same .nam files and the same input, in one run on one core.

DIR holds the peers' timing tools, built from their public sources outside the repository
(``scripts/peers/build.sh``; never committed): ``namref_generic`` / ``namref_native`` (NAM
Core with upstream's flags, without and with -march=native) and, when present,
``natime_generic`` / ``natime_native`` (NeuralAudio). Each prints one JSON line with the x real
time of each timed pass. The models are the ecosystem's standard shapes with random weights,
written as .nam (A1 as 0.5, A2 as 0.7) so every player reads the same file; the input is the
bundled demo DI. Rounds interleave the engines, their order rotated each round, every process
pinned to one core; the figure is the best pass (median beside it), and the ratio is the
pedal's best over the fastest peer's best in the same run. Only such ratios mean anything:
absolute speed moves 2-3x between machines of one kind.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from ..dsp.run import run_blocks
from ..models import load_model
from ..models.formats.nam import write_nam
from .bench_models import SR, random_wavenet

# NAM Core plays with its fast tanh on, as the plugin does; so do the pedal's fast-tanh rows
PEERS = {"Core generic": ("namref_generic", ["--fast-tanh"]),
         "Core native": ("namref_native", ["--fast-tanh"]),
         "NeuralAudio generic": ("natime_generic", []),
         "NeuralAudio native": ("natime_native", [])}
# the rows of issue 19's table: NAM's WaveNet presets and a 24-channel one, NAM 0.7's A2 at its
# full and smallest size, and the LSTMs people play (NAM, NeuralPi/Proteus, AIDA-X sizes)
MODELS = ("standard", "lite", "feather", "nano", "24ch", "a2-full", "a2-slim", "lstm-1x16",
          "lstm-1x20", "lstm-1x40", "lstm-2x8")


def _lstm_nam_spec(hidden: int, layers: int = 1, seed: int = 0):
    """A NAM-style LSTM (no input skip) with random weights."""
    from ..models.arch.recurrent import RecurrentLayer, RecurrentSpec

    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(hidden)
    stack = [RecurrentLayer(rng.uniform(-s, s, (4 * hidden, 1 if i == 0 else hidden)),
                            rng.uniform(-s, s, (4 * hidden, hidden)),
                            rng.uniform(-s, s, 4 * hidden), np.zeros(4 * hidden))
             for i in range(layers)]
    return RecurrentSpec("lstm", stack, rng.uniform(-s, s, hidden), 0.0, False, 1, SR)


def _spec(name: str):
    if name.startswith("lstm-"):
        layers, hidden = (int(v) for v in name[5:].split("x"))
        return _lstm_nam_spec(hidden, layers)
    return random_wavenet(name)


def write_models(folder: Path, names=MODELS) -> dict[str, Path]:
    out = {}
    for name in names:
        spec = _spec(name)
        path = folder / f"{name}.nam"
        write_nam(spec, path, {"loudness": -18.0})
        out[name] = path
    return out


def _input(folder: Path, seconds: float) -> Path:
    from ..audio.files import read_audio

    x, sr = read_audio(Path(__file__).resolve().parent.parent / "assets" / "demo_di.flac")
    x = np.asarray(x, np.float32)
    if x.ndim > 1:
        x = x.mean(axis=1)
    n = int(seconds * SR)
    x = np.resize(x, n).astype(np.float32)  # repeated to length: the same work every pass
    path = folder / "input.f32"
    x.tofile(path)
    return path


def _pedal_passes(path: Path, block: int, x: np.ndarray, reps: int, fast: bool) -> list[float]:
    from ..dsp.run import stream_seconds

    eng = load_model(path).make_engine(fast_tanh=fast)
    eng.prepare(block)
    eng.reset()
    return [len(x) / SR / stream_seconds(eng.process, x, block) for _ in range(reps)]


def _peer_passes(tool: Path, args: list[str], path: Path, block: int, inp: Path, reps: int,
                 core: int | None) -> list[float] | str:
    cmd = [str(tool), str(path), str(block), str(inp), "-", *args, "--time", str(reps)]
    if core is not None and shutil.which("taskset"):
        cmd = ["taskset", "-c", str(core)] + cmd
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"did not run: {exc}"
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if out.returncode or not lines:
        said = (out.stdout + out.stderr).strip().splitlines()
        return said[-1] if said else f"exit code {out.returncode}"
    return [float(v) for v in json.loads(lines[-1])["reps"]]


def _agrees(tool: Path, args: list[str], path: Path, block: int, inp: Path, want: np.ndarray,
            tmp: Path) -> str | None:
    """None when the peer's output is the pedal's within MAX_DIFFERENCE (as RMS of the
    difference over RMS of the output), else why not: a peer that computes something else
    is not timed (NeuralAudio once played NAM Core's slimmable example on a path that ignored
    its activation)."""
    out = tmp / "peer.f32"
    try:
        r = subprocess.run([str(tool), str(path), str(block), str(inp), str(out), *args],
                           capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"did not run: {exc}"
    if r.returncode or not out.exists():
        return (r.stdout + r.stderr).strip()[-200:] or f"exit code {r.returncode}"
    y = np.fromfile(out, np.float32)[:len(want)]
    if len(y) < len(want):
        return f"wrote {len(y)} samples of {len(want)}"
    diff = float(np.sqrt(np.mean((y - want) ** 2)) / max(np.sqrt(np.mean(want ** 2)), 1e-9))
    if diff > MAX_DIFFERENCE:
        return f"its output differs from the pedal's by {100 * diff:.1f} % RMS: not timed"
    return None


# fast tanh against fast tanh; the C++ LSTMs' fast sigmoid/tanh moved the RMS by up to 1.6 %
MAX_DIFFERENCE = 0.03


def find_peers(folder) -> dict[str, tuple[Path, list[str]]]:
    folder = Path(folder).expanduser()
    return {label: (folder / exe, args) for label, (exe, args) in PEERS.items()
            if os.access(folder / exe, os.X_OK)}


def measure(peers_dir, blocks=(32, 64, 256), rounds: int = 5, reps: int = 5,
            seconds: float = 10.0, names=MODELS, log=sys.stderr) -> list[dict]:
    peers = find_peers(peers_dir) if peers_dir else {}
    core = None
    cpus: set[int] = set()
    if hasattr(os, "sched_getaffinity"):
        cpus = os.sched_getaffinity(0)
        core = max(cpus)
        os.sched_setaffinity(0, {core})  # the pedal's passes on the peers' core
    tmp = Path(tempfile.mkdtemp(prefix="pedal-peers-"))
    try:
        models = write_models(tmp, names)
        inp = _input(tmp, seconds)
        x = np.fromfile(inp, np.float32)
        engines = ["pedal", "pedal fast-tanh"] + list(peers)
        res: dict = {}
        notes: dict = {}
        for name, path in models.items():  # each peer must compute what the pedal computes
            eng = load_model(path).make_engine(fast_tanh=True)
            eng.prepare(64)
            want = run_blocks(eng, x, 64)
            for label, (tool, args) in peers.items():
                why = _agrees(tool, args, path, 64, inp, want, tmp)
                if why:
                    for block in blocks:
                        notes[(name, block, label)] = why
        for r in range(rounds):
            print(f"round {r + 1} of {rounds}", file=log)
            order = engines[r % len(engines):] + engines[:r % len(engines)]
            for block in blocks:
                for name, path in models.items():
                    for eng in order:
                        if (name, block, eng) in notes:
                            continue
                        got: list[float] | str
                        if eng.startswith("pedal"):
                            got = _pedal_passes(path, block, x, reps, eng.endswith("tanh"))
                        else:
                            tool, args = peers[eng]
                            got = _peer_passes(tool, args, path, block, inp, reps, core)
                        if isinstance(got, str):
                            notes[(name, block, eng)] = got
                            continue
                        res.setdefault((name, block, eng), []).extend(got)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if cpus:
            os.sched_setaffinity(0, cpus)
    rows = []
    for (name, block, eng), v in sorted(res.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        rows.append({"model": name, "block": block, "engine": eng, "best": max(v),
                     "median": statistics.median(v), "passes": len(v)})
    for (name, block, eng), why in notes.items():
        rows.append({"model": name, "block": block, "engine": eng, "error": why})
    return rows


def table(rows: list[dict]) -> str:
    """The side-by-side table: best (median) x real time, and the pedal's ratios to the
    fastest peer of the same run."""
    by: dict = {}
    for r in rows:
        if "best" in r:
            by.setdefault((r["block"], r["model"]), {})[r["engine"]] = r
    engines = sorted({e for d in by.values() for e in d},
                     key=lambda e: (not e.startswith("pedal"), e))
    head = "| model | block | " + " | ".join(engines) + \
        " | pedal / fastest peer | fast-tanh / fastest peer |"
    lines = [head, "|" + "---|" * (len(engines) + 4)]
    for (block, model), d in sorted(by.items()):
        cells = [f"{d[e]['best']:.1f} ({d[e]['median']:.1f})" if e in d else "-"
                 for e in engines]
        peers = [d[e]["best"] for e in d if not e.startswith("pedal")]
        if peers:
            fastest = max(peers)
            ratio = f"{d['pedal']['best'] / fastest:.2f}"
            ratio_f = f"{d['pedal fast-tanh']['best'] / fastest:.2f}"
        else:
            ratio = ratio_f = "no peer"
        lines.append(f"| {model} | {block} | " + " | ".join(cells) + f" | {ratio} | {ratio_f} |")
    return "\n".join(lines)


def run_peers_bench(peers_dir, blocks=(32, 64, 256), rounds=5, seconds=10.0,
                    as_json=False, names=None) -> int:
    from .warmup import warm_up

    names = tuple(names or MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        print(f"pedal bench models: no model {', '.join(unknown)} (the rows: "
              f"{', '.join(MODELS)})", file=sys.stderr)
        return 2

    warm_up()
    peers = find_peers(peers_dir)
    if not peers:
        print(f"pedal bench models: no peer tools in {peers_dir} (build them with "
              "scripts/peers/build.sh); timing the pedal alone", file=sys.stderr)
    rows = measure(peers_dir, blocks, rounds=rounds, seconds=seconds, names=names)
    if as_json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{seconds:g} s of the demo DI per pass, {rounds} interleaved rounds x 5 passes, one "
          "core; x real time, best (median)")
    print(table(rows))
    for r in rows:
        if "error" in r:
            print(f"note: {r['engine']} on {r['model']} at block {r['block']}: {r['error']}")
    return 0
