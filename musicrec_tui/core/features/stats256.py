"""The prototype's "statistical fingerprint": per-band mean and std of a 128-band log-mel spectrogram (256-d)."""

from __future__ import annotations

import numpy as np

from .base import Extractor

N_MELS = 128


def compute(samples: np.ndarray, rate: int) -> np.ndarray:
    """librosa's default mel spectrogram (n_fft 2048, hop 512), power_to_db(ref=max), mean then std per band."""
    import librosa

    mel = librosa.feature.melspectrogram(y=samples, sr=rate, n_mels=N_MELS)
    log_mel = librosa.power_to_db(mel, ref=np.max)
    return np.concatenate([log_mel.mean(axis=1), log_mel.std(axis=1)]).astype(np.float32)


EXTRACTOR = Extractor(
    name="stats256",
    version=1,
    dim=2 * N_MELS,
    groups=("timbre",) * N_MELS + ("dynamics",) * N_MELS,
    compute=compute,
    description="prototype fingerprint: mean and std of 128 log-mel bands",
)
