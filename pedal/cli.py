"""The ``pedal`` command. Each subcommand imports what it needs when it runs."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from . import __version__
from .errors import ConfigError, ModelError, PedalError


def _progress_bar(stream):
    start = time.monotonic()

    def show(frac):
        width = 30
        done = int(frac * width)
        stream.write(f"\r[{'#' * done}{'.' * (width - done)}] {frac * 100:5.1f} % "
                     f"{time.monotonic() - start:5.1f} s")
        if frac >= 1.0:
            stream.write("\n")
        stream.flush()

    return show


def _knobs(text: str):
    try:
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be numbers separated by commas, got {text!r}")


def _slim(text: str):
    if text == "auto":
        return text
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be 0..1 or auto, got {text!r}") from None


def cmd_render(args) -> int:
    from . import paths
    from .preset import load_preset

    if args.list:
        print("bundled models:")
        for p in paths.bundled(paths.MODELS_DIR, paths.MODEL_SUFFIXES):
            print(f"  {p.relative_to(paths.ROOT)}")
        print("bundled cabinet IRs:")
        for p in paths.bundled(paths.IR_DIR, paths.IR_SUFFIXES):
            print(f"  {p.relative_to(paths.ROOT)}")
        print("presets:")
        for p in paths.bundled(paths.PRESETS_DIR, (".yaml", ".yml")):
            print(f"  {p.relative_to(paths.ROOT)}")
        print(f"demo DI clip:\n  {paths.DEMO_DI.relative_to(paths.ROOT)}")
        return 0
    if not args.input or not args.output:
        raise ConfigError("render needs IN and OUT (or --list)")
    if not 1 <= args.block <= 8192:
        raise ConfigError(f"--block: must be 1..8192 samples, got {args.block}")
    from .tools.render import render_file

    preset = load_preset(args.preset, model=args.model, ir=args.ir, eq=args.eq,
                         knobs=args.knobs, level_db=args.level_db, raw=args.raw,
                         slim=args.slim)
    if preset.model is not None and preset.model.slimmable:  # amp.slim: auto
        preset.model = preset.model.at_slim(None, "amp.slim auto: a render is not real "
                                            "time, so the largest size plays (--slim V for "
                                            "another)")
        preset.notices.append(f"{preset.model.path}: {preset.model.slim_note}")
    elif preset.model is not None and preset.model.slim_note:
        preset.notices.append(f"{preset.model.path}: {preset.model.slim_note}")
    import soundfile as sf

    try:
        long_file = sf.info(args.input).duration > 20
    except Exception:
        long_file = False
    progress = _progress_bar(sys.stderr) if (long_file and sys.stderr.isatty()) else None
    res = render_file(args.input, args.output, preset, block=args.block, progress=progress,
                      plot=args.plot, raw=args.raw)
    for line in res.notices:
        print(f"note: {line}", file=sys.stderr)
    print(f"chain: {res.chain}")
    print(f"rendered {res.seconds:.2f} s at {res.sample_rate} Hz in blocks of {res.block}: "
          f"{res.process_seconds:.2f} s, {res.xrt:.1f}x real time, peak "
          f"{20 * __import__('math').log10(max(res.peak, 1e-9)):+.1f} dBFS")
    print(f"wrote {res.output_path}")
    return 0


def cmd_bench(args) -> int:
    if args.what in ("models", "chain"):  # the kernels the daemon runs (PEDAL_KERNELS=jit: JIT)
        from . import kernels

        print(kernels.choose(), file=sys.stderr)
    if args.what == "models" and args.peers:
        from .tools.bench_peers import run_peers_bench

        return run_peers_bench(args.peers, blocks=args.blocks, rounds=args.rounds,
                               seconds=args.seconds, as_json=args.json, names=args.models)
    if args.what == "models":
        from .tools.bench_models import run_models_bench

        return run_models_bench(seconds=args.seconds, blocks=args.blocks, as_json=args.json)
    if args.what == "tuner":
        from .tuner.bench import run_tuner_bench

        di = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "di"
        return run_tuner_bench(as_json=args.json, di_dir=args.di or di)
    if args.what == "match":
        from .match.bench import run_match_bench

        return run_match_bench(as_json=args.json, cases=args.rounds, minutes=args.minutes,
                               capture=args.capture)
    from .tools.bench import run_chain_bench

    return run_chain_bench(seconds=args.seconds, blocks=args.blocks, as_json=args.json,
                           preset_path=args.preset)


def cmd_info(args) -> int:
    import json

    from .models import load_model
    from .models.info import describe, readable

    model = load_model(args.model)
    info = describe(model, block=args.block, measure=not args.no_measure)
    if args.json:
        print(json.dumps(info))
        return 0
    shown = dict(info)
    if not shown.pop("sample_rate_stated", True):
        shown["sample_rate"] = f"{info['sample_rate']} (not stated, assumed)"
    if "loudness_measured" in shown:
        shown["loudness"] = f"not stated (measured {shown.pop('loudness_measured')} dB on the " \
                            "standard input)"
    for k, v in shown.items():
        if isinstance(v, list):
            print(f"{k + ':':<18}" + f"\n{'':<18}".join(str(x) for x in v))
        elif v is not None:
            print(f"{k + ':':<18}{readable(v)}")
    for line in model.notices:
        print(f"note: {line}", file=sys.stderr)
    return 0


def cmd_convert(args) -> int:
    from .models import load_model
    from .models.onnx.write import write_onnx
    from .models.onnx.load import load_onnx

    model = load_model(args.input)
    if model.spec is None:
        raise ConfigError(f"{args.input}: an ONNX graph the pedal does not recognise "
                          f"({model.why_not_numba}); it plays as it is, there is nothing to "
                          "convert")
    if model.slimmable:  # one size goes into the ONNX file: --slim, or the largest
        from .models.arch.slim import sizes

        if args.slim == "auto":
            from .models.info import pick_slim

            model, _ = pick_slim(model, 64)
            print(f"{args.input}: {model.slim_note} (on this machine: on a Pi choose with "
                  "--slim V)")
        else:
            n = len(sizes(model.spec))
            model = model.at_slim(args.slim)
            print(f"{args.input}: {model.slim_note}" + ("" if args.slim is not None else
                  f" (the largest of {n} sizes; --slim V writes another)"))
    elif args.slim is not None:
        raise ConfigError(f"--slim: {args.input} holds one size only")
    meta = {"source": str(args.input), "source_family": getattr(model, "family", "onnx")}
    for k, v in (model.metadata or {}).items():
        if isinstance(v, (str, int, float)):  # levels keep their names; the rest is history
            keep = k in ("loudness", "gain", "input_level_dbu", "output_level_dbu")
            meta[k if keep else f"source.{k}"] = v
    if str(args.output).lower().endswith(".nam"):  # NAM's own format, for NAM's players too
        from .models.formats.nam import write_nam

        if args.quantize:
            raise ConfigError("--quantize: a .nam file holds float weights only")
        try:
            write_nam(model.spec, args.output, metadata=meta)
        except ModelError as exc:
            raise ConfigError(f"{args.input}: {str(exc).split(': ', 1)[-1]}") from None
        print(f"wrote {args.output}: {load_model(args.output).describe()}")
        return 0
    try:
        write_onnx(model.spec, args.output, quantize=args.quantize, metadata=meta)
    except ImportError:
        raise ConfigError("convert needs the onnx package: pip install -e '.[tools]'") from None
    except ValueError as exc:
        raise ConfigError(f"{args.input}: {exc}") from None
    out = load_onnx(args.output)
    if args.quantize == "int8":
        from .models.quantize import INT8_MAX_ESR, int8_error

        knobs = [0.5] * model.knob_count
        err = int8_error(model, out, knobs)
        verdict = "kept" if err <= INT8_MAX_ESR or args.force else "over the limit"
        print(f"int8 weights: ESR {err:.4f} against the float weights on the standard input "
              f"(limit {INT8_MAX_ESR:g}): {verdict}")
        if verdict != "kept":
            write_onnx(model.spec, args.output, quantize=None, metadata=meta)
            out = load_onnx(args.output)
            print("wrote float32 weights instead (--force keeps int8 ones): a model this "
                  "sensitive to rounding loses its tone in int8")
    print(f"wrote {args.output}: {out.describe()}")
    return 0


def cmd_tuner(args) -> int:
    from .tuner import cli as tuner_cli
    from .tuner.tuning import check_a4, parse_tuning

    try:
        a4 = check_a4(args.a4)
    except ValueError as exc:
        raise ConfigError(f"--a4: {exc}") from None
    if args.tuning:
        try:
            parse_tuning(args.tuning)
        except ValueError as exc:
            raise ConfigError(f"--tuning: {exc}") from None
    if args.file and not args.live:
        return tuner_cli.track_file(args.file, a4, args.tuning, args.json)
    if args.file:
        sr, blocks = tuner_cli.file_blocks(args.file)
    else:
        sr = args.rate
        blocks = tuner_cli.pyaudio_blocks(args.device, sr)
    return tuner_cli.live(blocks, sr, a4, args.tuning)


def cmd_warmup(args) -> int:
    from .tools.warmup import warm_up

    t = warm_up()
    print(f"numba kernels compiled and cached ({t:.1f} s)")
    if os.environ.get("PEDAL_KERNELS") == "jit":
        return 0
    # the daemon's kernels ahead of time (a fresh process: the build reads which kernels the
    # warm-up calls from numba's dispatchers); then checked once, in another
    t0 = time.perf_counter()
    for step in ([], ["check"]):
        r = subprocess.run([sys.executable, "-m", "pedal.kernels.aot", *step],
                           capture_output=True, text=True)
        if r.returncode:
            text = (r.stderr or r.stdout).strip()
            said = text.splitlines()[-1] if text else f"exit code {r.returncode}"
            if "without the compiler used by" in text:  # numba pycc finds no gcc or g++
                said = "no working C and C++ compiler (Debian: apt install gcc g++ python3-dev)"
            print(f"ahead-of-time kernels not built: {said}; "
                  "`pedal run` loads the JIT's (slower start, more memory)", file=sys.stderr)
            return 0
    print(f"ahead-of-time kernels built and checked ({time.perf_counter() - t0:.1f} s)")
    return 0


def cmd_run(args) -> int:
    from . import kernels

    kernels.choose()  # before any kernel module is imported (the log says what it chose)
    # the loader's worker starts first, at the default limits: its start-up (imports, numba)
    # then runs beside the daemon's own instead of after it (first block 0.5 s sooner)
    from .service.loader import Loader

    early = Loader()
    early.start()
    from .service.daemon import run

    over: dict = {}
    if args.backend:
        over.setdefault("audio", {})["backend"] = args.backend
    if args.device is not None:
        over.setdefault("audio", {})["device"] = args.device
    if args.input:
        over.setdefault("audio", {})["file"] = {"input": str(Path(args.input).resolve()),
                                              **({"output": str(Path(args.output).resolve())}
                                                 if args.output else {})}
        over["audio"].setdefault("backend", "file")
    if args.socket:
        over["control"] = {"socket": str(Path(args.socket).resolve())}
    return run(args.config, over or None, loader=early)


def _socket(args):
    from .service.config import load_config
    from .service.socket import private_dir

    if args.socket:
        return Path(args.socket)
    config = load_config(args.config)
    path = config.socket_path
    if config.socket_dir_is_private:  # /tmp/pedal-<uid> must be our own folder
        private_dir(path.parent, create=False)
    return path


def _print_status(st: dict) -> None:
    load = st["load"]
    print(f"{st['state']}: {st['preset']} / {st['model']}")
    print(f"  audio      {st['backend']}")
    rate_from = " (the model's rate)" if st.get("rate_from") == "model" and \
        not st.get("resampled") else ""
    print(f"  block      {st['block']} at {st['sample_rate']} Hz{rate_from} "
          f"({st['latency_ms']} ms), realtime {st['realtime']}, kernels {st.get('kernels')}")
    if st.get("resampled"):
        print(f"  model      made at {st['model_rate']} Hz: resampled to and from "
              f"{st['sample_rate']} Hz")
    if st.get("model_size"):
        print(f"  size       {st['model_size']}")
    print(f"  load       avg {100 * load['avg']:.1f}%  max {100 * load['max_10s']:.1f}% of the "
          "block (last 10 s)")
    print(f"  xruns      {st['xruns']} (device) + {st['overruns']} (late blocks)")
    print(f"  models     {len(st['models'])} in the cycle"
          + (f", {st['models_pending']} being checked" if st["models_pending"] else ""))
    for name, why in st.get("models_rejected", {}).items():
        print(f"  skipped    {name}: {why.split(': ', 1)[-1]}")
    print(f"  uptime     {st['uptime_s']:.0f} s")
    if st.get("tuner_reading"):
        r = st["tuner_reading"]
        print(f"  tuner      {r.get('note') or '--'} {r.get('cents') or ''}")
    print(f"  last error {st['last_error'] or 'none'}")


def cmd_status(args) -> int:
    from .service.socket import request

    reply = request(_socket(args), "status")
    if args.json:
        print(json.dumps(reply.get("status", reply), indent=1))
    else:
        _print_status(reply["status"])
    return 0


def cmd_ctl(args) -> int:
    from .service.socket import request

    reply = request(_socket(args), args.action, args.args)
    if not reply.get("ok"):
        print(f"pedal: error: {reply.get('error')}", file=sys.stderr)
        return 1
    st = reply["status"]
    if args.json:
        print(json.dumps(st, indent=1))
    else:
        print(f"{st['state']}: {st['preset']} / {st['model']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="pedal", description="A neural guitar pedal.")
    ap.add_argument("--version", action="version", version=f"pedal {__version__}")
    ap.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")

    r = sub.add_parser("render", help="run an audio file through a preset")
    r.add_argument("input", nargs="?", metavar="IN", help="input audio (wav, flac, ...)")
    r.add_argument("output", nargs="?", metavar="OUT", help="output audio (.wav or .flac)")
    r.add_argument("--preset", "-p", help="preset YAML (default: presets/default.yaml)")
    r.add_argument("--model", "-m", help="amp model file (replaces the preset's)")
    r.add_argument("--ir", help="cabinet IR file (replaces the preset's)")
    r.add_argument("--eq", action="append", metavar="TYPE:FREQ[:GAIN[:Q]]",
                   help="an EQ band, e.g. peak:800:-3:1.2 (repeat; replaces the preset's)")
    r.add_argument("--knobs", type=_knobs, help="knob values 0..1, e.g. 0.25,0.75")
    r.add_argument("--level-db", type=float, help="output level in dB")
    r.add_argument("--slim", type=_slim, metavar="V|auto",
                   help="the size of a model of several sizes (NAM SlimmableContainer, "
                   "slimmable WaveNet): 0..1 as NAM Core's SetSlimmableSize")
    r.add_argument("--raw", action="store_true",
                   help="the amp model alone: no gate, cab, EQ, levels or DC blocker")
    r.add_argument("--block", type=int, default=64, help="block size (default 64)")
    r.add_argument("--plot", action="store_true", help="also write OUT.png spectrograms")
    r.add_argument("--list", action="store_true", help="list bundled models, IRs, presets")
    r.set_defaults(func=cmd_render)

    b = sub.add_parser("bench", help="speed against peers measured in the same run")
    b.add_argument("what", nargs="?", choices=["chain", "models", "tuner", "match"],
                   default="chain", help="the preset's chain stage by stage (default), every "
                   "model engine, the tuner's accuracy, or pedal match against hidden rigs")
    b.add_argument("--json", action="store_true", help="print a JSON list")
    b.add_argument("--seconds", type=float, default=10.0, help="audio per measurement")
    b.add_argument("--blocks", type=lambda s: [int(v) for v in s.split(",")],
                   default=[32, 64, 128, 256], help="block sizes, e.g. 32,64,128,256")
    b.add_argument("--preset", help="preset whose chain is measured (default preset)")
    b.add_argument("--di", help="tuner: a folder of DI recordings (default ../shared/data/di)")
    b.add_argument("--peers", metavar="DIR", help="models: NAM Core's and NeuralAudio's timing "
                   "tools (scripts/peers/build.sh puts them in ~/.cache/pedal/peers), timed "
                   "beside the pedal on the same files, interleaved, on one core")
    b.add_argument("--models", type=lambda s: s.split(","), help="models --peers: which rows, "
                   "e.g. nano,lstm-2x8 (default: every one; see pedal/tools/bench_peers.py)")
    b.add_argument("--rounds", type=int, default=5, help="models --peers: interleaved rounds; "
                   "match: cases per tier")
    b.add_argument("--minutes", type=float, default=3.0, help="match: each case's budget")
    b.add_argument("--capture", action="store_true", help="match: also tier 4, beyond the "
                   "library, with and without pedal match --capture (needs .[train])")
    b.set_defaults(func=cmd_bench)

    i = sub.add_parser("info", help="what a model file is and what it costs")
    i.add_argument("model")
    i.add_argument("--json", action="store_true")
    i.add_argument("--block", type=int, default=64)
    i.add_argument("--no-measure", action="store_true", help="skip the speed measurement")
    i.set_defaults(func=cmd_info)

    c = sub.add_parser("convert", help="any loadable LSTM/GRU/WaveNet (NAM A1 and A2) model to "
                       "the pedal's ONNX (OUT.onnx) or to .nam (OUT.nam)")
    c.add_argument("input")
    c.add_argument("output")
    c.add_argument("--quantize", choices=["int8"], help="store weights as int8 (kept only "
                   "when the error it adds is under an ESR of 0.01)")
    c.add_argument("--force", action="store_true", help="keep int8 weights whatever their error")
    c.add_argument("--slim", type=_slim, metavar="V|auto",
                   help="which size of a model of several sizes to write (0..1 as NAM Core's "
                   "SetSlimmableSize; auto: the largest this machine plays at block 64; "
                   "default: the largest)")
    c.set_defaults(func=cmd_convert)

    t = sub.add_parser("tuner", help="tune: readings for a recording, or a live needle")
    t.add_argument("file", nargs="?", help="a recording (omit for the sound card input)")
    t.add_argument("--json", action="store_true", help="one JSON object per reading")
    t.add_argument("--a4", type=float, default=440.0, help="reference pitch, 430..450 Hz")
    t.add_argument("--tuning", help="show the nearest string of: standard, drop-d, drop-c, "
                   "d-standard, half-step-down, open-g, open-d, dadgad, 7-string, bass-4, "
                   "bass-5, or your own notes (D2,A2,D3,G3,B3,E4)")
    t.add_argument("--live", action="store_true", help="play FILE in real time on the needle")
    t.add_argument("--device", help="input device name or index (live)")
    t.add_argument("--rate", type=int, default=48000, help="input sample rate (live)")
    t.set_defaults(func=cmd_tuner)

    d = sub.add_parser("run", help="the pedal daemon (what the systemd service runs)")
    d.add_argument("--config", "-c", help="pedal.yaml (default /etc/pedal/pedal.yaml if it "
                   "exists, else the bundled defaults)")
    d.add_argument("--backend", choices=["pyaudio", "pedalpi", "file", "fake"],
                   help="audio backend (replaces the config's)")
    d.add_argument("--device", help="audio device name or index (pyaudio)")
    d.add_argument("--input", help="file backend: the recording that plays the guitar")
    d.add_argument("--output", help="file backend: where the output goes")
    d.add_argument("--socket", help="control socket path (replaces the config's)")
    d.set_defaults(func=cmd_run)

    for name, helptext in (("status", "what the running pedal is doing"),
                           ("ctl", "tell the running pedal what to do")):
        s = sub.add_parser(name, help=helptext)
        if name == "ctl":
            s.add_argument("action", choices=["next", "prev", "bypass", "tuner", "preset",
                                              "model", "reload", "pin", "stop"])
            s.add_argument("args", nargs="*", help="preset NAME | model FILE | bypass on|off |"
                           " tuner on|off | pin N press|release (mock pins)")
        s.add_argument("--json", action="store_true")
        s.add_argument("--config", "-c", help="the daemon's pedal.yaml (finds its socket)")
        s.add_argument("--socket", help="the control socket")
        s.set_defaults(func=cmd_status if name == "status" else cmd_ctl)

    w = sub.add_parser("warmup", help="compile and cache every numba kernel")
    w.set_defaults(func=cmd_warmup)

    from .match.cli import add_match_parser
    from .train.commands import add_compress_parser, add_train_parser  # no torch imported

    add_train_parser(sub)
    add_compress_parser(sub)
    add_match_parser(sub)
    return ap


def main(argv=None) -> int:
    ap = build_parser()
    args = ap.parse_args(argv)
    if not getattr(args, "func", None):
        ap.print_help()
        return 2
    try:
        code = args.func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:  # `pedal status | head`: the reader left; that is no error
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except PedalError as exc:
        if args.debug:
            raise
        for line in str(exc).splitlines():
            print(f"pedal: error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pedal: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
