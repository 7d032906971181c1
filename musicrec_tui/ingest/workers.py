"""A pool of analysis processes that cannot outlive the process that started it.

Why processes and not threads: measured with 2 workers on the 2-core machine, processes analyse ~10 % more
tracks per second than threads (the explainer's numpy code holds the GIL between calls) and keep the TUI's
event loop free during an ingest. Why not multiprocessing: its workers and its resource tracker survive a
`kill -9` of the parent, and Ctrl-C reaches every worker with a KeyboardInterrupt traceback. Here each worker
is a plain subprocess (`python -m musicrec_tui.ingest.worker`, see worker.py) that

- is started from one long-lived thread of this pool, so the kernel's parent-death signal (which fires when the
  *thread* that started a child ends) fires only when the pool or the whole process is gone;
- arms that signal itself, checks its parent is still there, and watches the parent's pid from a thread;
- ignores SIGINT (and writes nothing to the terminal): Ctrl-C, which the terminal sends to the whole process
  group, is handled once, here, by stopping the pool; the workers stay in their parent's process group, so
  whoever signals that group (the web server's per-app groups) reaches them too;
- talks over two pipes (requests in, replies out); no semaphores, so there is no resource tracker at all.

A request that takes longer than its deadline, or a worker that dies (OOM killer, crash), becomes a typed
error for that one track; the worker is replaced. `close()` kills and reaps every worker.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any

from ..core.errors import AnalysisError
from .analysis import AnalysisResult

POLL_S = 0.1  # how often a waiting caller looks at its cancel flag
DEFAULT_DEADLINE_S = 300.0  # no single file takes this long once long files are cut into windows
HEADER = struct.Struct("<Q")


class WorkerCrashed(AnalysisError):
    """The process analysing a track died (killed, out of memory, crashed) or overran its deadline."""


class AnalysisTimeout(WorkerCrashed):
    """A track's analysis overran the deadline (its worker was killed); retrying it would only overrun again."""


class PoolClosed(AnalysisError):
    """The pool was closed (the run is stopping) while a track waited for or was in analysis."""


@dataclass(slots=True)
class _Worker:
    proc: subprocess.Popen[bytes]
    replies: IO[bytes]
    ready: bool = False
    served: int = 0
    buffer: bytearray = field(default_factory=bytearray)

    @property
    def pid(self) -> int:
        return self.proc.pid


