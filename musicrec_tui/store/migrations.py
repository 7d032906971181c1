"""Numbered SQL migrations per dialect (`sql/<dialect>/NNN_name.sql`), applied in order and recorded."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import StoreError

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


def sql_root() -> Path:
    """The schema files: inside the package when installed from a wheel (setup.py copies them there), else the
    top-level `sql/` of a checkout or editable install (their source)."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "sql", here.parent / "sql"):
        if candidate.is_dir():
            return candidate
    raise StoreError("schema files not found", hint=f"expected a sql/ folder next to {here}")


def load_migrations(dialect: str, root: Path | None = None) -> list[Migration]:
    """Every migration of a dialect, in version order."""
    folder = (root or sql_root()) / dialect
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        match = _NAME.match(path.name)
        if not match:
            continue
        found.append(Migration(int(match.group(1)), match.group(2), split_statements(path.read_text("utf-8"))))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(f"migrations in {folder} are not numbered 001, 002, ...: {versions}")
    return found


def split_statements(script: str) -> tuple[str, ...]:
    """Split a migration script on `;` at line ends, dropping `--` comment lines."""
    lines = [ln for ln in script.splitlines() if not ln.strip().startswith("--")]
    parts = re.split(r";\s*$", "\n".join(lines), flags=re.MULTILINE)
    return tuple(p.strip() for p in parts if p.strip())
