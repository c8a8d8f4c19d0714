"""A small declarative validator for YAML files (presets now, the daemon's config later).

A schema is a tree of ``Section``s whose leaves are ``Num``, ``NumOrWord``, ``Bool``, ``Choice``, ``Text``,
``FilePath`` and ``Items`` (a list of sections). ``validate`` walks a loaded document, fills
defaults, and collects *every* problem as one line ``file: key.path: rule, got value`` instead
of stopping at the first. Unknown keys are problems too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

_MISSING = object()


def _show(v) -> str:
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


@dataclass
class Num:
    lo: float
    hi: float
    default: float | None = None
    unit: str = ""
    integer: bool = False

    def check(self, v, key, errs):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or \
                (isinstance(v, float) and not math.isfinite(v)):
            errs.append((key, f"must be a number{self._range()}", v))
            return None
        if self.integer and (not float(v).is_integer()):
            errs.append((key, "must be a whole number", v))
            return None
        if not self.lo <= v <= self.hi:
            errs.append((key, f"must be {self._range(True)}", v))
            return None
        return int(v) if self.integer else float(v)

    def _range(self, bare=False):
        r = f"{self.lo:g}..{self.hi:g}" + (f" {self.unit}" if self.unit else "")
        return r if bare else f" ({r})"


@dataclass
class NumOrWord:
    """A number by ``num``'s rule, or one of ``words`` (``audio.sample_rate: model``)."""
    num: Num
    words: tuple
    default: float | str | None = None

    def check(self, v, key, errs):
        if isinstance(v, str) and v in self.words:
            return v
        mine: list = []
        out = self.num.check(v, key, mine)
        if mine:
            errs.append((key, f"must be {self.num._range(True)} or "
                              f"{' or '.join(self.words)}", v))
        return out


@dataclass
class Bool:
    default: bool | None = None

    def check(self, v, key, errs):
        if not isinstance(v, bool):
            errs.append((key, "must be true or false", v))
            return None
        return v


@dataclass
class Choice:
    choices: tuple
    default: str | None = None

    def check(self, v, key, errs):
        if v not in self.choices:
            errs.append((key, f"must be one of {', '.join(self.choices)}", v))
            return None
        return v


@dataclass
class Text:
    default: str | None = None
    max_len: int = 200

    def check(self, v, key, errs):
        if not isinstance(v, str) or len(v) > self.max_len:
            errs.append((key, f"must be text of at most {self.max_len} characters", v))
            return None
        return v


@dataclass
class FilePath:
    """A path, relative to the YAML file's folder; ``search`` folders are tried after it."""
    default: str | None = None
    search: tuple = ()
    must_exist: bool = True

    def check(self, v, key, errs, base: Path | None = None):
        if v == "" and not self.must_exist:
            return ""  # unset: the caller picks a default
        if not isinstance(v, str) or not v.strip():
            errs.append((key, "must be a file path", v))
            return None
        p = Path(v).expanduser()
        candidates = [p] if p.is_absolute() else [(base or Path.cwd()) / p] + \
            [Path(s) / p for s in self.search]
        for c in candidates:
            if c.is_file():
                return c
        if self.must_exist:
            errs.append((key, "file not found", v))
            return None
        return candidates[0]


@dataclass
class NumList:
    item: Num
    max_items: int = 8
    default: list = field(default_factory=list)

    def check(self, v, key, errs):
        if not isinstance(v, list) or len(v) > self.max_items:
            errs.append((key, f"must be a list of at most {self.max_items} numbers", v))
            return None
        out = [self.item.check(x, f"{key}[{i}]", errs) for i, x in enumerate(v)]
        return None if None in out else out


@dataclass
class Section:
    fields: dict
    optional: bool = False  # the whole section may be absent (then it is None)



@dataclass
class Items:
    item: Section
    max_items: int = 32
    default: list = field(default_factory=list)


def validate(doc, schema: Section, *, file: str, base: Path | None = None):
    """Return (normalised document, list of error lines)."""
    errs: list[tuple[str, str, object]] = []
    out = _section(doc, schema, "", errs, base)
    return out, [f"{file}: {k or '(top)'}: {rule}" + ("" if v is _MISSING else f", got {_show(v)}")
                 for k, rule, v in errs]


def _join(prefix: str, key) -> str:
    if isinstance(key, int):
        return f"{prefix}[{key}]"
    return f"{prefix}.{key}" if prefix else str(key)


def _section(doc, schema: Section, path, errs, base):
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        errs.append((path, "must be a mapping of keys to values", type(doc).__name__))
        return None
    out = {}
    for k in doc:
        if k not in schema.fields:
            known = ", ".join(schema.fields)
            errs.append((_join(path, k), f"unknown key (known: {known})", doc[k]))
    for k, rule in schema.fields.items():
        key = _join(path, k)
        if k not in doc or doc[k] is None:
            if isinstance(rule, Section):
                out[k] = None if rule.optional else _section({}, rule, key, errs, base)
            elif isinstance(rule, Items):
                out[k] = []
            elif rule.default is None:  # a leaf without a default is required
                errs.append((key, "is required", _MISSING))
                out[k] = None
            elif isinstance(rule, FilePath):
                out[k] = rule.check(rule.default, key, errs, base)
            else:
                out[k] = rule.default
            continue
        v = doc[k]
        if isinstance(rule, Section):
            out[k] = _section(v, rule, key, errs, base)
        elif isinstance(rule, Items):
            if not isinstance(v, list) or len(v) > rule.max_items:
                errs.append((key, f"must be a list of at most {rule.max_items} entries",
                             type(v).__name__))
                out[k] = []
            else:
                out[k] = [_section(item, rule.item, _join(key, i), errs, base)
                          for i, item in enumerate(v)]
        elif isinstance(rule, FilePath):
            out[k] = rule.check(v, key, errs, base)
        else:
            out[k] = rule.check(v, key, errs)
    return out