class AnalysisWorkers:
    """`size` analysis processes for `extractor` (+ `extra` extractors from the same decode).

    Thread-safe: any number of threads may call `analyse` at once; each takes an idle worker in turn."""

    def __init__(self, size: int, extractor: str, extra: tuple[str, ...] = (), *,
                 deadline_s: float = DEFAULT_DEADLINE_S) -> None:
        self.size = max(1, size)
        self.extractor = extractor
        self.extra = tuple(extra)
        self.deadline_s = deadline_s
        self._idle: queue.Queue[_Worker] = queue.Queue()
        self._spawn: queue.Queue[int | None] = queue.Queue()
        self._lock = threading.Lock()
        self._workers: dict[int, _Worker] = {}
        self._closed = threading.Event()
        self._spawner: threading.Thread | None = None

    # ---- life cycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the processes now, in the background (they import and warm up in ~0.3 s); idempotent."""
        with self._lock:
            if self._spawner is not None or self._closed.is_set():
                return
            self._spawner = threading.Thread(target=self._spawn_loop, name="analysis-spawner", daemon=True)
            self._spawner.start()
            for _ in range(self.size):
                self._spawn.put(1)

    @property
    def pids(self) -> list[int]:
        with self._lock:
            return sorted(self._workers)

    def close(self) -> None:
        """Kill and reap every worker (idempotent). Callers waiting in `analyse` get PoolClosed."""
        self._closed.set()
        self._spawn.put(None)
        with self._lock:
            workers, self._workers = list(self._workers.values()), {}
        for worker in workers:  # kill and reap; a thread waiting on one sees its pipe end and lets go of it
            _kill(worker)
        self._drain_idle()
        spawner = self._spawner
        if spawner is not None and spawner is not threading.current_thread():
            spawner.join(timeout=2.0)

    def __enter__(self) -> AnalysisWorkers:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- work --------------------------------------------------------------------------------------------
    def analyse(self, path: str, cancel: threading.Event | None = None) -> AnalysisResult:
        """Analyse one file in an idle worker. Raises PoolClosed when the pool closes or `cancel` is set while
        waiting, WorkerCrashed when the worker dies or overruns the deadline (it is then replaced)."""
        self.start()
        worker = self._take(cancel)
        if not worker.ready:
            hello = self._receive(worker, cancel, self.deadline_s)
            if not (isinstance(hello, tuple) and len(hello) == 2 and hello[0] == "ready"):
                self._retire(worker)
                reason = hello[1] if isinstance(hello, tuple) and len(hello) == 2 else "no greeting"
                raise AnalysisError(f"analysis process failed to start: {reason}")
            worker.ready = True
        try:
            assert worker.proc.stdin is not None
            worker.proc.stdin.write(frame((path, self.extractor, self.extra)))
            worker.proc.stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._crashed(worker) from None
        reply = self._receive(worker, cancel, self.deadline_s)
        if not isinstance(reply, AnalysisResult):
            self._retire(worker)
            raise WorkerCrashed("analysis process answered garbage")
        worker.served += 1
        self._give_back(worker)
        return reply

    def _give_back(self, worker: _Worker) -> None:
        self._idle.put(worker)
        if self._closed.is_set():  # closed meanwhile: close() may have drained the queue already
            self._drain_idle()

    def _drain_idle(self) -> None:
        while True:
            try:
                worker = self._idle.get_nowait()
            except queue.Empty:
                return
            _stop(worker)

    def _take(self, cancel: threading.Event | None) -> _Worker:
        while True:
            if self._closed.is_set() or (cancel is not None and cancel.is_set()):
                raise PoolClosed("analysis stopped")
            try:
                worker = self._idle.get(timeout=POLL_S)
            except queue.Empty:
                continue
            if worker.proc.poll() is None:
                return worker
            self._retire(worker)  # died while idle: replace it, take another

    def _receive(self, worker: _Worker, cancel: threading.Event | None, deadline_s: float) -> Any:
        """The next framed message from `worker`, waiting at most `deadline_s`."""
        fd = worker.replies.fileno()
        ends = time.monotonic() + deadline_s
        need = HEADER.size
        while True:
            if self._closed.is_set() or (cancel is not None and cancel.is_set()):
                self._retire(worker)  # it may be mid-track: a fresh one takes the next request
                raise PoolClosed("analysis stopped")
            remaining = ends - time.monotonic()
            if remaining <= 0:
                self._retire(worker)
                raise AnalysisTimeout(f"analysis took longer than {deadline_s:.0f} s")
            readable, _, _ = select.select([fd], [], [], min(POLL_S, remaining))
            if not readable:
                continue
            try:
                chunk = os.read(fd, max(need - len(worker.buffer), 1 << 16))
            except OSError:
                chunk = b""
            if not chunk:
                raise self._crashed(worker)
            worker.buffer += chunk
            if len(worker.buffer) < HEADER.size:
                continue
            (size,) = HEADER.unpack_from(worker.buffer)
            need = HEADER.size + size
            if len(worker.buffer) < need:
                continue
            payload = bytes(worker.buffer[HEADER.size:need])
            del worker.buffer[:need]
            try:
                return pickle.loads(payload)
            except Exception:  # unpickling our own worker's reply: anything wrong means a broken worker
                self._retire(worker)
                raise WorkerCrashed("analysis process answered garbage") from None

    def _crashed(self, worker: _Worker) -> Exception:
        with contextlib.suppress(subprocess.TimeoutExpired):
            worker.proc.wait(timeout=1.0)
        code = worker.proc.returncode
        self._retire(worker)
        if self._closed.is_set():
            return PoolClosed("analysis stopped")
        if code is not None and code < 0:
            try:
                how = f"killed by {signal.Signals(-code).name}"
            except ValueError:
                how = f"killed by signal {-code}"
        else:
            how = f"exit status {code}"
        return WorkerCrashed(f"analysis process died ({how})")

    def _retire(self, worker: _Worker) -> None:
        """Kill and reap `worker` and, unless the pool is closing, start a replacement."""
        with self._lock:
            known = self._workers.pop(worker.pid, None) is not None
        _stop(worker)
        if known and not self._closed.is_set():
            self._spawn.put(1)

    def _spawn_loop(self) -> None:
        """Runs for the pool's lifetime: every worker is started from this thread (see the module docstring)."""
        while True:
            item = self._spawn.get()
            if item is None or self._closed.is_set():
                return
            try:
                worker = self._start_one()
            except OSError:
                time.sleep(0.5)  # fork failed (resources): try again while anyone still needs workers
                self._spawn.put(1)
                continue
            with self._lock:
                if self._closed.is_set():
                    _stop(worker)
                    return
                self._workers[worker.pid] = worker
            self._give_back(worker)

    def _start_one(self) -> _Worker:
        env = dict(os.environ)
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = "1"  # one process per core already: BLAS threads on top would only contend
        proc = subprocess.Popen(
            [sys.executable, "-m", "musicrec_tui.ingest.worker", str(os.getpid()), self.extractor, *self.extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, close_fds=True,
        )
        assert proc.stdout is not None
        return _Worker(proc, proc.stdout)


def frame(message: object) -> bytes:
    """A message as the workers' pipes carry it: 8-byte little-endian length, then the pickle."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(payload)) + payload


def _kill(worker: _Worker) -> None:
    with contextlib.suppress(OSError):
        worker.proc.kill()
    with contextlib.suppress(subprocess.TimeoutExpired, OSError):
        worker.proc.wait(timeout=2.0)


def _stop(worker: _Worker) -> None:
    """Kill, reap and close the pipes of a worker no other thread is using."""
    _kill(worker)
    for stream in (worker.proc.stdin, worker.proc.stdout):
        with contextlib.suppress(OSError):
            if stream is not None:
                stream.close()
