"""The extractor contract: a named, versioned, pure function from mono float32 audio to a float32 vector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError

SILENCE_RMS = 1e-4  # same threshold as core.audio.check_analysable


def check_signal(samples: np.ndarray, rate: int, min_seconds: float) -> None:
    """Raise AnalysisError for audio no extractor can describe: too short, non-finite or silent."""
    seconds = samples.shape[0] / float(rate)
    if seconds < min_seconds:
        raise AnalysisError(f"audio too short to analyse: {seconds:.2f} s (needs {min_seconds:g} s)")
    if not np.all(np.isfinite(samples)):
        raise AnalysisError("audio contains NaN or infinite samples")
    if float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) < SILENCE_RMS:
        raise AnalysisError("audio is silent: nothing to analyse")


@dataclass(frozen=True, slots=True)
class Extractor:
    """A feature extractor. `groups[i]` labels dimension i (timbre, brightness, rhythm, dynamics, harmony ...).

    Bump `version` whenever the output changes; stale vectors are then recomputed by `musicrec reanalyze`.
    """

    name: str
    version: int
    dim: int
    groups: tuple[str, ...]
    compute: Callable[[np.ndarray, int], np.ndarray]
    rate: int = 22050
    description: str = ""
    min_seconds: float = 1.0

    def __post_init__(self) -> None:
        if len(self.groups) != self.dim:
            raise ValueError(f"{self.name}: {len(self.groups)} group labels for {self.dim} dimensions")

    @property
    def group_names(self) -> tuple[str, ...]:
        """Distinct group labels in first-seen order."""
        return tuple(dict.fromkeys(self.groups))

    def __call__(self, samples: np.ndarray, rate: int) -> np.ndarray:
        """Run the extractor; the result is checked to be a finite float32 vector of `dim` values."""
        if rate != self.rate:
            raise AnalysisError(f"{self.name} expects {self.rate} Hz audio, got {rate} Hz")
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        check_signal(samples, rate, self.min_seconds)
        try:
            vec = np.asarray(self.compute(samples, rate), dtype=np.float32)
        except AnalysisError:
            raise
        except (ValueError, FloatingPointError, MemoryError) as exc:
            raise AnalysisError(f"{self.name} failed: {exc}") from None
        vec = vec.reshape(-1)
        if vec.shape[0] != self.dim:
            raise AnalysisError(f"{self.name} produced {vec.shape[0]} values, expected {self.dim}")
        if not np.all(np.isfinite(vec)):
            raise AnalysisError(f"{self.name} produced non-finite values")
        return vec
