"""Analysis pane: the focused track's log-mel spectrogram and waveform, and its feature groups vs the seed's."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widget import Widget
from textual.widgets import Static

from ...app.services import Session
from ...core.errors import MusicrecError
from ...core.models import Track
from ...textfmt import clean, ellipsize
from ..text import markup

if TYPE_CHECKING:
    import numpy as np

ANALYSIS_RATE = 22050


@dataclass(frozen=True, slots=True)
class Picture:
    track: Track
    spectrogram: np.ndarray
    waveform: np.ndarray
    groups: tuple[tuple[str, float], ...]  # the explanation: each group's share of the likeness to the seeds
    seed: Track | None
    note: str = ""


class AnalysisPane(VerticalScroll):
    """Spectrogram, waveform and group bars; computed in a worker when the pane is shown."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("a", "analyse", "Analyse again", id="analysis.refresh"),
    ]

    def __init__(self, session: Session, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.session = session
        self.track: Track | None = None
        self.seeds: list[Track] = []
        self.shown: tuple[int | None, tuple[int | None, ...], int, int] | None = None

    def compose(self) -> ComposeResult:
        yield Static("Highlight a track in [b]2 Library[/b] or [b]3 Similar[/b]; its spectrogram, waveform and "
                     "feature groups appear here.", id="analysis-title")
        yield Static("", id="analysis-spectrogram")
        yield Static("", id="analysis-waveform")
        yield Static("", id="analysis-groups")

    def follow(self, track: Track) -> None:
        """The person is looking at `track`; analyse it when this pane is (or becomes) visible."""
        self.track = track
        if self._shown():
            self.analyse()

    def compare_with(self, seeds: list[Track]) -> None:
        """The Similar pane's seeds: the feature groups are explained against them."""
        self.seeds = list(seeds)

    def _shown(self) -> bool:
        """True when this pane's tab is the one showing."""
        return all(node.display for node in self.ancestors_with_self if isinstance(node, Widget))

    def action_analyse(self) -> None:
        """`a`: analyse the highlighted track again (decode, spectrogram, groups), or say why not."""
        if self.track is None:
            self.app.notify("Nothing to analyse yet: highlight a track in 2 Library or 3 Similar first.",
                            title="Analysis", severity="warning")
            return
        self.app.notify(f"Analysing “{clean(self.track.title)}” again.", title="Analysis", timeout=2)
        self.analyse(force=True)

    def analyse(self, force: bool = False) -> None:
        """Analyse the highlighted track unless it is on show already (at this size, with these seeds)."""
        track = self.track
        if track is None:
            return
        seeds = list(self.seeds)
        width = max(20, self.size.width - 2)
        lines = max(4, min(12, self.size.height - 10))  # spectrogram lines: leave room for the rest
        key = (track.id, tuple(t.id for t in seeds), width, lines)
        if key == self.shown and not force:
            return
        self.shown = key
        self.query_one("#analysis-title", Static).update(markup("Analysing [b]$title[/b]…",
                                                                title=ellipsize(track.title, 80)))
        self.run_worker(partial(self._compute, track, seeds, width, lines), thread=True, group="analysis",
                        exclusive=True, exit_on_error=False)

    def _compute(self, track: Track, seeds: list[Track], width: int, lines: int) -> None:
        from ...core.audio import decode
        from ..analysis import log_mel
        from ..widgets.halfblock import waveform_rows

        seed = seeds[0] if seeds else None
        try:
            path = self.session.audio(track).path
            audio = decode(path, ANALYSIS_RATE)
            spec = log_mel(audio.samples, audio.rate, bands=2 * lines, columns=width)
            wave = waveform_rows(audio.samples, width, 3)
            groups: tuple[tuple[str, float], ...] = ()
            note = ""
            if seed is not None and all(s.id != track.id for s in seeds) and track.id is not None:
                groups = self.session.explain(seeds, track)
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
        from ..widgets.halfblock import heatmap_to_text, mask_to_text

        t = pic.track
        self.query_one("#analysis-title", Static).update(
            markup("[b]$title[/b] — $artist   [dim]log-mel spectrogram (high frequencies at the top), then the "
                   "waveform[/dim]", title=ellipsize(t.title, 80), artist=ellipsize(t.artist, 60)))
        self.query_one("#analysis-spectrogram", Static).update(heatmap_to_text(pic.spectrogram))
        self.query_one("#analysis-waveform", Static).update(mask_to_text(pic.waveform))
        groups = self.query_one("#analysis-groups", Static)
        if pic.seed is None or (not pic.groups and not pic.note):
            groups.update("[dim]Open similar songs (Enter in 2 Library) to compare this track with a seed.[/dim]")
            return
        out = Text(f"What makes it sound like the seed “{ellipsize(pic.seed.title, 80)}” (each feature group's "
                   "share):\n", style="bold")
        if pic.note:
            out.append(pic.note, style="dim")
        pad = max((len(name) for name, _ in pic.groups), default=0)
        for name, share in pic.groups:
            # shares are in [0, 1]; a group at exactly 0 did not pull the two together (its part of the cosine
            # is negative: it pulls them apart)
            filled = round(min(1.0, max(0.0, share)) * 30)
            out.append(f"  {name:<{pad}} ")
            out.append("█" * filled, style="green")
            out.append("░" * (30 - filled), style="dim")
            out.append(f" {share:4.0%}{' (pulls apart)' if share <= 0 else ''}\n")
        groups.update(out)
