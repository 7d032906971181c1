"""The extractor contract: a named, versioned, pure function from mono float32 audio to a float32 vector."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..errors import AnalysisError


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
        try:
            vec = np.asarray(self.compute(np.asarray(samples, dtype=np.float32), rate), dtype=np.float32)
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
