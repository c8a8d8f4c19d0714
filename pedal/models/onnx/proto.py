"""A small, strict reader for the parts of the ONNX protobuf the pedal needs: the graph's nodes,
initializers (weights), inputs, outputs and metadata.

The daemon reads model files with this instead of the ``onnx`` package (an optional tooling
extra). Model files come from the internet, so the reader trusts nothing:

- every field's wire type is checked against the ONNX schema before its value is used (a
  varint where a string belongs is an error, not an ``AttributeError``);
- every count (nodes, initializers, attributes, inputs, dimensions, metadata entries, fields of
  one message) and every size (strings, tensors) is bounded before anything is allocated, so a
  64 MB file of empty nodes or packed varints is refused in milliseconds, not parsed for
  seconds into gigabytes;
- tensors that keep their data elsewhere (``external_data``, ``data_location``), subgraphs
  (the attributes of ``If``, ``Loop``, ``Scan``), sparse tensors, model-local functions and
  training graphs are refused wherever they appear: onnxruntime would resolve an external
  file against the working directory, and a subgraph can hide one;
- nothing is executed and nothing recurses.

Anything malformed or unsupported is a ``ModelError`` naming the file and the field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np

from ...errors import ModelError

# TensorProto.DataType -> numpy dtype (strings, bfloat16, float8, int4 and complex refused)
_DTYPES = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32,
           7: np.int64, 9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32,
           13: np.uint64}
MAX_TENSOR_ELEMENTS = 16_000_000
MAX_NODES = 10_000
MAX_INITIALIZERS = 10_000
MAX_VALUE_INFOS = 256       # graph inputs, outputs
MAX_NODE_IO = 64            # inputs or outputs of one node
MAX_ATTRIBUTES = 64         # of one node
MAX_LIST = 4096             # values of one attribute list
MAX_DIMS = 8
MAX_METADATA = 256
MAX_FIELDS = 200_000        # fields of one message, skipped ones included
MAX_NAME = 4096             # bytes of a name
MAX_TEXT = 1 << 20          # bytes of a metadata value or string attribute

VARINT, I64, LEN, I32 = 0, 1, 2, 5
_WIRE_NAMES = {0: "varint", 1: "64-bit", 2: "length-delimited", 5: "32-bit"}


class _Malformed(Exception):
    pass


def _varint(buf: bytes, pos: int):
    result = 0
    shift = 0
    end = len(buf)
    while True:
        if pos >= end:
            raise _Malformed("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _Malformed("varint too long")


def _fields(buf, what: str):
    """Yield (field number, wire type, value) of one message; value is int or bytes."""
    pos = 0
    end = len(buf)
    count = 0
    while pos < end:
        count += 1
        if count > MAX_FIELDS:
            raise _Malformed(f"{what} has more than {MAX_FIELDS} fields")
        key, pos = _varint(buf, pos)
        num, wire = key >> 3, key & 7
        if num == 0:
            raise _Malformed(f"{what} has a field numbered 0")
        if wire == VARINT:
            val, pos = _varint(buf, pos)
        elif wire == I64:
            if pos + 8 > end:
                raise _Malformed(f"{what}: truncated 64-bit field")
            val = buf[pos:pos + 8]
            pos += 8
        elif wire == LEN:
            size, pos = _varint(buf, pos)
            if size > end - pos:
                raise _Malformed(f"{what}: truncated length-delimited field")
            val = buf[pos:pos + size]
            pos += size
        elif wire == I32:
            if pos + 4 > end:
                raise _Malformed(f"{what}: truncated 32-bit field")
            val = buf[pos:pos + 4]
            pos += 4
        else:
            raise _Malformed(f"{what}: unsupported wire type {wire}")
        yield num, wire, val


def _need(what: str, num: int, wire: int, *allowed: int) -> None:
    if wire not in allowed:
        want = " or ".join(_WIRE_NAMES[w] for w in allowed)
        raise _Malformed(f"{what} field {num} is {_WIRE_NAMES.get(wire, wire)}, expected {want}")


def _text(val, wire, what: str, num: int, limit: int = MAX_NAME) -> str:
    _need(what, num, wire, LEN)
    if len(val) > limit:
        raise _Malformed(f"{what} field {num}: a string of {len(val)} bytes (limit {limit})")
    try:
        return bytes(val).decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed(f"{what} field {num}: not UTF-8 text") from None


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _varints(val, wire, what: str, num: int, limit: int) -> list[int]:
    """One varint, or a packed run of them (at most ``limit``)."""
    _need(what, num, wire, VARINT, LEN)
    if wire == VARINT:
        return [_signed(val)]
    out: list[int] = []
    pos = 0
    while pos < len(val):
        if len(out) >= limit:
            raise _Malformed(f"{what} field {num}: more than {limit} values")
        v, pos = _varint(val, pos)
        out.append(_signed(v))
    return out


def _count(what: str, n: int, limit: int) -> None:
    if n > limit:
        raise _Malformed(f"more than {limit} {what}")


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
    what = "tensor"
    dims, dtype, name, raw = [], 1, "", None
    floats, doubles, packed_ints = [], [], []  # (field, wire, bytes) decoded once dims are known
    for num, wire, val in _fields(buf, what):
        if num == 1:
            dims += _varints(val, wire, what, num, MAX_DIMS)
            _count("tensor dimensions", len(dims), MAX_DIMS)
        elif num == 2:
            _need(what, num, wire, VARINT)
            dtype = val
        elif num == 8:
            name = _text(val, wire, what, num)
            what = f"tensor {name!r}"
        elif num == 9:
            _need(what, num, wire, LEN)
            raw = val
        elif num == 4:
            _need(what, num, wire, I32, LEN)
            floats.append(val)
        elif num == 10:
            _need(what, num, wire, I64, LEN)
            doubles.append(val)
        elif num in (5, 7, 11):
            _need(what, num, wire, VARINT, LEN)
            packed_ints.append((num, wire, val))
        elif num in (13, 14):
            if num == 14:
                _need(what, num, wire, VARINT)
            if num == 13 or val != 0:
                raise _Malformed(f"{what} keeps its data in an external file; save the model "
                                 "as one file")
        elif num in (3, 6):
            raise _Malformed(f"{what}: {'segmented' if num == 3 else 'string'} tensors are "
                             "not supported")
    if dtype not in _DTYPES:
        raise _Malformed(f"{what} has unsupported data type {dtype}")
    np_type = np.dtype(_DTYPES[dtype])
    if any(d < 0 or d > MAX_TENSOR_ELEMENTS for d in dims):
        raise _Malformed(f"{what} has absurd dimensions {dims}")
    count = int(np.prod(dims, dtype=np.int64)) if dims else 1
    if count > MAX_TENSOR_ELEMENTS:
        raise _Malformed(f"{what} has {count} elements (limit {MAX_TENSOR_ELEMENTS})")
    if raw is not None:
        if len(raw) != count * np_type.itemsize:
            raise _Malformed(f"{what}: {len(raw)} bytes for shape {dims}")
        arr = np.frombuffer(raw, dtype=np_type.newbyteorder("<")).astype(np_type)
    elif floats:
        data = b"".join(floats)
        if len(data) != 4 * count:
            raise _Malformed(f"{what}: {len(data) // 4} values for shape {dims}")
        arr = np.frombuffer(data, dtype="<f4").astype(np_type)
    elif doubles:
        data = b"".join(doubles)
        if len(data) != 8 * count:
            raise _Malformed(f"{what}: {len(data) // 8} values for shape {dims}")
        arr = np.frombuffer(data, dtype="<f8").astype(np_type)
    elif packed_ints:
        ints: list[int] = []
        for num, wire, val in packed_ints:
            ints += _varints(val, wire, what, num, count - len(ints) + 1)
            if len(ints) > count:
                raise _Malformed(f"{what}: more values than its shape {dims} holds")
        if dtype in (10,):  # float16 travels as its bit pattern in int32_data
            arr = np.array(ints, dtype=np.int64).astype(np.uint16).view(np.float16)
        else:
            try:
                arr = np.array(ints, dtype=np.int64 if dtype != 13 else np.uint64) \
                    .astype(np_type)
            except OverflowError:
                raise _Malformed(f"{what}: an integer out of range") from None
    else:
        arr = np.zeros(0, dtype=np_type)
    if arr.size != count:
        raise _Malformed(f"{what}: {arr.size} values for shape {dims}")
    return name, arr.reshape(dims)


def _attribute(buf: bytes, where: str):
    what = f"attribute of {where}"
    name, value = "", None
    ints, floats, strings = [], [], []
    for num, wire, val in _fields(buf, what):
        if num == 1:
            name = _text(val, wire, what, num)
            what = f"attribute {name!r} of {where}"
        elif num == 2:
            _need(what, num, wire, I32)
            value = struct.unpack("<f", val)[0]
        elif num == 3:
            _need(what, num, wire, VARINT)
            value = _signed(val)
        elif num == 4:
            _need(what, num, wire, LEN)
            if len(val) > MAX_TEXT:
                raise _Malformed(f"{what}: a string of {len(val)} bytes")
            value = bytes(val).decode("utf-8", "replace")
        elif num == 5:
            _need(what, num, wire, LEN)
            value = _tensor(val)[1]
        elif num in (6, 11):
            raise _Malformed(f"{what} holds a subgraph: control flow (If, Loop, Scan) is not "
                             "supported")
        elif num in (10, 22, 23):
            raise _Malformed(f"{what}: tensor-list and sparse attributes are not supported")
        elif num == 21:
            raise _Malformed(f"{what} refers to a function attribute: functions are not "
                             "supported")
        elif num == 7:
            _need(what, num, wire, I32, LEN)
            if len(val) % 4:
                raise _Malformed(f"{what}: a float list of {len(val)} bytes")
            floats += list(struct.unpack(f"<{len(val) // 4}f", val))
        elif num == 8:
            ints += _varints(val, wire, what, num, MAX_LIST)
        elif num == 9:
            strings.append(_text(val, wire, what, num))
        elif num == 20:
            _need(what, num, wire, VARINT)
        if len(ints) > MAX_LIST or len(floats) > MAX_LIST or len(strings) > MAX_LIST:
            raise _Malformed(f"{what}: more than {MAX_LIST} values")
    if ints:
        value = ints
    elif floats:
        value = floats
    elif strings:
        value = strings
    return name, value


def _node(buf: bytes) -> Node:
    node = Node("", [], [])
    attrs = []
    what = "node"
    for num, wire, val in _fields(buf, what):
        if num == 1:
            node.inputs.append(_text(val, wire, what, num))
        elif num == 2:
            node.outputs.append(_text(val, wire, what, num))
        elif num == 3:
            node.name = _text(val, wire, what, num)
        elif num == 4:
            node.op_type = _text(val, wire, what, num)
            what = f"{node.op_type} node"
        elif num == 7:
            node.domain = _text(val, wire, what, num)
        elif num == 5:
            _need(what, num, wire, LEN)
            attrs.append(val)
            _count("attributes on one node", len(attrs), MAX_ATTRIBUTES)
        _count("inputs or outputs of one node", max(len(node.inputs), len(node.outputs)),
               MAX_NODE_IO)
    for a in attrs:
        k, v = _attribute(a, what)
        node.attrs[k] = v
    return node


def _value_info(buf: bytes) -> ValueInfo:
    info = ValueInfo("")
    what = "graph input/output"
    for num, wire, val in _fields(buf, what):
        if num == 1:
            info.name = _text(val, wire, what, num)
            what = f"graph input/output {info.name!r}"
        elif num == 2:  # TypeProto
            _need(what, num, wire, LEN)
            for tnum, twire, tval in _fields(val, what):
                if tnum != 1:  # sequences, maps and optionals are not audio: elem_type stays 0
                    continue
                _need(what, tnum, twire, LEN)
                for nnum, nwire, nval in _fields(tval, what):
                    if nnum == 1:
                        _need(what, nnum, nwire, VARINT)
                        info.elem_type = nval
                    elif nnum == 2:  # TensorShapeProto
                        _need(what, nnum, nwire, LEN)
                        for snum, swire, sval in _fields(nval, what):
                            if snum != 1:
                                continue
                            _need(what, snum, swire, LEN)
                            dim: int | str | None = None
                            for dnum, dwire, dval in _fields(sval, what):
                                if dnum == 1:
                                    _need(what, dnum, dwire, VARINT)
                                    dim = _signed(dval)
                                elif dnum == 2:
                                    dim = _text(dval, dwire, what, dnum)
                            info.shape.append(dim)
                            _count("dimensions of a graph input/output", len(info.shape),
                                   MAX_DIMS)
    return info


def _graph(buf) -> tuple[list[Node], dict, list[ValueInfo], list[ValueInfo]]:
    nodes: list[Node] = []
    inits: dict[str, np.ndarray] = {}
    inputs: list[ValueInfo] = []
    outputs: list[ValueInfo] = []
    what = "graph"
    for num, wire, val in _fields(buf, what):
        if num == 1:
            _need(what, num, wire, LEN)
            _count("nodes", len(nodes) + 1, MAX_NODES)
            nodes.append(_node(val))
        elif num == 5:
            _need(what, num, wire, LEN)
            _count("initializers", len(inits) + 1, MAX_INITIALIZERS)
            k, arr = _tensor(val)
            inits[k] = arr
        elif num == 15:
            raise _Malformed("sparse initializers are not supported")
        elif num in (11, 12):
            _need(what, num, wire, LEN)
            lst = inputs if num == 11 else outputs
            _count("graph inputs or outputs", len(lst) + 1, MAX_VALUE_INFOS)
            lst.append(_value_info(val))
    return nodes, inits, inputs, outputs


def read_graph(data: bytes, name: str = "<memory>") -> Graph:
    """Parse an ONNX ModelProto. Raises ModelError naming ``name`` on malformed input."""
    view = memoryview(data).cast("B")  # fields are views into the file, never copies
    try:
        graph_bytes = None
        metadata: dict[str, str] = {}
        opset = 0
        what = "model"
        for num, wire, val in _fields(view, what):
            if num == 7:
                _need(what, num, wire, LEN)
                if graph_bytes is not None:
                    raise _Malformed("more than one graph")
                graph_bytes = val
            elif num == 14:
                _need(what, num, wire, LEN)
                _count("metadata entries", len(metadata) + 1, MAX_METADATA)
                key, value = "", ""
                for knum, kwire, kval in _fields(val, "metadata entry"):
                    if knum == 1:
                        key = _text(kval, kwire, "metadata entry", knum)
                    elif knum == 2:
                        value = _text(kval, kwire, "metadata entry", knum, MAX_TEXT)
                metadata[key] = value
            elif num == 8:
                _need(what, num, wire, LEN)
                dom, ver = "", 0
                for onum, owire, oval in _fields(val, "opset import"):
                    if onum == 1:
                        dom = _text(oval, owire, "opset import", onum)
                    elif onum == 2:
                        _need("opset import", onum, owire, VARINT)
                        ver = oval
                if dom in ("", "ai.onnx"):
                    opset = ver
            elif num == 20:
                raise _Malformed("training graphs are not supported")
            elif num == 25:
                raise _Malformed("model-local functions are not supported")
            elif num in (1, 5):
                _need(what, num, wire, VARINT)
            elif num in (2, 3, 4, 6):
                _text(val, wire, what, num, MAX_TEXT)
        if graph_bytes is None:
            raise _Malformed("no graph (not an ONNX model?)")
        nodes, inits, inputs, outputs = _graph(graph_bytes)
        inputs = [v for v in inputs if v.name not in inits]
        if not nodes or not outputs:
            raise _Malformed("graph has no nodes or no outputs")
        return Graph(nodes, inits, inputs, outputs, metadata, opset)
    except _Malformed as exc:
        raise ModelError(f"{name}: not a valid ONNX model ({exc})") from None
    except (ValueError, struct.error) as exc:
        raise ModelError(f"{name}: not a valid ONNX model ({exc})") from None
