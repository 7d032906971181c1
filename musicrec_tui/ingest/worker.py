"""One analysis process: `python -m musicrec_tui.ingest.worker PARENT_PID EXTRACTOR [EXTRA ...]`.

Started by ingest/workers.py. It reads requests (framed pickles of `(path, extractor, extra)`) on stdin and
writes one framed `AnalysisResult` per request on its original stdout; anything a library prints goes to stderr
instead, so it cannot corrupt the replies. It ends when stdin closes, and also when its parent dies, however
the parent dies: the kernel sends it SIGKILL (PR_SET_PDEATHSIG), and a watchdog thread checks the parent's pid
in case the signal could not be armed. Ctrl-C in the terminal is the parent's business: SIGINT is ignored
here, so a worker never prints a KeyboardInterrupt traceback. Every failure of a request, MemoryError included,
becomes a one-line reason in the reply.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pickle
import signal
import sys
import threading
import time
from typing import BinaryIO

PR_SET_PDEATHSIG = 1
WATCH_INTERVAL_S = 0.2


def die_with_parent(parent: int) -> None:
    """Arrange to end when process `parent` ends: a kernel death signal, then a pid watchdog as a fallback."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):
        pass  # not Linux: the watchdog alone
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(0)

    def watch() -> None:
        while True:
            time.sleep(WATCH_INTERVAL_S)
            if os.getppid() != parent:
                os._exit(0)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def send(out: BinaryIO, message: object) -> None:
    """One framed message (see workers.frame): length, then the pickle."""
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(len(payload).to_bytes(8, "little") + payload)
    out.flush()


def receive(inp: BinaryIO) -> object:
    """The next framed message, or None at the end of input."""
    head = inp.read(8)
    if len(head) < 8:
        return None
    size = int.from_bytes(head, "little")
    payload = inp.read(size)
    if len(payload) < size:
        return None
    return pickle.loads(payload)


def serve(inp: BinaryIO, out: BinaryIO, extractor: str, extra: tuple[str, ...]) -> int:
    """Warm up, say "ready", then answer requests until stdin closes."""
    from .analysis import AnalysisResult, analyse_file, warm_up

    warm_up(extractor, extra)
    send(out, ("ready", os.getpid()))
    while True:
        request = receive(inp)
        if not (isinstance(request, tuple) and len(request) == 3):
            return 0  # end of input (or not our parent talking)
        path, name, others = (str(request[0]), str(request[1]), tuple(str(x) for x in request[2]))
        started = time.perf_counter()
        try:
            result = analyse_file(path, name, others)
        except MemoryError:
            result = AnalysisResult(None, "out of memory while analysing", (time.perf_counter() - started) * 1000,
                                    0.0)
        except Exception as exc:  # any bug or library error is this track's failure, not the worker's end
            text = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
            result = AnalysisResult(None, f"analysis failed: {text}", (time.perf_counter() - started) * 1000, 0.0)
        send(out, result)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent(int(args[0]))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints from libraries go to stderr, never into the replies
    sys.stdout = sys.stderr
    try:
        return serve(sys.stdin.buffer, out, args[1], tuple(args[2:]))
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    except BaseException as exc:  # start-up failed (an import): tell the parent in one line
        with contextlib.suppress(OSError):
            send(out, ("fatal", f"{type(exc).__name__}: {exc}".splitlines()[0][:200]))
        return 1


if __name__ == "__main__":
    sys.exit(main())
