"""Fuzzing every loader: model files are attacker-controlled input.

Mutants of a valid file of every format (``corpus.py``, made here) and of every shared model
file (when ../shared is present): truncation at every offset class, bit flips, byte bursts,
insertions and deletions, JSON type swaps at random key paths, huge and non-finite numbers.
Property-based (hypothesis): structure-aware protobuf messages, hostile JSON values at any key
of any format, arbitrary YAML, arbitrary control-socket requests. The only outcomes allowed are
a clean refusal (``ModelError`` / ``ConfigError``, never the boundary's ``LoaderBug``) or a
valid model whose engine runs.

The CI run is bounded (a minute or two). ``PEDAL_FUZZ=50 scripts/test.sh tests/test_fuzz.py``
runs fifty times as many cases (``scripts/fuzz.sh`` does that).
"""

from __future__ import annotations

import copy
import json
import os

import numpy as np
import pytest

import corpus
from pedal.errors import ConfigError, ModelError
from pedal.models import LoaderBug, load_model_bytes

pytestmark = pytest.mark.fuzz
hypothesis = pytest.importorskip("hypothesis", reason="hypothesis (test extra) not installed")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

SCALE = max(1, int(os.environ.get("PEDAL_FUZZ", "1")))
FUZZ = settings(max_examples=60 * SCALE, deadline=None, derandomize=SCALE == 1,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
HOSTILE = ["x", "", True, False, None, -1, 0, 2 ** 70, -2 ** 70, 1.5, 1e300, float("inf"),
           float("-inf"), float("nan"), [], {}, [[[[1]]]], "1e400", [1, "a"], [True, 1.0],
           {"a": 1}, [None], [[1, 2], [3]]]


def _run_ok(data: bytes, name: str) -> str:
    """Load ``data``: a refusal or a model whose engine runs; anything else fails the test."""
    try:
        m = load_model_bytes(data, name)
    except LoaderBug as exc:
        raise AssertionError(f"{name}: the boundary caught a loader bug: {exc}") from exc
    except ModelError as exc:
        text = str(exc)
        assert "\n" not in text and text.startswith(name), text  # one line, naming the file
        return "refused"
    eng = m.make_engine([0.5] * m.knob_count)
    eng.prepare(64)
    x = (0.3 * np.sin(np.arange(64) / 5.0)).astype(np.float32)
    eng.process(x)
    return "loaded"


# -- mutation ----------------------------------------------------------------------------------
def _paths(v, prefix=(), depth=0):
    yield prefix
    if depth > 6:
        return
    if isinstance(v, dict):
        for k, x in v.items():
            yield from _paths(x, prefix + (k,), depth + 1)
    elif isinstance(v, list):
        for i in sorted({0, len(v) // 2, len(v) - 1}) if v else []:
            yield from _paths(v[i], prefix + (i,), depth + 1)


def _put(doc, path, value):
    """``doc`` with the value at ``path`` replaced (unchanged if an earlier swap removed it)."""
    if not path:
        return value
    new = copy.deepcopy(doc)
    node = new
    try:
        for k in path[:-1]:
            node = node[k]
        node[path[-1]] = value
    except (KeyError, IndexError, TypeError):
        return doc
    return new


def mutants(name: str, data: bytes, rng: np.random.Generator, n: int):
    """(what, bytes) mutants of one file."""
    size = len(data)
    for cut in sorted({0, 1, 2, 3, 7, 15, 31, size // 4, size // 2, 3 * size // 4, size - 2,
                       size - 1} - {size}):
        yield f"truncated at {cut}", data[:max(cut, 0)]
    for _ in range(n):
        b = bytearray(data)
        kind = rng.integers(4)
        at = int(rng.integers(size))
        if kind == 0:
            b[at] ^= 1 << int(rng.integers(8))
            what = f"bit flip at {at}"
        elif kind == 1:
            burst = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()
            b[at:at + 8] = burst
            what = f"burst at {at}"
        elif kind == 2:
            b[at:at] = rng.integers(0, 256, int(rng.integers(1, 16)), dtype=np.uint8).tobytes()
            what = f"insertion at {at}"
        else:
            del b[at:at + int(rng.integers(1, 64))]
            what = f"deletion at {at}"
        yield what, bytes(b)
    if data.lstrip()[:1] == b"{":
        doc = json.loads(data)
        paths = list(_paths(doc))
        for _ in range(n):
            path = paths[int(rng.integers(len(paths)))]
            value = HOSTILE[int(rng.integers(len(HOSTILE)))]
            yield f"{path} = {value!r}", json.dumps(_put(doc, path, value)).encode()
        text = data.decode()
        for huge in ("1e400", "-1e400", "1" * 5000, "NaN", "Infinity"):
            at = text.find("0.")
            if at >= 0:
                yield f"number -> {huge[:10]}", (text[:at] + huge + text[at + 3:]).encode()


def _corpus(shared_dir):
    files = corpus.files()
    files.update(corpus.shared_files(shared_dir))
    return files


@pytest.fixture(scope="module")
def all_files():
    from conftest import SHARED

    return _corpus(SHARED)


def test_every_loader_refuses_its_mutants_cleanly(all_files):
    rng = np.random.default_rng(20261201)
    counts = {"loaded": 0, "refused": 0}
    per_file = 12 * SCALE
    for name, data in sorted(all_files.items()):
        for what, mutant in mutants(name, data, rng, per_file if len(data) < 100_000
                                    else max(2, per_file // 4)):
            counts[_run_ok(mutant, f"{name} ({what})")] += 1
    assert counts["refused"] > 100 and counts["loaded"] > 10, counts  # both outcomes exercised


# -- structure-aware protobuf ------------------------------------------------------------------
def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def _tag(num: int, wire: int) -> bytes:
    return _varint((num << 3) | wire)


_FIELDS = st.integers(1, 30)


@st.composite
def messages(draw, depth=3):
    """A protobuf message made of the ONNX schema's field numbers with random wire types,
    values and nesting."""
    parts = []
    for _ in range(draw(st.integers(0, 6))):
        num = draw(_FIELDS)
        wire = draw(st.sampled_from([0, 1, 2, 5, 3]))
        if wire == 0:
            parts.append(_tag(num, 0) + _varint(draw(st.integers(0, 2 ** 64 - 1))))
        elif wire == 1:
            parts.append(_tag(num, 1) + draw(st.binary(min_size=8, max_size=8)))
        elif wire == 5:
            parts.append(_tag(num, 5) + draw(st.binary(min_size=4, max_size=4)))
        elif wire == 2:
            body = draw(messages(depth - 1)) if depth > 0 and draw(st.booleans()) else \
                draw(st.binary(max_size=24))
            length = len(body) + draw(st.sampled_from([0, 0, 0, 1, -1, 1000]))
            parts.append(_tag(num, 2) + _varint(max(length, 0)) + body)
        else:
            parts.append(_tag(num, 3))
    return b"".join(parts)


@st.composite
def models(draw):
    """A ModelProto whose graph (field 7) holds nodes, initializers and inputs from
    ``messages``, with a valid header around it."""
    graph = b"".join(_tag(draw(st.sampled_from([1, 5, 11, 12, 15])), 2) + _varint(len(m)) + m
                     for m in draw(st.lists(messages(), max_size=5)))
    head = _tag(1, 0) + _varint(8) + _tag(8, 2) + _varint(2) + _tag(2, 0) + _varint(17)
    return head + _tag(7, 2) + _varint(len(graph)) + graph


@FUZZ
@given(data=st.one_of(models(), messages(), st.binary(max_size=256)))
def test_protobuf_reader_refuses_malformed_messages_cleanly(data):
    from pedal.models.onnx.proto import read_graph

    try:
        read_graph(data, "fuzz.onnx")
    except ModelError as exc:
        assert str(exc).startswith("fuzz.onnx: ")
    _run_ok(data, "fuzz.onnx")


@FUZZ
@given(data=st.data())
def test_mutated_onnx_fields_are_refused_cleanly(data, all_files):
    onnx = {k: v for k, v in all_files.items() if k.endswith(".onnx")}
    name = data.draw(st.sampled_from(sorted(onnx)))
    raw = bytearray(onnx[name])
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] = data.draw(st.integers(0, 255))
    _run_ok(bytes(raw), name)


# -- hostile JSON values at any key of any format ----------------------------------------------
_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2 ** 80, 2 ** 80),
              st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8)),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6),
                                                                      children, max_size=4),
    max_leaves=12)


