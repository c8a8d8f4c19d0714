"""Reading the pedal's YAML files (presets, the daemon's config) as untrusted text.

PyYAML's safe loader builds only plain values, but it still expands aliases (nine lines of
"billion laughs" grow past a gigabyte) and recurses once per nesting level. This loader refuses
anchors and aliases and every tag that is not a plain scalar, list or mapping, limits the
nesting depth and the file size, and reports each refusal as one line naming the file, the line
and the column.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import ConfigError

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32
_PLAIN_TAGS = {"tag:yaml.org,2002:" + t for t in ("str", "int", "float", "bool", "null", "map",
                                                  "seq")}


class _Refused(yaml.YAMLError):
    def __init__(self, mark, problem):
        super().__init__(problem)
        self.problem_mark, self.problem = mark, problem


class _Loader(yaml.SafeLoader):
    """SafeLoader without anchors, aliases, tags or deep nesting."""

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(event.start_mark, "aliases (*name) are not allowed")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(event.start_mark, f"anchors (&{anchor}) are not allowed")
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _Refused(event.start_mark, f"nested deeper than {MAX_DEPTH} levels")
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node.tag not in _PLAIN_TAGS:
            raise _Refused(node.start_mark, f"the tag {node.tag!r} is not allowed")
        return node


def read_yaml(path: Path, what: str = "file"):
    """The document in ``path`` (``{}`` when empty); ConfigError naming the file otherwise."""
    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: {what} not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a {what}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} ({exc.strerror})") from None
    if len(data) > MAX_BYTES:
        raise ConfigError(f"{path}: {what} is over {MAX_BYTES // 1024} KiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file") from None
    try:
        doc = yaml.load(text, Loader=_Loader)  # noqa: S506 - _Loader is a SafeLoader
    except RecursionError:
        raise ConfigError(f"{path}: invalid YAML: nested too deeply") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{path}: invalid YAML: {at}{problem}") from None
    return {} if doc is None else doc
