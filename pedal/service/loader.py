"""The loader process: model files and presets are parsed, checked and timed in a child process
with its own limits, and only the finished descriptions come back.

Model files arrive over ssh from anywhere. Parsing one can take seconds of C code that holds the
GIL (``json.loads`` of a 30 MB file), its real-time check costs the audio thread blocks when it
runs in the daemon, and a file the checks did not foresee could hang or crash a parser. So the
daemon hands every file to a worker process (``python -m pedal.service.loader``) that

- runs at a lower priority (nice 10) with an address-space limit (``memory_mb``) set before it
  imports anything, and a CPU-time limit per job (``RLIMIT_CPU``: SIGXCPU ends it);
- loads the file with the same loaders as everywhere else, checks its sample rate and times it
  against the real-time budget at the pedal's block size;
- sends back the description as data (``wire.py``: JSON and raw arrays, never pickle).

The daemon waits for at most ``wall_s`` per job, kills a worker that takes longer, and starts a
new one for the next job. A worker idle for ``idle_exit_s`` is told to exit and started again
for the next job: its ~64 MB (proportional share; onnxruntime, and numba with LLVM when the
kernels run JIT: ~150 MB) matter on a 512 MB Zero 2 W, and a file dropped later waits the
worker's start-up (under a second) once. A worker that dies (a crash, a limit) is reported as that file's
error, one line; the daemon and its audio are untouched. The worker warms its numba kernels
once, after its first job (``_warm``).
"""

from __future__ import annotations

import collections
import logging
import os
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Callable

from ..errors import AudioFileError, ConfigError, IRError, ModelError, PedalError

log = logging.getLogger("pedal")


class LoaderError(PedalError, RuntimeError):
    """The loader process failed on a job (it crashed, hit a limit, or took too long)."""


@dataclass(frozen=True)
class LoaderLimits:
    memory_mb: int = 1536   # address space of the worker (its imports alone take ~530 MB)
    cpu_s: float = 20.0     # CPU seconds per job
    wall_s: float = 20.0    # seconds the daemon waits for one job
    nice: int = 10
    idle_exit_s: float = 60.0  # a worker with no job for this long exits (0: it never does)


_ERRORS = {"ModelError": ModelError, "ConfigError": ConfigError, "IRError": IRError,
           "AudioFileError": AudioFileError}


class _Job:
    __slots__ = ("kind", "args", "callback", "done", "result", "error", "what")

    def __init__(self, kind, args, callback=None):
        self.kind, self.args, self.callback = kind, args, callback
        self.done = threading.Event()
        self.result = None
        self.error: Exception | None = None
        self.what = str(args.get("path", kind))


