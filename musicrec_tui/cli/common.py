"""What every command shares: exit codes, the argparse subclass, JSON lines, argument types."""

from __future__ import annotations

import argparse
import json
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
        self.exit(EXIT_USAGE, f"musicrec: error: {message} (see musicrec --help)\n")


#: what each command module's `register` receives
Subparsers: TypeAlias = "argparse._SubParsersAction[Parser]"


class UsageError(MusicrecError):
    """A command used in a way that cannot work."""


def emit_json(obj: object) -> None:
    """One JSON object per line on stdout, UTF-8, never ASCII-escaped."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False) + "\n")


def silence_stdout() -> None:
    """After a closed pipe (musicrec library | head), stop Python complaining at exit."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


def quote(text: str) -> str:
    return shlex.quote(text)


def limit(text: str) -> int:
    value = positive_int(text)
    if value > 200:
        raise argparse.ArgumentTypeError("the iTunes API returns at most 200 results")
    return value


def id_list(text: str) -> list[int]:
    ids = []
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        if not part.isdigit():
            raise argparse.ArgumentTypeError(f"not an iTunes track id: {part!r}")
        ids.append(int(part))
    if not ids:
        raise argparse.ArgumentTypeError("give at least one id, e.g. --ids 1440857781,1440857782")
    return ids


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
