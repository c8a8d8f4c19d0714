"""GuitarML SmartAmpPro json (a Keras export): ``conv1d``, ``conv1d_1``, ``lstm`` and ``dense``
weight dicts (``kernel:0``, ``bias:0``, ``recurrent_kernel:0``), a window ``input_size`` and
the two strides, read into ``arch.smartamppro.SmartAmpProSpec``. No sample rate is stored:
44100 Hz, the plugin's.
"""

from __future__ import annotations

from ..arch.smartamppro import MAX_WINDOW, SAMPLE_RATE, SmartAmpProSpec
from ..jsondoc import Node


def detect(doc) -> bool:
    return isinstance(doc, dict) and "conv1d" in doc and "lstm" in doc


def parse(doc: Node):
    name = doc.name

    def weights(layer, key, ndim, required=True):
        part = doc[layer]
        part.obj()
        if not required and not part.has(key):
            return None
        return part[key].array(ndim=ndim)

    w1 = weights("conv1d", "kernel:0", 3)
    if w1.shape[1] != 1:
        raise doc["conv1d"]["kernel:0"].error(f"reads {w1.shape[1]} input channels, the audio "
                                              "is 1", show=False)
    dense = weights("dense", "kernel:0", 2)
    if dense.shape[1] != 1:
        raise doc["dense"]["kernel:0"].error(f"has {dense.shape[1]} outputs, expected 1",
                                             show=False)
    db = doc["dense"]["bias:0"].array((1,))
    spec = SmartAmpProSpec(
        w1=w1[:, 0, :], b1=weights("conv1d", "bias:0", 1), w2=weights("conv1d_1", "kernel:0", 3),
        b2=weights("conv1d_1", "bias:0", 1), kernel=weights("lstm", "kernel:0", 2),
        bias=weights("lstm", "bias:0", 1),
        recurrent=weights("lstm", "recurrent_kernel:0", 2, required=False),
        dense_w=dense[:, 0], dense_b=float(db[0]),
        window=doc["input_size"].int(1, MAX_WINDOW),
        stride1=doc["conv1d_stride"].int(1, 1024), stride2=doc["conv1d_1_stride"].int(1, 1024))
    if spec.b1.shape != (spec.w1.shape[1],) or spec.b2.shape != (spec.w2.shape[2],):
        raise doc.error(f"conv1d bias:0 {spec.b1.shape} / conv1d_1 bias:0 {spec.b2.shape} do "
                        "not match their kernels' channels", show=False)
    spec.validate(name)
    return spec, SAMPLE_RATE, {"sample_rate_stated": False}
