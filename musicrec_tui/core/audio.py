"""Decode AAC/m4a, mp3, ogg, flac and wav to mono float32 at a chosen rate, with no system ffmpeg (PyAV)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .errors import DecodeError

ANALYSIS_RATE = 22050
MIN_SECONDS = 5.0
SILENCE_RMS = 1e-4
WHOLE_FILE_MAX_S = 45.0  # up to this length a file is analysed whole (an iTunes preview is 30 s)
EXCERPT_WINDOWS = 5  # a longer file: this many windows ...
EXCERPT_WINDOW_S = 6.0  # ... of this many seconds (30 s in all, two 3 s musicnn patches each), found by seeking
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

    opened = io.BytesIO(source) if isinstance(source, bytes | bytearray) else str(source)
    try:
        with av.open(opened, mode="r") as container:
            mono, src_rate = _read(container, _audio_stream(container), None, max_seconds)
    except DecodeError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise DecodeError(f"cannot decode audio: {_reason(exc)}") from None
    return Audio(_resample(mono, src_rate, rate), rate)


def excerpt_starts(duration: float, windows: int = EXCERPT_WINDOWS,
                   window_s: float = EXCERPT_WINDOW_S) -> list[float]:
    """Where the excerpt windows of a `duration`-second track start: one centred in each of `windows` equal
    parts of the track, so they sample its whole length (intro, body, ending) at fixed cost."""
    return [max(0.0, (i + 0.5) * duration / windows - window_s / 2.0) for i in range(windows)]


def load_for_analysis(source: str | Path, rate: int = ANALYSIS_RATE) -> Audio:
    """The audio the extractors analyse, in bounded time and memory whatever the file's length.

    A file of up to WHOLE_FILE_MAX_S seconds (every iTunes preview) is decoded whole. A longer one is sampled:
    EXCERPT_WINDOWS windows of EXCERPT_WINDOW_S seconds (excerpt_starts), each reached by seeking so only
    those seconds are decoded, joined end to end. A file whose length is unknown, or that cannot seek, is
    analysed from its first WHOLE_FILE_MAX_S seconds.
    """
    import av

    try:
        with av.open(str(source), mode="r") as container:
            stream = _audio_stream(container)
            duration = _duration(container, stream)
            if duration is None or duration <= WHOLE_FILE_MAX_S:
                mono, src_rate = _read(container, stream, None, WHOLE_FILE_MAX_S)
                return Audio(_resample(mono, src_rate, rate), rate)
            pieces: list[np.ndarray] = []
            src_rate = 0
            try:
                for start in excerpt_starts(duration):
                    piece, src_rate = _read(container, stream, start, EXCERPT_WINDOW_S)
                    pieces.append(_resample(piece, src_rate, rate))
            except (av.error.FFmpegError, DecodeError):
                if pieces:  # a window past a damaged part: analyse the windows that decoded
                    return Audio(np.concatenate(pieces), rate)
                container.seek(0)
                mono, src_rate = _read(container, stream, None, WHOLE_FILE_MAX_S)
                return Audio(_resample(mono, src_rate, rate), rate)
            return Audio(np.concatenate(pieces), rate)
    except DecodeError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise DecodeError(f"cannot decode audio: {_reason(exc)}") from None


def _audio_stream(container: Any) -> Any:
    streams = container.streams.audio
    if not streams:
        raise DecodeError("no audio stream in file")
    return streams[0]


def _duration(container: Any, stream: Any) -> float | None:
    """The length in seconds the file declares, or None."""
    if container.duration:
        return float(container.duration) / 1_000_000.0  # AV_TIME_BASE
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return None


def _read(container: Any, stream: Any, start: float | None, limit_s: float | None) -> tuple[np.ndarray, int]:
    """Mono float32 at the stream's own rate, from `start` seconds (reached by seeking) for at most `limit_s`
    seconds, or from the current position to the end; and that rate."""
    src_rate = int(stream.codec_context.sample_rate or stream.rate or 0)
    if start:
        container.seek(int(start * 1_000_000))  # AV_TIME_BASE; lands at or before `start`, decoders flushed
    limit = int(limit_s * src_rate) if limit_s and src_rate else None
    # Each frame is copied straight into one preallocated buffer per channel: PyAV's `to_ndarray` (an
    # np.vstack per frame) and holding ~1,300 frames' buffers until one concatenation cost as much CPU as
    # decoding a 30 s AAC preview.
    pcm: np.ndarray | None = None
    total = 0
    for frame in container.decode(stream):
        channels = _frame_channels(frame)
        src_rate = frame.sample_rate or src_rate
        if start and frame.time is not None and frame.time < start:  # the part before `start` is not ours
            skip = round((start - frame.time) * src_rate)
            if skip >= channels[0].shape[0]:
                continue
            channels = [c[skip:] for c in channels]
        n = channels[0].shape[0]
        if limit is not None:
            n = min(n, limit - total)
        if pcm is None:
            pcm = np.empty((len(channels), limit or 60 * max(src_rate, 1)), dtype=np.float32)
        elif total + n > pcm.shape[1]:  # no limit: grow
            pcm = np.concatenate([pcm, np.empty_like(pcm)], axis=1)
        for ch in range(min(pcm.shape[0], len(channels))):
            pcm[ch, total : total + n] = _to_float(channels[ch][:n])
        total += n
        if limit is not None and total >= limit:
            break
    if pcm is None or total == 0:
        raise DecodeError("no audio frames decoded")
    pcm = pcm[:, :total]
    mono = pcm[0] if pcm.shape[0] == 1 else pcm.mean(axis=0, dtype=np.float32)
    return mono, src_rate


_DTYPES = {"dbl": "<f8", "flt": "<f4", "s16": "<i2", "s32": "<i4", "u8": "u1"}


def _frame_channels(frame: Any) -> list[np.ndarray]:
    """A decoded frame's samples, one array per channel, viewed in place (no copy)."""
    fmt = frame.format
    name = fmt.name.rstrip("p") if fmt.is_planar else fmt.name
    try:
        dtype = np.dtype(_DTYPES[name])
    except KeyError:
        raise DecodeError(f"unsupported sample format {fmt.name}") from None
    samples = frame.samples
    if fmt.is_planar:
        return [np.frombuffer(plane, dtype=dtype, count=samples) for plane in frame.planes]
    n = len(frame.layout.channels)
    packed = np.frombuffer(frame.planes[0], dtype=dtype, count=samples * n)
    return [packed[ch::n] for ch in range(n)]


def _resample(mono: np.ndarray, src_rate: int, rate: int) -> np.ndarray:
    if src_rate != rate:
        import soxr

        mono = soxr.resample(mono, src_rate, rate, "HQ").astype(np.float32, copy=False)
    return np.ascontiguousarray(mono)


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