class Loader:
    """The daemon's side: one worker at a time, jobs one after another on a thread of its own.

    ``call`` waits for a job's result (start-up); ``submit`` returns at once and the callback
    gets ``(result, error)`` on the loader thread (the daemon posts it to its own queue)."""

    def __init__(self, limits: LoaderLimits = LoaderLimits()):
        self.limits = limits
        self._proc: subprocess.Popen | None = None
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self._jobs: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.restarts = 0
        self.jobs_done = 0
        self.idle_exits = 0

    # -- public ------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the worker now (it takes a second to import and warm up)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="pedal-loader",
                                            daemon=True)
            self._thread.start()
        self._jobs.put(None)  # the serving thread starts the worker before the first job

    def submit(self, kind: str, callback, **args) -> None:
        if self._thread is None:
            self.start()
        self._jobs.put(_Job(kind, args, callback))

    def call(self, kind: str, timeout: float | None = None, **args):
        """Run a job and return its result; raises the job's error."""
        job = _Job(kind, args)
        if self._thread is None:
            self.start()
        self._jobs.put(job)
        if not job.done.wait(timeout if timeout is not None else self.limits.wall_s + 30):
            raise LoaderError(f"{job.what}: the loader did not answer")
        if job.error is not None:
            raise job.error
        return job.result

    def close(self) -> None:
        self._closed = True
        self._jobs.put(None)
        self._kill()
        if self._thread is not None:
            self._thread.join(5)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None and self._proc.poll() is None else None

    # -- the loader thread -------------------------------------------------------------------
    def _serve(self):
        idle = self.limits.idle_exit_s
        while not self._closed:
            try:
                job = self._jobs.get(timeout=idle if idle > 0 and self.pid else None)
            except queue.Empty:
                self._retire()
                continue
            if self._closed:
                break
            if job is None:
                self._ensure()
                continue
            try:
                job.result = self._run(job)
            except Exception as exc:  # noqa: BLE001 - every failure is the job's error
                job.error = exc if isinstance(exc, PedalError) else \
                    LoaderError(f"{job.what}: {type(exc).__name__}: {exc}")
            self.jobs_done += 1
            job.done.set()
            if job.callback is not None:
                try:
                    job.callback(job.result, job.error)
                except Exception:  # noqa: BLE001 - a callback must not end the loader
                    log.exception("loader callback failed")

    def _ensure(self) -> subprocess.Popen:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc
        if self._proc is not None:
            self.restarts += 1
        lim = self.limits
        env = dict(os.environ, OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1",
                   OPENBLAS_NUM_THREADS="1", PYTHONUNBUFFERED="1")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "pedal.service.loader", str(lim.memory_mb), str(lim.nice)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
            close_fds=True)
        threading.Thread(target=self._drain, args=(self._proc,), name="pedal-loader-log",
                         daemon=True).start()
        return self._proc

    def _retire(self) -> None:
        """An idle worker: its stdin closed, it leaves its loop and exits; not a restart."""
        p = self._proc
        if p is None or p.poll() is not None:
            return
        self.idle_exits += 1  # counted first: ``pid`` is None as soon as it has exited
        try:
            assert p.stdin is not None
            p.stdin.close()
            p.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            p.kill()
            p.wait(5)
        self._proc = None
        log.debug("loader: idle for %g s, its worker exited", self.limits.idle_exit_s)

    def _drain(self, proc):
        for line in proc.stderr:
            text = line.decode("utf-8", "replace").rstrip()
            self._stderr.append(text)
            log.debug("loader: %s", text)

    def _kill(self):
        p, self._proc = self._proc, None
        if p is not None and p.poll() is None:
            p.kill()
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if p is not None:
            self._proc = p  # keep its return code for the report; _ensure replaces it

    def _run(self, job: _Job):
        import json

        from .wire import WireError, unpack

        proc = self._ensure()
        request = {"kind": job.kind, "args": job.args, "cpu_s": self.limits.cpu_s}
        try:
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(request, default=str).encode() + b"\n")
            proc.stdin.flush()
        except OSError:
            pass  # it died; the read below reports how
        deadline = time.monotonic() + self.limits.wall_s
        try:
            (n,) = struct.unpack(">I", self._read(proc, 4, deadline, job))
            reply = unpack(self._read(proc, n, deadline, job))
        except WireError as exc:
            self._kill()
            raise LoaderError(f"{job.what}: the loader sent a malformed reply ({exc})") from None
        if not isinstance(reply, dict):
            raise LoaderError(f"{job.what}: the loader sent a malformed reply")
        if reply.get("ok"):
            return reply.get("result")
        cls = _ERRORS.get(str(reply.get("type")), LoaderError)
        lines = reply.get("lines") or [f"{job.what}: failed"]
        raise cls(lines) if cls is ConfigError else cls("\n".join(lines))

    def _read(self, proc, n: int, deadline: float, job: _Job) -> bytes:
        fd = proc.stdout.fileno()
        chunks, got = [], 0
        while got < n:
            left = deadline - time.monotonic()
            ready = select.select([fd], [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                self._kill()
                raise ModelError(f"{job.what}: loading took longer than "
                                 f"{self.limits.wall_s:g} s; the file is skipped")
            chunk = os.read(fd, min(n - got, 1 << 20))
            if not chunk:
                raise self._died(proc, job)
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)

    def _died(self, proc, job) -> PedalError:
        try:
            code = proc.wait(5)
        except subprocess.TimeoutExpired:
            code = None
        self._kill()
        if code == -signal.SIGXCPU:
            return ModelError(f"{job.what}: loading used more than {self.limits.cpu_s:g} s of "
                              "CPU; the file is skipped")
        if code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS, 1, -signal.SIGKILL):
            tail = next((l for l in reversed(self._stderr) if l.strip()), "")
            hint = f" ({tail[-160:]})" if tail else ""
            return ModelError(f"{job.what}: the loader process died on this file (exit "
                              f"{code}, out of memory or a crash){hint}; the file is skipped")
        return LoaderError(f"{job.what}: the loader process ended (exit {code})")


