"""Setuptools hook: every wheel ships the schema migrations inside the package.

The migrations' source is the top-level `sql/` folder (see README, "Where things live"); `build_py` copies it to
`musicrec_tui/sql/` in the build, where store/migrations.py looks first. Package metadata is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SQL = Path(__file__).resolve().parent / "sql"


class BuildPyWithSql(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads sql/ from the checkout
        if not any(SQL.glob("*/*.sql")):
            raise SystemExit(f"schema files missing: {SQL}/<dialect>/NNN_name.sql")
        shutil.copytree(SQL, Path(self.build_lib) / "musicrec_tui" / "sql", dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildPyWithSql})
