"""pedal bench prints rows other tools can read; the numbers themselves are not asserted."""

import json

from pedal.cli import main


def test_bench_json_rows(capsys):
    assert main(["bench", "--json", "--seconds", "0.2", "--blocks", "32,64"]) == 0
    rows = json.loads(capsys.readouterr().out)
    seen = {(r["stage"], r["engine"], r["block"]) for r in rows}
    for block in (32, 64):
        for stage in ("gate", "amp", "cab", "eq", "level", "chain"):
            assert (stage, "pedal", block) in seen
        assert ("amp", "onnxruntime", block) in seen
        assert ("cab", "scipy.oaconvolve", block) in seen
        assert ("eq", "scipy.sosfilt", block) in seen
    for r in rows:
        assert r["xrt"] > 0 and r["us_per_block"] > 0


def test_bench_models_json_rows(capsys):
    assert main(["bench", "models", "--json", "--seconds", "0.05", "--blocks", "64"]) == 0
    rows = json.loads(capsys.readouterr().out)
    engines = {(r["model"], r["engine"]) for r in rows}
    for model in ("nam-wavenet-standard", "nam-wavenet-nano", "lstm-1x16", "gru-1x32"):
        assert (model, "pedal-numba") in engines
    assert ("lstm-1x20", "onnxruntime") in engines and ("lstm-1x20", "pytorch") in engines
    assert all(r["xrt"] > 0 and r["samples_per_s"] > 0 and r["block"] == 64 for r in rows)


def test_bench_random_wavenets_have_the_published_sizes():
    from pedal.tools.bench_models import random_wavenet

    sizes = {n: random_wavenet(n).n_weights for n in ("standard", "lite", "feather", "nano")}
    assert sizes == {"standard": 13802, "lite": 6554, "feather": 3026, "nano": 842}
