"""``pedal match``: alignment (known offsets and tempo ratios), the EQ fit (a known EQ
recovered), the rig search (a rig built from library parts found), the command's preset and
report, and bad input (one line each, no preset written)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from pedal import paths
from pedal.audio.files import resample
from pedal.dsp import ParametricEQ, ProcessSpec
from pedal.dsp.eq import Band, rbj_sos
from pedal.dsp.run import run_blocks
from pedal.errors import PedalError
from pedal.kernels.dtw import dtw_backtrack, dtw_band, new_work
from pedal.match import align as align_mod
from pedal.match.align import align
from pedal.match.command import match
from pedal.match.output import render_preset, write_preset
from pedal.match.distance import ltas_db, mrstft_db
from pedal.match.eqfit import GRID, fit_eq, response_db
from pedal.synth.guitar import guitar_riff

SR = 48000
# another passage: the same guitar, other notes in another order
OTHER_RIFF = [(b, 0.5, [(s, f)], 0.8, False) for b, (s, f) in
              enumerate([(1, 3), (2, 5), (0, 8), (3, 2), (1, 7), (2, 0), (4, 3), (0, 5),
                         (3, 7), (1, 1), (2, 9), (0, 3), (4, 5), (2, 2), (1, 10), (3, 4)])]


@pytest.fixture(scope="module")
def riff():
    return guitar_riff(SR)


def amp_like(x):
    """A distorted, filtered 'record' of x (no pedal code: tanh and scipy's filter)."""
    from scipy.signal import butter, sosfilt

    return (0.3 * sosfilt(butter(2, [100, 5000], "bandpass", fs=SR, output="sos"),
                          np.tanh(8 * x))).astype(np.float32)


# ------------------------------------------------------------------------------- DTW kernel
def _dtw_reference(q, r, qf, rf, w, pen):
    """The same recursion written plainly (full band, free start): accumulated last row."""
    n, m = len(q), len(r)
    d = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            c = 1 - q[i] @ r[j] + w * abs(qf[i] - rf[j])
            if i == 0:
                d[i, j] = c
                continue
            opts = [d[i - 1, j - 1] if j >= 1 else np.inf, d[i - 1, j] + pen,
                    d[i - 1, j - 2] + pen if j >= 2 else np.inf]
            d[i, j] = c + min(opts)
    return d[-1]


def test_dtw_kernel_matches_a_plain_recursion():
    rng = np.random.default_rng(0)
    q = rng.standard_normal((23, 12))
    r = rng.standard_normal((41, 12))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    r /= np.linalg.norm(r, axis=1, keepdims=True)
    qf, rf = rng.standard_normal(23), rng.standard_normal(41)
    prev, cur, ptr = new_work(23, 41)
    starts = np.zeros(23, np.int64)
    dtw_band(q, r, qf, rf, 0.05, starts, 41, 0.1, prev, cur, ptr)
    ref = _dtw_reference(q, r, qf, rf, 0.05, 0.1)
    np.testing.assert_allclose(prev, ref, rtol=1e-12)
    # the way back is a valid path whose cells add up to the cost it ends with
    end = int(np.argmin(prev))
    path = np.zeros(23, np.int64)
    assert dtw_backtrack(ptr, starts, end, path) == 23
    steps = np.diff(path)
    assert set(steps) <= {0, 1, 2}
    cost = sum(1 - q[i] @ r[j] + 0.05 * abs(qf[i] - rf[j]) for i, j in enumerate(path))
    cost += 0.1 * np.count_nonzero(steps != 1)
    assert cost == pytest.approx(prev[end], rel=1e-9)


# -------------------------------------------------------------------------------- alignment
@pytest.mark.parametrize("ratio", [0.98, 1.0, 1.015])
def test_alignment_recovers_a_known_offset_and_tempo(riff, ratio):
    lead_s = 2.7
    lead = amp_like(guitar_riff(SR, riff=OTHER_RIFF, seed=3))[: int(lead_s * SR)]
    part = riff[: 14 * SR]
    slowed = resample(part, SR, int(round(SR * ratio)))  # tape speed: ratio x longer
    record = np.concatenate([lead, amp_like(slowed), lead[: SR]])
    a = align(part, record)
    assert a.found, a.describe()
    assert a.confidence > 0.2
    assert a.tempo == pytest.approx(ratio, abs=0.003)
    assert a.start_s == pytest.approx(lead_s, abs=0.03)
    # frame by frame, where the DI plays: each DI frame's record position within 15 ms
    truth = lead_s * SR + np.arange(len(a.path)) * a.hop * (len(slowed) / len(part))
    err_ms = np.abs(a.centres - truth) / SR * 1000
    from pedal.match.features import frame_levels_db

    lv = frame_levels_db(np.concatenate([part, np.zeros(a.hop, np.float32)]), a.hop)[: len(err_ms)]
    playing = lv > lv.max() - 30
    assert np.median(err_ms[playing]) < 8 and np.percentile(err_ms[playing], 95) < 15


def test_another_passage_is_not_found(riff):
    other = guitar_riff(SR, riff=OTHER_RIFF, seed=5)
    a = align(other, amp_like(riff))
    assert not a.found, a.describe()
    assert "not found" in a.describe()


def test_a_record_over_the_limit_is_refused_before_the_search(monkeypatch, riff):
    monkeypatch.setattr(align_mod, "MAX_REF_S", 3.0)
    with pytest.raises(PedalError, match="min long"):
        align(riff[: 2 * SR], riff)


# ---------------------------------------------------------------------------------- EQ fit
def _sos_db(bands, freqs):
    from scipy.signal import sosfreqz

    sos = np.vstack([rbj_sos(b, SR) for b in bands])
    _, h = sosfreqz(sos, worN=freqs, fs=SR)
    return 20 * np.log10(np.abs(h))


def test_response_agrees_with_scipy():
    bands = [Band("peak", 900, 5, 1.5), Band("high_pass", 70), Band("low_shelf", 200, -3)]
    np.testing.assert_allclose(response_db(bands, GRID, SR), _sos_db(bands, GRID), atol=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_fit_recovers_a_known_eq_curve_within_1db(seed):
    rng = np.random.default_rng(seed)
    known = [Band("peak", float(rng.uniform(200, 4000)), float(rng.uniform(-8, 8)),
                  float(rng.uniform(0.7, 3))),
             Band("high_shelf", float(rng.uniform(2000, 7000)), float(rng.uniform(-6, 6))),
             Band("low_shelf", float(rng.uniform(80, 300)), float(rng.uniform(-6, 6))),
             Band("high_pass", float(rng.uniform(40, 100)))]
    target = _sos_db(known, GRID) + 2.0
    bands, gain = fit_eq(target)
    fitted = response_db(bands, GRID, SR) + gain
    sel = (GRID > 50) & (GRID < 12000)
    assert np.max(np.abs(fitted - target)[sel]) < 1.0


def test_a_known_eq_on_a_record_is_recovered_from_the_audio(riff):
    """The whole path: the record is a rendering with a known EQ after it; the EQ the match
    fits for the rendering (on aligned frames) is that EQ, within 1 dB where there is sound."""
    from pedal.match.align import Alignment
    from pedal.match.search import fit_rig_eq
    from pedal.match.target import Target

    y = amp_like(riff[: 10 * SR])
    known = [Band("peak", 1500, 6, 1.2), Band("high_shelf", 4000, -5), Band("low_shelf", 150, 4)]
    eq = ParametricEQ(known)
    eq.prepare(ProcessSpec(SR, 512))
    record = run_blocks(eq, y, 512)
    frames = len(y) // 480
    al = Alignment(True, 1.0, 0.0, len(y) / SR, 1.0, 480, np.arange(frames))
    bands, gain = fit_rig_eq(Target(record, al, range(0, frames)), y)
    sel = (GRID > 150) & (GRID < 4500)  # where the filtered record has content
    diff = response_db(bands, GRID, SR) + gain - _sos_db(known, GRID)
    diff -= np.median(diff[sel])  # the record's level is not part of the EQ
    assert np.max(np.abs(diff[sel])) < 1.0


# -------------------------------------------------------------------------------- distances
def test_distances_are_zero_for_the_same_tone_and_ignore_level(riff):
    y = amp_like(riff[: 4 * SR])
    assert mrstft_db(y, y) == pytest.approx(0.0, abs=1e-6)
    assert mrstft_db(y, 0.25 * y) == pytest.approx(0.0, abs=1e-3)
    assert ltas_db(y, 3 * y) == pytest.approx(0.0, abs=1e-3)
    darker = amp_like(riff[: 4 * SR] * 0.2)
    assert mrstft_db(y, darker) > 1.0


def test_mrstft_agrees_with_scipy_stft(riff):
    from scipy.signal import stft

    a = amp_like(riff[: 3 * SR])
    b = amp_like(0.5 * riff[: 3 * SR])
    b = b * np.sqrt(np.mean(a.astype(np.float64) ** 2) / np.mean(b.astype(np.float64) ** 2))
    out = []
    for n in (256, 1024, 4096):
        mags = [np.abs(stft(v, nperseg=n, noverlap=3 * n // 4, window="hann", boundary="zeros",
                            padded=False, scaling="spectrum")[2]) * n / 2 for v in (a, b)]
        dbs = [20 * np.log10(m + 1e-9) for m in mags]
        top = max(d.max() for d in dbs)
        da, db_ = (np.maximum(d, top - 80) for d in dbs)
        k = min(da.shape[1], db_.shape[1])
        out.append(np.mean(np.abs(da[:, :k] - db_[:, :k])))
    assert mrstft_db(a, b) == pytest.approx(np.mean(out), rel=0.03)


# ------------------------------------------------------------------------------- rig search
def _hidden(tmp, model, gain, ir, bands):
    p = tmp / "hidden.yaml"
    write_preset(p, "hidden", Path(model), gain, Path(ir), bands, -65.0, -2.0)
    return p


@pytest.mark.slow
def test_a_rig_built_from_library_parts_is_found(shared, tmp_path):
    d = shared / "data"
    models = [d / "nam/BossWN-nano.nam", d / "nam/BossLSTM-1x16.nam",
              d / "json/proteus/Proteus_BlackstarHT40_AmpClean.json"]
    irs = [d / "ir/cab/jsrocks_captain_1960.wav", d / "ir/cab/t3k_celestion.wav",
           d / "ir/cab/jsrocks_franklinstein.wav"]
    lib_m, lib_i = tmp_path / "models", tmp_path / "irs"
    lib_m.mkdir()
    lib_i.mkdir()
    for p in models:
        (lib_m / p.name).symlink_to(p)
    for p in irs:
        (lib_i / p.name).symlink_to(p)
    (lib_m / "broken.nam").write_text('{"version": "0.5.4", "architecture": "WaveNet"}')
    di, sr = sf.read(d / "di/t3k_Celestial_Guitar_DI.wav", dtype="float32")
    di = di[: 16 * SR]
    hidden = _hidden(tmp_path, models[1], 6.0, irs[0], [Band("peak", 700, 4, 1.0)])
    record = np.concatenate([np.zeros(SR // 3, np.float32),
                             render_preset(hidden, resample(di, SR, int(SR * 1.01)))])
    sf.write(tmp_path / "record.wav", record, SR)
    sf.write(tmp_path / "di.wav", di, SR)
    out = tmp_path / "presets" / "match.yaml"
    rep = match(tmp_path / "record.wav", tmp_path / "di.wav", out, models=[lib_m],
                irs=[lib_i], minutes=1.5, bundled=False)
    assert Path(rep.model).name == models[1].name
    assert Path(rep.ir).name == irs[0].name
    assert rep.input_gain_db == pytest.approx(6.0, abs=3.1)
    assert any("broken.nam" in s for s in rep.skipped)
    # the preset plays as written, on the pedal's own chain, close to the truth
    truth = render_preset(hidden, di)
    got = mrstft_db(truth, render_preset(out, di))
    default = mrstft_db(truth, render_preset(paths.DEFAULT_PRESET, di))
    assert got < 2.0 and got < 0.6 * default, (got, default)
    doc = yaml.safe_load(out.read_text())
    assert not Path(doc["amp"]["model"]).is_absolute()
    assert rep.after_db < rep.before_db


# ---------------------------------------------------------------------------- the command
@pytest.fixture(scope="module")
def pair(tmp_path_factory, riff):
    """A record made with the default preset (behind a lead-in) and its DI."""
    tmp = tmp_path_factory.mktemp("pair")
    di = riff[: 8 * SR]
    rec = np.concatenate([np.zeros(SR, np.float32), render_preset(paths.DEFAULT_PRESET, di)])
    sf.write(tmp / "di.wav", di, SR)
    sf.write(tmp / "record.flac", rec, SR)
    return tmp


def _pedal(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "pedal", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_the_command_writes_a_preset_render_plays_and_a_json_report(pair, tmp_path):
    out = tmp_path / "m.yaml"
    r = _pedal("match", pair / "record.flac", pair / "di.wav", "-o", out, "--minutes", "0.5",
               "--json", "--plot")
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["alignment"]["found"]
    assert rep["alignment"]["offset_s"] == pytest.approx(1.0, abs=0.03)
    assert rep["alignment"]["tempo_ratio"] == pytest.approx(1.0, abs=0.002)
    assert rep["distance_db"]["match"] <= rep["distance_db"]["default_preset"] + 0.01
    assert "dB" in rep["verdict"]
    assert out.with_suffix(".png").stat().st_size > 10000
    r = _pedal("render", pair / "di.wav", tmp_path / "o.wav", "--preset", out)
    assert r.returncode == 0, r.stderr
    assert sf.info(tmp_path / "o.wav").frames > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("case, expect", [
    ("silent_di", "silent"),
    ("noise_di", "does not look like a guitar"),
    ("short_record", "at least 2 s"),
    ("empty_library", "nothing to search"),
    ("not_yaml", "must be a .yaml file"),
    ("bad_minutes", "--minutes"),
    ("missing", "not found"),
])
def test_bad_input_gets_one_line_and_no_preset(pair, tmp_path, case, expect):
    rec, di, out = pair / "record.flac", pair / "di.wav", tmp_path / "m.yaml"
    extra = ["--minutes", "0.3"]
    rng = np.random.default_rng(0)
    if case == "silent_di":
        di = tmp_path / "silent.wav"
        sf.write(di, np.zeros(3 * SR, np.float32), SR)
    elif case == "noise_di":
        di = tmp_path / "noise.wav"
        sf.write(di, (0.1 * rng.standard_normal(3 * SR)).astype(np.float32), SR)
    elif case == "short_record":
        rec = tmp_path / "short.wav"
        sf.write(rec, np.zeros(SR, np.float32) + 0.1, SR)
    elif case == "empty_library":
        (tmp_path / "empty").mkdir()
        extra += ["--no-bundled", "--models", str(tmp_path / "empty")]
    elif case == "not_yaml":
        out = tmp_path / "m.txt"
    elif case == "bad_minutes":
        extra = ["--minutes", "0"]
    elif case == "missing":
        rec = tmp_path / "nope.wav"
    r = _pedal("match", rec, di, "-o", out, *extra)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert lines and expect in lines[-1], r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


# ---------------------------------------------------------------------------- --capture
def test_capture_trains_on_the_aligned_frames_and_keeps_only_a_better_model(pair, tmp_path):
    pytest.importorskip("torch")
    import pedal.match.capture as cap_mod

    out = tmp_path / "m.yaml"
    rep = match(pair / "record.flac", pair / "di.wav", out, minutes=0.25, capture=True,
                bundled=True)
    line = [n for n in rep.notes if n.startswith("capture:")]
    assert line and "steps in" in line[0] and "held-out" in line[0], rep.notes
    steps = int(line[0].split(" steps in")[0].rsplit(" ", 1)[1])
    assert steps > 0
    doc = yaml.safe_load(out.read_text())
    dropped = any(n.startswith("capture: dropped") for n in rep.notes)
    if doc["amp"]["model"] == "m.capture.onnx":  # kept on the held-out frames and overall
        assert "; kept" in line[0] and not dropped
        assert (tmp_path / "m.capture.onnx").is_file()
        assert doc["amp"]["normalize_loudness"] is False
    else:  # not kept, or kept on the held-out frames and dropped over the whole DI
        assert "not kept" in line[0] or dropped, rep.notes
        assert doc["amp"]["model"] == "pedal_overdrive_lstm16.onnx"
        assert not (tmp_path / "m.capture.onnx").exists()
    # the record on the DI's clock: a tape-speed record warps back onto the DI
    from pedal.match.align import align

    di = sf.read(pair / "di.wav", dtype="float32")[0]
    rec = sf.read(pair / "record.flac", dtype="float32")[0]
    a = align(di, rec)
    w = cap_mod.warp(rec, a, len(di))
    y = render_preset(paths.DEFAULT_PRESET, di)
    near = mrstft_db(y[SR:-SR], w[SR:-SR])
    off = mrstft_db(y[SR:-SR], w[SR + SR // 5:-SR + SR // 5])  # 200 ms late
    assert near < 1.0 and off > 3 * near, (near, off)


def test_capture_needs_the_dis_part_in_the_record(riff, tmp_path):
    from pedal.match.align import align
    from pedal.match.capture import capture
    from pedal.models import load_model

    other = guitar_riff(SR, riff=OTHER_RIFF, seed=5)
    a = align(other, amp_like(riff))
    with pytest.raises(PedalError, match="needs the DI's part"):
        capture(other, amp_like(riff), a, load_model(paths.MODELS_DIR /
                                                     "pedal_overdrive_lstm16.onnx"),
                0.0, 0.0, None, [], 0.1)


def test_a_hard_panned_guitar_is_matched_in_its_channel(pair, riff, tmp_path):
    """A stereo record: another part on the left, the DI's part on the right (as double-tracked
    guitars are panned); the match hears it on the right."""
    rec = sf.read(pair / "record.flac", dtype="float32")[0]
    other = amp_like(guitar_riff(SR, riff=OTHER_RIFF, seed=9))
    other = np.resize(other, len(rec)) * 1.5
    sf.write(tmp_path / "stereo.wav", np.stack([other, rec], axis=1), SR)
    rep = match(tmp_path / "stereo.wav", pair / "di.wav", tmp_path / "m.yaml", minutes=0.3)
    assert rep.alignment.found
    assert rep.alignment.start_s == pytest.approx(1.0, abs=0.03)
    assert any("right channel" in n for n in rep.notes), rep.notes
