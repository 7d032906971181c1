"""Stopping a run from outside: SIGTERM and SIGHUP stop a headless run the way Ctrl-C does.

Python turns SIGINT into KeyboardInterrupt in the main thread; the pipeline answers it by cancelling, killing
its analysis processes and giving its unfinished jobs back to the queue. Here the other stop signals raise
`Terminated`, a KeyboardInterrupt, so they take the same path and end the run within a second or two.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


class Terminated(KeyboardInterrupt):
    """A stop signal other than SIGINT arrived; `signum` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _raise(signum: int, _frame: FrameType | None) -> None:
    for sig in STOP_SIGNALS:  # once: a second signal must not interrupt the clean-up of the first
        signal.signal(sig, signal.SIG_IGN)
    raise Terminated(signum)


@contextlib.contextmanager
def stop_signals_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM/SIGHUP raise Terminated in the main thread (elsewhere: does nothing)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
