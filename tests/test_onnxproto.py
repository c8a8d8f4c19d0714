"""The daemon's own ONNX reader against the onnx package, on our files and third-party ones."""

import numpy as np
import onnx
from onnx import numpy_helper

from helpers import random_spec
from pedal.models.onnx.write import write_onnx
from pedal.models.onnx.proto import read_graph


def _compare(path):
    ref = onnx.load(str(path))
    g = read_graph(path.read_bytes(), str(path))
    assert [n.op_type for n in g.nodes] == [n.op_type for n in ref.graph.node]
    assert [list(n.inputs) for n in g.nodes] == [list(n.input) for n in ref.graph.node]
    assert [list(n.outputs) for n in g.nodes] == [list(n.output) for n in ref.graph.node]
    for t in ref.graph.initializer:
        want = numpy_helper.to_array(t)
        got = g.initializers[t.name]
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got, want)
    for n_ours, n_ref in zip(g.nodes, ref.graph.node):
        for a in n_ref.attribute:
            want = onnx.helper.get_attribute_value(a)
            got = n_ours.attrs[a.name]
            if isinstance(want, bytes):
                want = want.decode()
            if isinstance(want, onnx.TensorProto):
                want = numpy_helper.to_array(want)
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))
    assert g.metadata == {p.key: p.value for p in ref.metadata_props}
    inits = {t.name for t in ref.graph.initializer}
    assert [v.name for v in g.inputs] == [v.name for v in ref.graph.input if v.name not in inits]
    return g


def test_reader_matches_onnx_on_pedal_files(tmp_path):
    for q in (None, "int8"):
        for cell in ("lstm", "gru"):
            p = tmp_path / f"{cell}{q}.onnx"
            write_onnx(random_spec(cell, 6, layers=2, input_size=2), p, quantize=q,
                       metadata={"note": "ünïcode ok"})
            g = _compare(p)
            assert g.metadata["pedal.note"] == "ünïcode ok"
            assert g.inputs[0].shape == [1, "N", 2]


def test_reader_matches_onnx_on_shared_files(shared):
    files = sorted((shared / "data" / "onnx").glob("*.onnx"))
    assert files
    for p in files:
        _compare(p)
