"""What the first frame waits for: imports. The figures themselves are in benchmarks/bench_tui.py."""

from __future__ import annotations

import subprocess
import sys


def test_the_app_module_imports_no_numpy_playback_or_network() -> None:
    """numpy (~0.1-0.2 s), PortAudio and requests load in workers after the first frame, never before it."""
    code = ("import sys\n"
            "import musicrec_tui.cli, musicrec_tui.tui.launch, musicrec_tui.tui.app\n"
            "from musicrec_tui.tui.app import MusicrecApp\n"
            "heavy = ('numpy', 'requests', 'sounddevice', 'av', 'musicrec_tui.playback.sd_player',\n"
            "         'musicrec_tui.core.audio', 'musicrec_tui.app.recommend')\n"
            "print(sorted(m for m in heavy if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
