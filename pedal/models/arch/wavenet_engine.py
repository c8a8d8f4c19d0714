"""The numba engine of every WaveNet form (``WaveNetSpec``): the weights packed once into one
array with a row of offsets and codes per layer array, layer and post-head convolution (the
columns are named in kernels/wavenet.py), the history buffers in one array and the scratch rows
in another, both bounded before they are allocated, and one kernel call per block. The prewarmed state
is computed once per prepare and copied back on reset."""

from __future__ import annotations

import numpy as np

from ...dsp import aligned
from ...kernels import wavenet as K
from ...kernels.activations import CODES
from ...kernels.wavenet import wavenet_block
from ...errors import ModelError
from .. import budget
from .wavenet import FILM_SITES, GATING, REWIND_BLOCKS, Activation, WaveNetSpec


class WaveNetEngine:
    """Runs a WaveNetSpec with one kernel call per block (``wavenet_block``): all weights
    packed in one array, every history (channel-major, so the inner loops run over the
    block's time steps) and scratch row in another, the sizes, offsets and position in an int
    table. A condition network runs first, in its own engine."""

    def __init__(self, spec: WaveNetSpec, knobs=(), *, fast_tanh: bool = False,
                 precise: bool = False, condition_net: bool = False):
        """fast_tanh: NAM's rational tanh approximation in place of tanh, as the NAM plugin
        runs its models (``enable_fast_tanh``); exact tanh is the default. precise is an
        LSTM/GRU option: WaveNets run float32, as NAM Core does."""
        spec.validate(condition_net=condition_net)
        self.spec = spec
        self.fast_tanh = bool(fast_tanh)
        self._is_condition = bool(condition_net)
        self._hs = float(spec.head_scale)
        self.set_knobs(knobs)
        self._cond_engine = None if spec.condition is None else \
            WaveNetEngine(spec.condition, fast_tanh=fast_tanh, condition_net=True)
        pool: list[np.ndarray] = []
        used = 0

        def put(arr):
            nonlocal used
            flat = np.ascontiguousarray(arr, dtype=np.float32).reshape(-1)
            pool.append(flat)
            used += flat.size
            return used - flat.size

        def put_act(act: Activation, width: int) -> int:
            """The activation's parameters (four, or one slope per channel for PReLU)."""
            p = [float(v) for v in act.params]
            if act.name == "PReLU":
                return put(np.resize(np.array(p or [0.01], np.float32), width))
            if act.name == "LeakyHardtanh":
                d = [-1.0, 1.0, 0.01, 0.01]
                return put(np.array(p + d[len(p):], np.float32))
            return put(np.array((p or [0.01]) + [0.0] * 3, np.float32)[:4])

        arr_rows, lay_rows = [], []
        first = 0
        for a in spec.arrays:
            rechannel = put(a.rechannel.T)  # [Cin, C]
            for j, (w, b, m, d) in enumerate(zip(a.conv_w, a.conv_b, a.mixin, a.dilations)):
                row = np.full(K.L_COLS, -1, np.int64)  # the buffer columns are set in prepare
                row[K.L_DIL], row[K.L_K], row[K.L_M], row[K.L_B] = int(d), a.kernel(j), \
                    a.m(j), a.b
                row[K.L_CONV] = put(np.transpose(w, (2, 1, 0)))  # [K, C, M]
                row[K.L_CONV_B], row[K.L_MIXIN] = put(b), put(m.T)  # mixin [Cc, M]
                if a.layer1x1:
                    row[K.L_1X1], row[K.L_1X1_B] = put(a.w1x1[j].T), put(a.b1x1[j])
                if a.layer_head_w:
                    row[K.L_HEAD] = put(a.layer_head_w[j].T)  # [C, A]
                if a.head1x1_w and a.head1x1_b:
                    row[K.L_H1] = put(a.head1x1_w[j].T)  # [B, H1]
                    row[K.L_H1_B] = put(a.head1x1_b[j])
                act = a.act(j)
                row[K.L_ACT] = self._activation(act.name)
                row[K.L_ACT_P] = put_act(act, a.b)
                row[K.L_GATE] = GATING.index(a.gate(j))
                gact = a.gate_act(j)
                row[K.L_GATE_ACT] = self._activation(gact.name)
                row[K.L_GATE_P] = put_act(gact, a.b)
                for s, site in enumerate(FILM_SITES):
                    f = a.film(j, site)
                    if f is not None:
                        row[K.L_FILM + 2 * s] = put(np.concatenate([f.w.ravel(), f.b]))
                        row[K.L_FILM + 2 * s + 1] = int(f.shift)
                lay_rows.append(row)
            row = np.full(K.A_COLS, -1, np.int64)
            row[K.A_CH], row[K.A_IN], row[K.A_HEAD] = a.channels, a.input_size, a.head_size
            row[K.A_FIRST], row[K.A_LAYERS] = first, a.n_layers
            row[K.A_RECHANNEL] = rechannel
            hw = a.head_w if a.head_w.ndim == 3 else a.head_w[:, :, None]
            row[K.A_HEAD_W] = put(np.transpose(hw, (2, 1, 0)))  # [Kh, A, Hd]
            row[K.A_HEAD_B] = put(a.head_b if a.head_b is not None else np.zeros(a.head_size))
            row[K.A_RECHANNEL_B] = put(a.rechannel_b) if a.rechannel_b is not None else -1
            row[K.A_ACC], row[K.A_HK], row[K.A_HDIL] = a.head_inputs, a.head_kernel, \
                a.head_dilation
            arr_rows.append(row)
            first += a.n_layers
        ph_rows = []
        if spec.post_head is not None:
            act = spec.post_head.activation
            for w, b in spec.post_head.convs:
                row = np.full(K.P_COLS, -1, np.int64)
                row[K.P_IN], row[K.P_OUT], row[K.P_K] = w.shape[1], w.shape[0], w.shape[2]
                row[K.P_W] = put(np.transpose(w, (2, 1, 0)))  # [K, in, out]
                row[K.P_B] = put(b)
                row[K.P_ACT] = self._activation(act.name)
                row[K.P_ACT_P] = put_act(act, w.shape[1])
                ph_rows.append(row)
        self._wp = aligned.copy(np.concatenate(pool))
        self._arr = np.array(arr_rows, dtype=np.int64)
        self._lay = np.array(lay_rows, dtype=np.int64)
        self._ph = np.array(ph_rows, dtype=np.int64).reshape(len(ph_rows), K.P_COLS)
        self._max_block = 0
        self._warm = None

    def _activation(self, name: str) -> int:
        if self.fast_tanh and name == "Tanh":
            return CODES["Fasttanh"]
        return CODES[name]

    def set_knobs(self, knobs):
        if len(list(knobs)):
            raise ModelError("this WaveNet takes no knob values")
        self.knobs = []

    def prepare(self, max_block: int) -> None:
        f = np.float32
        spec = self.spec
        self._max_block = max_block
        if self._cond_engine is not None:
            self._cond_engine.prepare(max_block)  # reset below, with this engine
        keeps = [(a.kernel(j) - 1) * d for a in spec.arrays for j, d in enumerate(a.dilations)]
        keeps += [(a.head_kernel - 1) * a.head_dilation for a in spec.arrays]
        keeps += [w.shape[2] - 1 for w, _ in (spec.post_head.convs if spec.post_head else [])]
        self._keep = max(max(keeps), 1)
        vec = aligned.ALIGN // 4  # floats per cache line: every row starts on one
        # room for REWIND_BLOCKS blocks of 64 between rewinds (fewer, never under 4, when the
        # blocks are large: a rewind copies one receptive field, the blocks cost far more)
        blocks = max(4, min(REWIND_BLOCKS, (REWIND_BLOCKS * 64) // max_block))
        self._rows = -(-(self._keep + max_block * blocks) // vec) * vec
        bufs: list[tuple[int, int]] = []  # (offset, channels) of every history buffer
        off = 0

        def buf(channels: int) -> int:
            nonlocal off
            bufs.append((off, channels))
            off += self._rows * channels
            return off - self._rows * channels

        for i, a in enumerate(spec.arrays):  # n layers + 1 buffers per array, and its head's
            first, n_lay = self._arr[i, K.A_FIRST], self._arr[i, K.A_LAYERS]
            for j in range(n_lay + 1):  # layer j reads buffer j and writes buffer j + 1
                o = buf(a.channels)
                if j < n_lay:
                    self._lay[first + j, K.L_IN] = o
                    self._lay[first + j, K.L_CIN] = buf(a.channels) \
                        if a.film(j, "conv_pre") is not None else o
                if j > 0:
                    self._lay[first + j - 1, K.L_OUT] = o
            self._arr[i, K.A_OUT] = self._lay[first + n_lay - 1, K.L_OUT]
            self._arr[i, K.A_HACC] = buf(a.head_inputs)
        for r in range(self._ph.shape[0]):
            self._ph[r, K.P_BUF] = buf(int(self._ph[r, K.P_IN]))
        self._bufs = np.array(bufs, dtype=np.int64).reshape(len(bufs), 2)
        widest = max(max(a.channels, a.head_size, a.head_inputs, 2 * a.b)
                     for a in spec.arrays)
        if spec.post_head is not None:
            widest = max([widest] + [w.shape[0] for w, _ in spec.post_head.convs])
        cc = spec.arrays[0].condition_size
        width = -(-max_block // vec) * vec
        head = np.zeros(K.H_COLS, np.int64)
        # the scratch: W_COUNT arrays of as many rows as the widest needs (FiLM's scale and
        # shift: two per channel), and one more row, so that at most widths the arrays do not
        # start a multiple of 4 KB apart (not measured to matter)
        n_rows = 2 * max(widest, cc) + 1
        # bounded before anything is allocated for it
        budget.check("WaveNet", state=off + K.W_COUNT * n_rows * width)
        self._bp = aligned.zeros(off, f)
        self._ws = aligned.zeros((K.W_COUNT, n_rows, width), f)
        # views, for a parent engine (its condition) and the tests
        self._acc, self._hout = self._ws[K.W_ACC], self._ws[K.W_HOUT]
        self._yout = self._ws[K.W_YOUT, :spec.out_channels]
        self._cond = self._ws[K.W_COND, :cc]
        head[K.H_ROWS], head[K.H_KEEP] = self._rows, self._keep
        head[K.H_GIVEN], head[K.H_TO_X] = int(self._cond_engine is not None), \
            int(not self._is_condition)
        head[K.H_CC] = cc
        parts, at = [head], K.H_COLS
        for key, count, table in ((K.H_ARR, K.H_N_ARR, self._arr), (K.H_LAY, K.H_N_LAY, self._lay),
                                  (K.H_PH, K.H_N_PH, self._ph), (K.H_BUF, K.H_N_BUF, self._bufs)):
            head[key], head[count] = at, table.shape[0]
            parts.append(table.reshape(-1))
            at += table.size
        self._tab = np.concatenate(parts).astype(np.int64)
        self._warm = None
        self.reset()

    def reset(self) -> None:
        """Back to the prewarmed state: computed once per prepare (NAM Core caches it too),
        copied back after that."""
        if self._warm is not None:
            self._restore(self._warm)
            return
        for e in self._engines():
            e._bp[:] = 0.0
            e._tab[K.H_POS] = e._keep
        if not self.spec.prewarm:
            return
        # prewarm: the state a long silence leaves (NAM Core does the same on Reset)
        zeros = np.zeros(self._max_block, np.float32)
        left = max(self.spec.receptive_field + 1, self.spec.prewarm_samples)
        while left > 0:
            n = min(left, self._max_block)
            zeros[:n] = 0.0
            self.process(zeros[:n])
            left -= n
        self._warm = self._state()

    def _state(self):
        """The histories and the position, of this engine and its condition network's (the
        scratch rows hold nothing from one block to the next)."""
        return [(e._bp.copy(), int(e._tab[K.H_POS])) for e in self._engines()]

    def _restore(self, state) -> None:
        for e, (bp, pos) in zip(self._engines(), state):
            e._bp[:] = bp
            e._tab[K.H_POS] = pos

    def _engines(self) -> list[WaveNetEngine]:
        """This engine and its condition network's, if it has one."""
        return [self] if self._cond_engine is None else [self, self._cond_engine]

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        n = x.shape[0]
        c = self._cond_engine
        if c is not None:  # the condition network over this block's input, into _cond
            wavenet_block(x, n, in_gain, 1.0, c._hs, c._wp, c._bp, c._ws, c._tab,
                          self._cond)
        wavenet_block(x, n, in_gain, out_gain, self._hs, self._wp, self._bp, self._ws,
                      self._tab, self._yout)
