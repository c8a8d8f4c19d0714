"""The block contract and the chain.

A block is prepared once for a sample rate and a maximum block size (it allocates everything it
will ever need there), then ``process`` runs on the audio thread, in place, on any number of
samples from 0 to that maximum, without allocating, locking, logging or touching files.
``reset`` clears tails and state but keeps parameters. ``latency`` is in samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ProcessSpec:
    sample_rate: float
    max_block: int

    def __post_init__(self):
        if not (8000 <= self.sample_rate <= 384000):
            raise ValueError(f"sample_rate must be 8000..384000 Hz, got {self.sample_rate}")
        if not (1 <= self.max_block <= 8192):
            raise ValueError(f"max_block must be 1..8192 samples, got {self.max_block}")


class Block:
    """Base class of every DSP stage. Subclasses implement ``_prepare`` and ``process``."""

    name = "block"

    def __init__(self):
        self.spec: ProcessSpec | None = None
        self.enabled = True

    def prepare(self, spec: ProcessSpec) -> None:
        """Allocate and warm up for ``spec``. Not real-time safe."""
        self.spec = spec
        self._prepare(spec)
        self.reset()

    def _prepare(self, spec: ProcessSpec) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def process(self, buf: np.ndarray) -> None:  # pragma: no cover - interface
        """Process ``buf`` (float32, 1-D, len <= max_block) in place. Real-time safe."""
        raise NotImplementedError

    def reset(self) -> None:
        """Clear state and tails; parameters stay."""

    @property
    def latency(self) -> int:
        return 0

    def describe(self) -> str:
        return self.name

    def _check_prepared(self):
        if self.spec is None:
            raise RuntimeError(f"{self.name}: prepare() must be called before process()")


class Chain(Block):
    """Blocks in series; itself a block. Behaves like a list of blocks.

    A disabled block is skipped (bypassed) without touching its state.
    """

    name = "chain"

    def __init__(self, blocks=()):
        super().__init__()
        self._blocks: list[Block] = list(blocks)
        self._active: tuple = tuple(self._blocks)

    # list behaviour -----------------------------------------------------------------
    def __len__(self):
        return len(self._blocks)

    def __iter__(self):
        return iter(self._blocks)

    def __getitem__(self, i):
        return self._blocks[i]

    def append(self, block: Block):
        self._blocks.append(block)
        if self.spec is not None:
            block.prepare(self.spec)
        self._refresh()

    def by_name(self, name: str) -> Block | None:
        for b in self._blocks:
            if b.name == name:
                return b
        return None

    def set_enabled(self, name: str, enabled: bool) -> None:
        block = self.by_name(name)
        if block is None:
            raise KeyError(name)
        block.enabled = bool(enabled)
        self._refresh()

    def _refresh(self):
        # one tuple swap: the audio thread sees either the old or the new tuple, never a mix
        self._active = tuple(b for b in self._blocks if b.enabled)

    # block contract -------------------------------------------------------------------
    def _prepare(self, spec):
        for b in self._blocks:
            b.prepare(spec)
        self._refresh()

    def process(self, buf):
        for b in self._active:
            b.process(buf)

    def reset(self):
        for b in self._blocks:
            b.reset()

    @property
    def latency(self):
        return sum(b.latency for b in self._active)

    def meters(self) -> dict:
        """Each metering block's figures, by block name (read from any thread: float slots)."""
        return {b.name: b.meters() for b in self._blocks if hasattr(b, "meters")}

    def describe(self):
        return " -> ".join(b.describe() for b in self._active) or "(empty chain)"