@FUZZ
@given(data=st.data())
def test_hostile_json_values_in_every_format_are_refused_cleanly(data):
    fmt = data.draw(st.sampled_from(sorted(corpus.JSON_FORMATS)))
    doc = corpus.JSON_FORMATS[fmt]()
    paths = list(_paths(doc))
    for _ in range(data.draw(st.integers(1, 3))):
        doc = _put(doc, data.draw(st.sampled_from(paths)), data.draw(_json_values))
    _run_ok(json.dumps(doc).encode(), f"{fmt}.json")


# -- YAML and the control socket ---------------------------------------------------------------
@FUZZ
@given(text=st.text(max_size=200) | st.sampled_from([
    "a: &x [1]\nb: *x\n", "x: !!python/object/apply:os.system [ls]\n", "[" * 200,
    "audio:\n  block: 1.0e+400\n", "gate: {threshold_db: .nan}\n", "amp: !!binary aGk=\n"]))
def test_yaml_files_are_refused_with_one_line_or_read(tmp_path_factory, text):
    from pedal.preset import load_preset
    from pedal.service.config import load_config

    p = tmp_path_factory.mktemp("yaml") / "x.yaml"
    p.write_text(text, encoding="utf-8")
    for load in (load_preset, load_config):
        try:
            load(p)
        except ConfigError as exc:
            assert all(line.startswith(str(p)) for line in exc.problems), exc.problems


