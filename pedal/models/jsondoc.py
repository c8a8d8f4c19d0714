"""JSON model files read as untrusted data.

Model files come from the internet. ``parse`` turns bytes into Python values (UTF-8, with or
without a byte-order mark; nesting refused past Python's recursion limit as a clean error), and
``Node`` gives typed access with the key path in every error, so a loader reads a document the
way a schema would::

    doc = Node(parse(data, name), name)
    hidden = doc["model_data"]["hidden_size"].int(1, 256)
    w = doc["state_dict"]["rec.weight_ih_l0"].array((4 * hidden, 1))

and a wrong type, a missing key or a bad value is one line: ``file: model_data.hidden_size:
must be a whole number 1..256, got 'x'``. Numbers are numbers: strings, booleans and nulls
where a number belongs are refused (``array(strings=True)`` admits numeric strings for the
formats that store weights that way), and so are NaN, Infinity and numbers that overflow to
infinity (``1e400``): the parser lets them through as floats so that the accessor, which knows
the key, refuses them.
"""

from __future__ import annotations

import builtins
import json
import math

import numpy as np

from ..errors import ModelError

_MISSING = object()
FLOAT32_MAX = float(np.finfo(np.float32).max)


def _show(v) -> str:
    if isinstance(v, (dict, list)):
        return f"a {'JSON object' if isinstance(v, dict) else 'list'}"
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def parse(data: bytes, name: str):
    """JSON text (bytes) -> Python values; raises ModelError naming ``name``."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ModelError(f"{name}: not UTF-8 text (byte {exc.start})") from None

    try:
        return json.loads(text)
    except RecursionError:
        raise ModelError(f"{name}: JSON nested too deeply to be a model file") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg} (truncated file?)") from None
    except ValueError as exc:  # an integer of thousands of digits
        raise ModelError(f"{name}: JSON holds a number that is not usable "
                         f"({str(exc).splitlines()[0][:80]})") from None


def _has_bool_or_none(v, depth=0) -> bool:
    if depth > 8:
        return True
    if isinstance(v, list):
        return any(x is True or x is False or x is None or
                   (isinstance(x, list) and _has_bool_or_none(x, depth + 1)) for x in v)
    return v is True or v is False or v is None


class Node:
    """A value of a JSON document, with the file name and key path its errors name."""

    __slots__ = ("value", "name", "key")

    def __init__(self, value, name: str, key: builtins.str = ""):
        self.value, self.name, self.key = value, name, key

    # -- errors ------------------------------------------------------------------------------
    def error(self, rule: str, show: builtins.bool = True) -> ModelError:
        where = f"{self.name}: {self.key or '(top)'}"
        got = f", got {_show(self.value)}" if show else ""
        return ModelError(f"{where}: {rule}{got}")

    # -- navigation --------------------------------------------------------------------------
    def _child(self, key):
        path = f"{self.key}[{key}]" if isinstance(key, builtins.int) else \
            (f"{self.key}.{key}" if self.key else str(key))
        return path

    def __getitem__(self, key) -> "Node":
        v = self.get(key, _MISSING)
        if v is _MISSING:
            raise ModelError(f"{self.name}: {self._child(key)}: missing")
        return v

    def get(self, key, default=None):
        """The child ``key`` as a Node, or ``default`` when absent (or null)."""
        if isinstance(key, builtins.int):
            items = self.list()
            return Node(items[key], self.name, self._child(key)) if 0 <= key < len(items) \
                else default
        d = self.obj()
        if key not in d or d[key] is None:
            return default
        return Node(d[key], self.name, self._child(key))

    def has(self, key) -> builtins.bool:
        return isinstance(self.value, dict) and self.value.get(key) is not None

    def keys(self) -> list[builtins.str]:
        return list(self.obj())

    def items(self):
        return [Node(v, self.name, self._child(i)) for i, v in enumerate(self.list())]

    # -- typed values ------------------------------------------------------------------------
    def obj(self) -> dict:
        if not isinstance(self.value, dict):
            raise self.error("must be a JSON object")
        return self.value

    def list(self, lo: builtins.int = 0, hi: builtins.int = 1 << 24) -> list:
        if not isinstance(self.value, list):
            raise self.error("must be a list")
        if not lo <= len(self.value) <= hi:
            raise self.error(f"must have {lo}..{hi} entries, it has {len(self.value)}",
                             show=False)
        return self.value

    def int(self, lo: int, hi: int) -> builtins.int:
        v = self.value
        if isinstance(v, float) and v.is_integer():
            v = int(v)
        if isinstance(v, builtins.bool) or not isinstance(v, builtins.int) or not lo <= v <= hi:
            raise self.error(f"must be a whole number {lo}..{hi}")
        return v

    def num(self, lo: float = -math.inf, hi: float = math.inf, strings: builtins.bool = False) -> float:
        v = self.value
        if strings and isinstance(v, builtins.str):
            try:
                v = float(v)
            except ValueError:
                raise self.error("must be a number") from None
        if isinstance(v, builtins.int) and not isinstance(v, builtins.bool) and abs(v) > 1 << 60:
            v = math.inf  # refused below, with the range
        if isinstance(v, builtins.bool) or not isinstance(v, (builtins.int, float)) or not math.isfinite(v) \
                or not lo <= v <= hi:
            raise self.error("must be a number" + (f" {lo:g}..{hi:g}" if
                                                    math.isfinite(lo) or math.isfinite(hi)
                                                    else ""))
        return float(v)

    def str(self, choices=None, max_len: builtins.int = 200) -> builtins.str:
        v = self.value
        if not isinstance(v, builtins.str) or len(v) > max_len:
            raise self.error(f"must be text of at most {max_len} characters")
        if choices is not None and v not in choices:
            raise self.error(f"must be one of {', '.join(map(builtins.str, choices))}")
        return v

    def bool(self) -> builtins.bool:
        v = self.value
        if isinstance(v, builtins.bool):
            return v
        if isinstance(v, builtins.int) and v in (0, 1):
            return bool(v)
        raise self.error("must be true or false")

    def array(self, shape=None, ndim=None, strings: builtins.bool = False,
              max_size: builtins.int = 16_000_000) -> np.ndarray:
        """A rectangular array of finite numbers (float64), optionally of a given shape or
        number of dimensions."""
        v = self.value
        if not isinstance(v, list):
            if isinstance(v, (builtins.int, float)) and not isinstance(v, builtins.bool) and ndim in (None, 0) \
                    and shape in (None, ()):
                return np.asarray(self.num(), np.float64)
            raise self.error("must be a list of numbers")
        if strings:
            try:
                a = np.asarray(v, dtype=np.float64)
            except (TypeError, ValueError, OverflowError):
                raise self.error("must be a rectangular list of numbers") from None
            if _has_bool_or_none(v):
                raise self.error("must be a list of numbers (it holds true, false or null)",
                                 show=False)
        else:
            try:
                raw = np.asarray(v)
            except (TypeError, ValueError, OverflowError):
                raise self.error("must be a rectangular list of numbers") from None
            if raw.dtype.kind not in "if":
                what = {"U": "text", "b": "true/false", "O": "mixed values"}.get(raw.dtype.kind,
                                                                               "non-numbers")
                raise self.error(f"must be a list of numbers (it holds {what})", show=False)
            if _has_bool_or_none(v):
                raise self.error("must be a list of numbers (it holds true, false or null)",
                                 show=False)
            try:
                a = raw.astype(np.float64)
            except OverflowError:
                raise self.error("must be a list of numbers (one overflows)", show=False) \
                    from None
        if a.size > max_size:
            raise self.error(f"has {a.size} values, over the limit of {max_size}", show=False)
        if not np.all(np.isfinite(a)):
            raise self.error("NaN or infinite values", show=False)
        if a.size and np.max(np.abs(a)) > FLOAT32_MAX:
            raise self.error("a value beyond the float32 range the engines compute in",
                             show=False)
        if shape is not None and a.shape != tuple(shape):
            raise self.error(f"has shape {a.shape}, expected {tuple(shape)}", show=False)
        if ndim is not None and a.ndim != ndim:
            raise self.error(f"has {a.ndim} dimensions, expected {ndim}", show=False)
        return a
