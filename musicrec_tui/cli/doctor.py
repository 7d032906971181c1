"""`musicrec doctor`: print app/doctor.py's checks, one line each, as they complete."""

from __future__ import annotations

import argparse
import sys
from typing import TextIO

from .. import __version__
from ..config import Settings
from .common import Subparsers


def register(sub: Subparsers) -> None:
    p = sub.add_parser("doctor", help="check paths, library, audio output and the iTunes endpoint")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds to wait for the iTunes endpoint")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace, settings: Settings) -> int:
    return print_doctor(settings, args.timeout, sys.stdout)


def print_doctor(settings: Settings, timeout: float, out: TextIO) -> int:
    """Print every check; exit 0 when all pass, 1 with warnings, 2 when the library is unusable."""
    from ..app.doctor import run_checks

    worst = 0
    out.write(f"musicrec {__version__}\n")
    for check in run_checks(settings, timeout):
        worst = max(worst, check.status.exit_code)
        out.write(f"{check.status.value:>4}  {check.label:<12} {check.text}\n")
        out.flush()
    return worst
