"""A small reader for the parts of the ONNX protobuf the pedal needs: the graph's nodes,
initializers (weights), inputs, outputs and metadata.

The daemon reads model files with this instead of the ``onnx`` package (an optional tooling
extra): it only parses bytes into numbers and strings, never executes anything, and fails with
a ``ModelError`` on anything malformed or unsupported (such as external weight files).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from ...errors import ModelError

# TensorProto.DataType -> numpy dtype
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
           7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
           13: np.uint64}
MAX_TENSOR_ELEMENTS = 50_000_000


class _Malformed(Exception):
    pass


def _varint(buf: bytes, pos: int):
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise _Malformed("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Malformed("varint too long")


def _fields(buf: bytes):
    """Yield (field number, wire type, value) of one message; value is int or bytes."""
    pos = 0
    end = len(buf)
    while pos < end:
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, pos = _varint(buf, pos)
        elif wire == 1:
            if pos + 8 > end:
                raise _Malformed("truncated 64-bit field")
            val = buf[pos:pos + 8]
            pos += 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > end:
                raise _Malformed("truncated length-delimited field")
            val = buf[pos:pos + size]
            pos += size
        elif wire == 5:
            if pos + 4 > end:
                raise _Malformed("truncated 32-bit field")
            val = buf[pos:pos + 4]
            pos += 4
        else:
            raise _Malformed(f"unsupported wire type {wire}")
        yield num, wire, val


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _packed_varints(val, wire) -> list[int]:
    if wire == 0:
        return [_signed(val)]
    out, pos = [], 0
    while pos < len(val):
        v, pos = _varint(val, pos)
        out.append(_signed(v))
    return out


@dataclass
class Node:
    op_type: str
    inputs: list[str]
    outputs: list[str]
    name: str = ""
    domain: str = ""
    attrs: dict = field(default_factory=dict)


@dataclass
class ValueInfo:
    name: str
    elem_type: int = 0
    shape: list = field(default_factory=list)  # int, str (symbolic) or None per dimension


@dataclass
class Graph:
    nodes: list[Node]
    initializers: dict[str, np.ndarray]
    inputs: list[ValueInfo]
    outputs: list[ValueInfo]
    metadata: dict[str, str]
    opset: int


def _tensor(buf: bytes) -> tuple[str, np.ndarray]:
    dims, dtype, name, raw = [], 1, "", None
    floats, ints32, ints64, doubles = [], [], [], []
    for num, wire, val in _fields(buf):
        if num == 1:
            dims += _packed_varints(val, wire)
        elif num == 2:
            dtype = val
        elif num == 8:
            name = val.decode("utf-8", "replace")
        elif num == 9:
            raw = val
        elif num == 4:
            floats.append(val)
        elif num == 5:
            ints32 += _packed_varints(val, wire)
        elif num == 7:
            ints64 += _packed_varints(val, wire)
        elif num == 10:
            doubles.append(val)
        elif num == 14 and val == 1:
            raise _Malformed(f"tensor {name!r} keeps its data in an external file; "
                             "save the model as one file")
    if dtype not in _DTYPES:
        raise _Malformed(f"tensor {name!r} has unsupported data type {dtype}")
    np_type = np.dtype(_DTYPES[dtype])
    count = int(np.prod(dims)) if dims else 1
    if any(d < 0 for d in dims) or count > MAX_TENSOR_ELEMENTS:
        raise _Malformed(f"tensor {name!r} has absurd dimensions {dims}")
    if raw is not None:
        if len(raw) != count * np_type.itemsize:
            raise _Malformed(f"tensor {name!r}: {len(raw)} bytes for shape {dims}")
        arr = np.frombuffer(raw, dtype=np_type.newbyteorder("<")).astype(np_type)
    elif floats:
        data = b"".join(floats)
        arr = np.frombuffer(data, dtype="<f4").astype(np_type)
    elif doubles:
        arr = np.frombuffer(b"".join(doubles), dtype="<f8").astype(np_type)
    elif ints64:
        arr = np.array(ints64, dtype=np_type)
    elif ints32:
        arr = np.array(ints32, dtype=np.int64).astype(np_type)
    else:
        arr = np.zeros(0, dtype=np_type)
    if arr.size != count:
        raise _Malformed(f"tensor {name!r}: {arr.size} values for shape {dims}")
    return name, arr.reshape(dims)


def _attribute(buf: bytes):
    name, value = "", None
    ints, floats = [], []
    for num, wire, val in _fields(buf):
        if num == 1:
            name = val.decode()
        elif num == 2:
            value = struct.unpack("<f", val)[0]
        elif num == 3:
            value = _signed(val)
        elif num == 4:
            value = val.decode("utf-8", "replace")
        elif num == 5:
            value = _tensor(val)[1]
        elif num == 7:
            if wire == 2:  # packed
                floats += list(struct.unpack(f"<{len(val) // 4}f", val))
            else:
                floats.append(struct.unpack("<f", val)[0])
        elif num == 8:
            ints += _packed_varints(val, wire)
        elif num == 9:
            value = (value or []) + [val.decode("utf-8", "replace")]
    if ints:
        value = ints
    elif floats:
        value = floats
    return name, value


def _node(buf: bytes) -> Node:
    node = Node("", [], [])
    for num, _, val in _fields(buf):
        if num == 1:
            node.inputs.append(val.decode())
        elif num == 2:
            node.outputs.append(val.decode())
        elif num == 3:
            node.name = val.decode()
        elif num == 4:
            node.op_type = val.decode()
        elif num == 7:
            node.domain = val.decode()
        elif num == 5:
            k, v = _attribute(val)
            node.attrs[k] = v
    return node


def _value_info(buf: bytes) -> ValueInfo:
    info = ValueInfo("")
    for num, _, val in _fields(buf):
        if num == 1:
            info.name = val.decode()
        elif num == 2:  # TypeProto
            for tnum, _, tval in _fields(val):
                if tnum != 1:  # only tensor types
                    continue
                for nnum, _, nval in _fields(tval):
                    if nnum == 1:
                        info.elem_type = nval
                    elif nnum == 2:  # TensorShapeProto
                        for snum, _, sval in _fields(nval):
                            if snum != 1:
                                continue
                            dim = None
                            for dnum, _, dval in _fields(sval):
                                if dnum == 1:
                                    dim = _signed(dval)
                                elif dnum == 2:
                                    dim = dval.decode()
                            info.shape.append(dim)
    return info


def read_graph(data: bytes, name: str = "<memory>") -> Graph:
    """Parse an ONNX ModelProto. Raises ModelError naming ``name`` on malformed input."""
    try:
        graph_bytes, metadata, opset = None, {}, 0
        for num, _, val in _fields(data):
            if num == 7:
                graph_bytes = val
            elif num == 14:
                kv = {k: v for k, _, v in _fields(val)}
                metadata[kv.get(1, b"").decode()] = kv.get(2, b"").decode()
            elif num == 8:
                dom, ver = "", 0
                for onum, _, oval in _fields(val):
                    if onum == 1:
                        dom = oval.decode()
                    elif onum == 2:
                        ver = oval
                if dom in ("", "ai.onnx"):
                    opset = ver
        if graph_bytes is None:
            raise _Malformed("no graph (not an ONNX model?)")
        nodes, inits, inputs, outputs = [], {}, [], []
        for num, _, val in _fields(graph_bytes):
            if num == 1:
                nodes.append(_node(val))
            elif num == 5:
                k, arr = _tensor(val)
                inits[k] = arr
            elif num == 11:
                inputs.append(_value_info(val))
            elif num == 12:
                outputs.append(_value_info(val))
        inputs = [v for v in inputs if v.name not in inits]
        if not nodes or not outputs:
            raise _Malformed("graph has no nodes or no outputs")
        return Graph(nodes, inits, inputs, outputs, metadata, opset)
    except _Malformed as exc:
        raise ModelError(f"{name}: not a valid ONNX model ({exc})") from None
    except (UnicodeDecodeError, ValueError, struct.error) as exc:
        raise ModelError(f"{name}: not a valid ONNX model ({exc})") from None