# -- the worker ------------------------------------------------------------------------------
def _job_model(path, sample_rate=None, block=None, max_load=0.5):
    """A file dropped into the models folder: loaded, its size chosen (``amp.slim: auto``: the
    largest this machine runs at the pedal's block), its loudness measured, its rate and
    speed checked."""
    from ..models import load_model
    from ..models.info import check_rate, pick_slim
    from ..preset import measure_loudness

    model = load_model(path)
    knobs = [0.5] * model.knob_count
    if sample_rate:
        note = check_rate(model, int(sample_rate))
        if note:
            model.notices.append(note)
    load = None
    if block:
        model, load = pick_slim(model, int(block), float(max_load), knobs=knobs,
                                rate=sample_rate)
    measure_loudness(model, knobs)
    return {"model": model, "load": load}


def _job_preset(path, sample_rate=None, block=None, max_load=0.5):
    from ..models.info import check_rate, check_realtime, pick_slim
    from ..preset import load_preset, measure_loudness

    preset = load_preset(path)
    if sample_rate:
        note = check_rate(preset.model, int(sample_rate))
        if note:
            preset.notices.append(note)
    load = None
    knobs = preset.data["amp"]["knobs"]
    if block and preset.model.slimmable:  # amp.slim: auto
        preset.model, load = pick_slim(preset.model, int(block), float(max_load), knobs=knobs,
                                       rate=sample_rate)
        if preset.data["amp"]["normalize_loudness"]:
            measure_loudness(preset.model, knobs)
    elif block:
        load = check_realtime(preset.model, int(block), float(max_load), knobs=knobs,
                              rate=sample_rate)
    return {"preset": preset, "load": load}


JOBS: dict[str, Callable] = {"model": _job_model, "preset": _job_preset,
                             "ping": lambda: "pong"}


def _limit_cpu(seconds: float) -> None:
    import resource

    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(used.ru_utime + used.ru_stime + seconds) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def worker(memory_mb: int, nice: int) -> int:
    """The child's main: limits first, then imports, then one JSON request per line."""
    import resource

    limit = int(memory_mb) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    os.nice(int(nice))
    from .. import kernels

    kernels.choose()  # as the daemon does: the ahead-of-time kernels when built
    import json

    from .wire import pack

    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # anything a library prints must not corrupt the replies
    warmed = False
    for line in sys.stdin.buffer:
        try:
            req = json.loads(line)
            fn = JOBS[req["kind"]]
            _limit_cpu(float(req.get("cpu_s", 20)))
            reply = {"ok": True, "result": fn(**req.get("args", {}))}
        except ConfigError as exc:
            reply = {"ok": False, "type": "ConfigError", "lines": exc.problems}
        except PedalError as exc:
            reply = {"ok": False, "type": type(exc).__name__ if type(exc).__name__ in _ERRORS
                     else "ModelError", "lines": str(exc).splitlines()}
        except MemoryError:
            what = locals().get("req", {}).get("args", {}).get("path", "the file")
            reply = {"ok": False, "type": "ModelError",
                     "lines": [f"{what}: too large to load (over the loader's "
                               f"{memory_mb} MB)"]}
        except Exception as exc:  # noqa: BLE001 - the worker answers every request
            reply = {"ok": False, "type": "LoaderError",
                     "lines": [f"loader: {type(exc).__name__}: {exc}"]}
        try:
            data = pack(reply)
        except Exception as exc:  # noqa: BLE001
            data = pack({"ok": False, "type": "LoaderError",
                         "lines": [f"loader: cannot send the result ({exc})"]})
        out.write(struct.pack(">I", len(data)))
        out.write(data)
        out.flush()
        if not warmed:  # after the first reply (at start-up: the preset the pedal waits for)
            warmed = True
            _warm()
    return 0


def _warm() -> None:
    """Every kernel loaded once, so later jobs pay no first calls. Timings never include
    one anyway (``stream_seconds`` plays a block before it starts the clock), so the first
    job, the start preset that the pedal's first block waits for, does not wait for this."""
    try:
        from ..tools.warmup import warm_up

        _limit_cpu(60.0)
        warm_up()
    except Exception as exc:  # noqa: BLE001 - jobs report their own errors
        print(f"warm-up failed: {exc}", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(worker(int(sys.argv[1]), int(sys.argv[2])))
