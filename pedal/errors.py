"""Errors of the pedal. Each names what it is about (file, key path, rule, value) in one line.

They inherit from a builtin too, so callers that only know Python's exceptions still catch them
(``ConfigError`` is a ``ValueError``, ``AudioFileError`` an ``OSError``).
"""

from __future__ import annotations


class PedalError(Exception):
    """Base of every error the pedal reports to a person."""


class ConfigError(PedalError, ValueError):
    """A preset or config file breaks a rule. ``problems`` holds every line found."""

    def __init__(self, problems: list[str] | str):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class ModelError(PedalError, ValueError):
    """An amp model file cannot be used."""


class IRError(PedalError, ValueError):
    """A cabinet impulse response file cannot be used."""


class AudioFileError(PedalError, OSError):
    """An audio file cannot be read or written."""


def where(path, key: str | None = None) -> str:
    """``file: key`` prefix of an error line."""
    name = str(path) if path is not None else "<memory>"
    return f"{name}: {key}" if key else name
