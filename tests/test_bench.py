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
