"""The numbers behind the Analysis pane: a log-mel spectrogram, a waveform and per-group similarity.

Pure numpy plus librosa's mel filter bank (imported here, lazily: only when an analysis is requested).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np

N_FFT = 2048
HOP = 512
TOP_DB = 80.0


def log_mel(samples: np.ndarray, rate: int, bands: int, columns: int) -> np.ndarray:
    """A (bands, columns) log-mel spectrogram scaled to [0, 1], highest band in row 0."""
    import librosa  # first use only: keeps librosa (and numba) out of the app's start-up

    x = np.asarray(samples, dtype=np.float32)
    if x.size < N_FFT:
        x = np.pad(x, (0, N_FFT - x.size))
    frames = 1 + (x.size - N_FFT) // HOP
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(frames)[:, None]
    spec = np.abs(np.fft.rfft(x[idx] * np.hanning(N_FFT).astype(np.float32), axis=1)) ** 2
    mel = librosa.filters.mel(sr=rate, n_fft=N_FFT, n_mels=bands) @ spec.T  # (bands, frames)
    db = 10.0 * np.log10(np.maximum(mel, 1e-10))
    db = np.maximum(db, db.max() - TOP_DB)
    scaled = (db - db.min()) / max(float(db.max() - db.min()), 1e-9)
    cols = max(1, columns)
    edges = np.linspace(0, scaled.shape[1], cols + 1).astype(int)
    pooled = np.stack([scaled[:, a:max(b, a + 1)].mean(axis=1) for a, b in itertools.pairwise(edges)],
                      axis=1)
    return pooled[::-1]


def group_similarity(a: np.ndarray, b: np.ndarray, groups: Sequence[str], mean: np.ndarray | None = None,
                     std: np.ndarray | None = None) -> list[tuple[str, float]]:
    """Cosine similarity per feature group, of vectors standardised by the library's mean and spread, in [0, 1]."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if mean is not None and std is not None:
        spread = np.where(std > 1e-9, std, 1.0)
        a = (a - mean) / spread
        b = (b - mean) / spread
    labels = np.asarray(list(groups))
    out = []
    for name in dict.fromkeys(groups):
        sel = labels == name
        x, y = a[sel], b[sel]
        denom = float(np.linalg.norm(x) * np.linalg.norm(y))
        cos = float(x @ y) / denom if denom > 0 else (1.0 if np.allclose(x, y) else 0.0)
        out.append((str(name), (cos + 1.0) / 2.0))
    return out
