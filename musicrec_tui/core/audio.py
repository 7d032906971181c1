"""Decode AAC/m4a, mp3, ogg, flac and wav to mono float32 at a chosen rate, with no system ffmpeg (PyAV)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import DecodeError

ANALYSIS_RATE = 22050
MIN_SECONDS = 5.0
SILENCE_RMS = 1e-4
AUDIO_EXTENSIONS = frozenset({".m4a", ".aac", ".mp4", ".mp3", ".ogg", ".oga", ".opus", ".flac", ".wav"})


@dataclass(frozen=True, slots=True)
class Audio:
    """Decoded mono audio."""

    samples: np.ndarray
    rate: int

    @property
    def seconds(self) -> float:
        return self.samples.shape[0] / float(self.rate)


def decode(source: str | Path | bytes, rate: int = ANALYSIS_RATE, *, max_seconds: float | None = None) -> Audio:
    """Decode a file path or in-memory bytes to mono float32 at `rate` (mean of channels, soxr HQ resampling).

    Raises DecodeError with a one-line reason for anything that is not decodable audio.
    """
    import av  # deferred: PyAV loads FFmpeg's libraries
    import soxr

    opened = io.BytesIO(source) if isinstance(source, bytes | bytearray) else str(source)
    try:
        with av.open(opened, mode="r") as container:
            streams = container.streams.audio
            if not streams:
                raise DecodeError("no audio stream in file")
            stream = streams[0]
            src_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
            chunks: list[np.ndarray] = []
            total = 0
            limit = int(max_seconds * src_rate) if max_seconds and src_rate else None
            for frame in container.decode(stream):
                arr = frame.to_ndarray()
                if not frame.format.is_planar:  # packed: (1, frames*channels) → (channels, frames)
                    arr = arr.reshape(-1, len(frame.layout.channels)).T
                chunks.append(arr)
                src_rate = frame.sample_rate or src_rate
                total += arr.shape[1]
                if limit is not None and total >= limit:
                    break
    except DecodeError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise DecodeError(f"cannot decode audio: {_reason(exc)}") from None
    if not chunks or total == 0:
        raise DecodeError("no audio frames decoded")
    channels = min(c.shape[0] for c in chunks)  # one concatenation and one mean: per-frame numpy is slow
    pcm = _to_float(np.concatenate([c[:channels] for c in chunks], axis=1))
    mono = pcm[0] if channels == 1 else pcm.mean(axis=0, dtype=np.float32)
    if limit is not None:
        mono = mono[:limit]
    if src_rate != rate:
        mono = soxr.resample(mono, src_rate, rate, "HQ").astype(np.float32, copy=False)
    return Audio(np.ascontiguousarray(mono), rate)


def check_analysable(audio: Audio, min_seconds: float = MIN_SECONDS) -> None:
    """Raise DecodeError when audio is too short or silent to analyse."""
    if audio.seconds < min_seconds:
        raise DecodeError(f"audio too short: {audio.seconds:.1f} s (needs {min_seconds:.0f} s)")
    if not np.all(np.isfinite(audio.samples)):
        raise DecodeError("audio contains invalid samples")
    if float(np.sqrt(np.mean(np.square(audio.samples, dtype=np.float64)))) < SILENCE_RMS:
        raise DecodeError("audio is silent")


def _to_float(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.float32:
        return arr
    if arr.dtype == np.float64:
        return arr.astype(np.float32)
    if np.issubdtype(arr.dtype, np.integer):
        info = np.iinfo(arr.dtype)
        if info.min == 0:  # unsigned 8-bit PCM
            return (arr.astype(np.float32) - (info.max + 1) / 2) / ((info.max + 1) / 2)
        return arr.astype(np.float32) / float(-info.min)
    raise DecodeError(f"unsupported sample format {arr.dtype}")


def _reason(exc: BaseException) -> str:
    strerror = getattr(exc, "strerror", None)  # FFmpeg's own words, without the errno and the file name
    text = (strerror if isinstance(strerror, str) and strerror else str(exc)).strip() or type(exc).__name__
    return text.splitlines()[0][:200]
