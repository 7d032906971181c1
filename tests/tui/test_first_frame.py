"""What the first frame waits for: imports. The figures themselves are in benchmarks/bench_tui.py."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_building_the_app_imports_no_numpy_playback_or_network(tmp_path: Path) -> None:
    """numpy (~0.1-0.2 s), PortAudio and requests load in workers after the first frame, never before it:
    not by importing the app, nor by building it with its services as `musicrec` does (tui/launch.py). Nor do
    the SQL store, the job and ingest modules and the modal screens (a few ms each)."""
    flags = {"db_url": f"sqlite://{tmp_path / 'lib.sqlite3'}", "data_dir": str(tmp_path / "data"),
             "cache_dir": str(tmp_path / "cache")}
    code = ("import sys\n"
            "import musicrec_tui.cli, musicrec_tui.tui.launch, musicrec_tui.tui.app\n"
            "from musicrec_tui.config import load_settings\n"
            "from musicrec_tui.tui.launch import make_app\n"
            f"app = make_app(load_settings(env={{}}, flags={flags!r}))\n"
            "heavy = ('numpy', 'requests', 'sounddevice', 'av', 'musicrec_tui.playback.sd_player',\n"
            "         'musicrec_tui.core.audio', 'musicrec_tui.app.recommend', 'musicrec_tui.core.features',\n"
            "         'musicrec_tui.store.base', 'musicrec_tui.app.jobs', 'musicrec_tui.ingest.events',\n"
            "         'musicrec_tui.tui.screens')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    env = {**os.environ, "HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / "config")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[]"
