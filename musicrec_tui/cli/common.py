"""What every command shares: exit codes, the argparse subclass, JSON lines, argument types."""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeAlias

from ..core.errors import MusicrecError

if TYPE_CHECKING:
    from ..config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
Command = Callable[[argparse.Namespace, "Settings"], int]


class Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default) and never prints a traceback."""

    def error(self, message: str) -> None:  # type: ignore[override]
        from ..core.text import for_terminal

        self.exit(EXIT_USAGE, f"musicrec: error: {for_terminal(message)} (see musicrec --help)\n")


#: what each command module's `register` receives
Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"


class UsageError(MusicrecError):
    """A command used in a way that cannot work."""


def emit_json(obj: object) -> None:
    """One JSON object per line on stdout, UTF-8, never ASCII-escaped, but controls, bidi and zero-width
    characters written as \\u escapes (core/text.json_line): nothing in it acts on a terminal."""
    from ..core.text import json_line

    sys.stdout.write(json_line(obj) + "\n")


def silence_stdout() -> None:
    """After a closed pipe (musicrec library | head), stop Python complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def quote(text: str) -> str:
    return shlex.quote(text)


def _checked(check: Callable[[str], int], text: str) -> int:
    """An argparse type from a core.limits check: its one line becomes argparse's error (exit 2)."""
    from ..core.limits import LimitError

    try:
        return check(text)
    except LimitError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def limit(text: str) -> int:
    """A search's result count: 1..200 (what the iTunes API returns at most)."""
    from ..core import limits

    return _checked(lambda t: limits.limit(t, hi=200), text)


def k(text: str) -> int:
    """How many similar tracks: 1..MAX_K."""
    from ..core import limits

    return _checked(limits.k, text)


def offset(text: str) -> int:
    """Rows to skip: 0..2**63-1, the same on both backends."""
    from ..core import limits

    return _checked(limits.offset, text)


def id_list(text: str) -> list[int]:
    from ..core import limits

    ids = [_checked(limits.itunes_id, part) for part in text.replace(" ", "").split(",") if part]
    if not ids:
        raise argparse.ArgumentTypeError("give at least one id, e.g. --ids 1440857781,1440857782")
    return ids


def positive_int(text: str) -> int:
    """A page size or a count: 1..1,000,000."""
    from ..core import limits

    return _checked(limits.limit, text)