class _Stub:
    """The parts of a daemon the intent handlers touch, recording what they are asked."""

    def __init__(self):
        from pathlib import Path

        self.calls = []
        stub = self

        class Player:
            bypass = tuner = False

            def set_bypass(self, on):
                stub.calls.append(("bypass", on))

            def set_tuner(self, on):
                stub.calls.append(("tuner", on))

        class Sounds:
            preset_name = "default"

            def step(self, delta, done):
                stub.calls.append(("step", delta))
                done(True, None)

            def select(self, preset, model, why, done):
                stub.calls.append(("select", preset, model))
                done(True, None)

            def scan_presets(self):
                pass

        class Library:
            folder = Path("/nonexistent/models")

        self.player, self.sounds, self.library = Player(), Sounds(), Library()
        from pedal.service.intents import Footswitch

        self.footswitch = Footswitch()
        self.controls = None
        self.stop_requested = self.dirty = False

    def answer(self, reply):
        reply({"ok": True, "status": {}})

    def completion(self, reply):
        return lambda ok, err: reply({"ok": ok, "error": err})

    def reload(self, done):
        done(True, None)


@FUZZ
@given(req=_json_values | st.fixed_dictionaries(
    {"cmd": st.sampled_from(["bypass", "tuner", "preset", "model", "pin", "next", "prev",
                              "footswitch", "footswitch_held", "status", "reload", "nope"]),
     "args": _json_values}))
def test_control_requests_of_any_shape_get_exactly_one_answer(req):
    from pedal.service import intents
    from pedal.service.socket import check_request

    why = check_request(req)
    if why is not None:
        assert isinstance(why, str) and why
        return
    d, answers = _Stub(), []
    if req["cmd"] == "status":
        return  # answered by the socket thread from the snapshot
    intents.dispatch(d, req["cmd"], req.get("args", []), answers.append)
    assert len(answers) == 1 and isinstance(answers[0].get("ok"), bool), answers
    model_calls = [c for c in d.calls if c[0] == "select" and c[2] is not None]
    for c in model_calls:  # a model argument never leaves the models folder
        assert c[2].parent == d.library.folder, c
