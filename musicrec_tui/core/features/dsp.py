"""Spectral building blocks in numpy alone: a centred STFT power spectrogram and a Slaney mel filterbank.

They reproduce librosa's `stft` (periodic Hann window, centred frames, zero padding) and `filters.mel`
(`htk=False`, `norm="slaney"`) to float32 rounding, without importing librosa, numba or scipy: an analysis
process that imports only numpy, PyAV, soxr and onnxruntime starts in a fraction of a second.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_F_SP = 200.0 / 3  # Slaney's mel scale: linear below 1 kHz, logarithmic above
_MIN_LOG_HZ = 1000.0
_LOGSTEP = float(np.log(6.4) / 27.0)


def hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney mel of each frequency (librosa.hz_to_mel with htk=False)."""
    hz = np.asarray(hz, dtype=np.float64)
    mels = hz / _F_SP
    log_t = hz >= _MIN_LOG_HZ
    mels[log_t] = _MIN_LOG_HZ / _F_SP + np.log(hz[log_t] / _MIN_LOG_HZ) / _LOGSTEP
    return mels


def mel_to_hz(mels: np.ndarray) -> np.ndarray:
    """Frequency of each Slaney mel (librosa.mel_to_hz with htk=False)."""
    mels = np.asarray(mels, dtype=np.float64)
    hz = _F_SP * mels
    min_log_mel = _MIN_LOG_HZ / _F_SP
    log_t = mels >= min_log_mel
    hz[log_t] = _MIN_LOG_HZ * np.exp(_LOGSTEP * (mels[log_t] - min_log_mel))
    return hz


@lru_cache(maxsize=8)
def mel_filterbank(rate: int, n_fft: int, n_mels: int, fmax: float | None = None) -> np.ndarray:
    """(n_mels, 1 + n_fft // 2) float32 area-normalised triangles, as librosa.filters.mel (read-only)."""
    freqs = np.fft.rfftfreq(n_fft, 1.0 / rate)
    top = rate / 2.0 if fmax is None else float(fmax)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(np.array([0.0]))[0], hz_to_mel(np.array([top]))[0], n_mels + 2))
    fdiff = np.diff(mel_f)
    ramps = np.subtract.outer(mel_f, freqs)
    weights = np.zeros((n_mels, freqs.shape[0]), dtype=np.float32)
    for i in range(n_mels):
        lower = -ramps[i] / fdiff[i]
        upper = ramps[i + 2] / fdiff[i + 1]
        weights[i] = np.maximum(0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_f[2 : n_mels + 2] - mel_f[:n_mels]))[:, np.newaxis]
    weights.setflags(write=False)
    return weights


@lru_cache(maxsize=8)
def hann(n: int) -> np.ndarray:
    """The periodic Hann window of length n (scipy.signal.get_window("hann", n)), float32, read-only."""
    window = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)).astype(np.float32)
    window.setflags(write=False)
    return window


def stft_power(samples: np.ndarray, n_fft: int, hop: int, block: int = 2048) -> np.ndarray:
    """|STFT|^2 as (frames, 1 + n_fft // 2) float32: periodic Hann, centred frames, zero padding.

    Frames are transformed `block` at a time, so the temporary copies stay a few MB whatever the length."""
    y = np.pad(np.asarray(samples, dtype=np.float32).reshape(-1), n_fft // 2)
    frames = np.lib.stride_tricks.sliding_window_view(y, n_fft)[::hop]
    window = hann(n_fft)
    out = np.empty((frames.shape[0], n_fft // 2 + 1), dtype=np.float32)
    for start in range(0, frames.shape[0], block):
        spec = np.fft.rfft(frames[start : start + block] * window, axis=1)
        out[start : start + block] = spec.real**2 + spec.imag**2
    return out
