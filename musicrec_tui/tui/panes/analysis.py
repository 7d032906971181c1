"""Analysis pane: the focused track's log-mel spectrogram and waveform, and its feature groups vs the seed's."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...core.errors import MusicrecError
from ...core.models import Track
from ...textfmt import ellipsize
from ..text import markup
from ..widgets.halfblock import heatmap_to_text, mask_to_text, waveform_rows

if TYPE_CHECKING:
    from ..app import MusicrecApp

ANALYSIS_RATE = 22050


@dataclass(frozen=True, slots=True)
class Picture:
    track: Track
    spectrogram: np.ndarray
    waveform: np.ndarray
    groups: list[tuple[str, float]]
    seed: Track | None
    note: str = ""


class AnalysisPane(VerticalScroll):
    """Spectrogram, waveform and group bars; computed in a worker when the pane is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "analyse", "Analyse", id="analysis.refresh"),
    ]

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.track: Track | None = None
        self.shown: tuple[int | None, int | None, int, int] | None = None

    @property
    def mapp(self) -> MusicrecApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static("Highlight a track in [b]2 Library[/b] or [b]3 Similar[/b]; its spectrogram, waveform and "
                     "feature groups appear here.", id="analysis-title")
        yield Static("", id="analysis-spectrogram")
        yield Static("", id="analysis-waveform")
        yield Static("", id="analysis-groups")

    def follow(self, track: Track) -> None:
        """The person is looking at `track`; analyse it when this pane is (or becomes) visible."""
        self.track = track
        if self.mapp.active_pane == "analysis":
            self.action_analyse()

    def action_analyse(self) -> None:
        track = self.track
        if track is None:
            return
        seed = self.mapp.seed_track()
        width = max(20, self.size.width - 2)
        lines = max(4, min(12, self.size.height - 10))  # spectrogram lines: leave room for the rest
        key = (track.id, seed.id if seed else None, width, lines)
        if key == self.shown:
            return
        self.shown = key
        self.query_one("#analysis-title", Static).update(markup("Analysing [b]$title[/b]…",
                                                                title=ellipsize(track.title, 80)))
        self.run_worker(partial(self._compute, track, seed, width, lines), thread=True, group="analysis",
                        exclusive=True, exit_on_error=False)

    def _compute(self, track: Track, seed: Track | None, width: int, lines: int) -> None:
        from ...core.audio import decode
        from ..analysis import log_mel

        services = self.mapp.services
        try:
            path = services.previews.fetch(track).path
            audio = decode(path, ANALYSIS_RATE)
            spec = log_mel(audio.samples, audio.rate, bands=2 * lines, columns=width)
            wave = waveform_rows(audio.samples, width, 3)
            groups: list[tuple[str, float]] = []
            note = ""
            if seed is not None and seed.id != track.id:
                groups = self.mapp.compare_groups(track, seed)
                if not groups:
                    note = "no feature vectors to compare yet (ingest both tracks)"
        except MusicrecError as exc:
            self.app.call_from_thread(self._failed, track, exc.one_line())
            return
        self.app.call_from_thread(self._show, Picture(track, spec, wave, groups, seed, note))

    def _failed(self, track: Track, message: str) -> None:
        self.shown = None
        self.query_one("#analysis-title", Static).update(
            markup("[b]$title[/b]: [b red]cannot analyse:[/] $message", title=ellipsize(track.title, 80),
                   message=message))

    def _show(self, pic: Picture) -> None:
        t = pic.track
        self.query_one("#analysis-title", Static).update(
            markup("[b]$title[/b] — $artist   [dim]log-mel spectrogram (high frequencies at the top), then the "
                   "waveform[/dim]", title=ellipsize(t.title, 80), artist=ellipsize(t.artist, 60)))
        self.query_one("#analysis-spectrogram", Static).update(heatmap_to_text(pic.spectrogram))
        self.query_one("#analysis-waveform", Static).update(mask_to_text(pic.waveform))
        groups = self.query_one("#analysis-groups", Static)
        if pic.seed is None or pic.seed.id == t.id:
            groups.update("[dim]Open similar songs (Enter in 2 Library) to compare this track with a seed.[/dim]")
            return
        out = Text(f"Feature groups compared with the seed “{ellipsize(pic.seed.title, 80)}”:\n", style="bold")
        if pic.note:
            out.append(pic.note, style="dim")
        pad = max((len(name) for name, _ in pic.groups), default=0)
        for name, sim in pic.groups:
            filled = round(sim * 30)
            out.append(f"  {name:<{pad}} ")
            out.append("█" * filled, style="green" if sim >= 0.5 else "red")
            out.append("░" * (30 - filled), style="dim")
            out.append(f" {sim:.2f}\n")
        groups.update(out)
