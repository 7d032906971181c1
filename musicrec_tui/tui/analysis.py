"""The numbers behind the Analysis pane: a log-mel spectrogram (the waveform is widgets/halfblock.waveform_rows).

Pure numpy plus librosa's mel filter bank (imported here, lazily: only when an analysis is requested).
"""

from __future__ import annotations

import itertools

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
