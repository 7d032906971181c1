"""Synthesised music and AAC/m4a encoding: test fixtures, the fake catalogue and benchmarks use real encoded audio."""

from __future__ import annotations

import io
from fractions import Fraction
from typing import cast

import numpy as np


def chord(freqs: tuple[float, ...], seconds: float = 30.0, rate: int = 44100, seed: int = 0) -> np.ndarray:
    """A sustained chord with gentle vibrato and a little noise, mono float32 in [-1, 1]."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for i, f in enumerate(freqs):
        out += np.sin(2 * np.pi * f * t + 0.3 * np.sin(2 * np.pi * (0.5 + i * 0.1) * t)) / (i + 1)
    out += 0.01 * rng.standard_normal(t.shape)
    return (0.3 * out / np.max(np.abs(out))).astype(np.float32)


def drums(bpm: float, seconds: float = 30.0, rate: int = 44100, seed: int = 0) -> np.ndarray:
    """A kick/snare/hat loop at `bpm`, mono float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    out = np.zeros(n, dtype=np.float64)
    beat = 60.0 / bpm
    kick_len = int(0.15 * rate)
    tk = np.arange(kick_len) / rate
    kick = np.sin(2 * np.pi * (60 + 60 * np.exp(-tk * 30)) * tk) * np.exp(-tk * 20)
    hat_len = int(0.05 * rate)
    hat = rng.standard_normal(hat_len) * np.exp(-np.arange(hat_len) / rate * 80) * 0.3
    snare = rng.standard_normal(kick_len) * np.exp(-tk * 25) * 0.6
    i = 0
    while True:
        start = int(i * beat / 2 * rate)
        if start >= n:
            break
        sound = kick if i % 4 == 0 else snare if i % 4 == 2 else hat
        end = min(n, start + sound.shape[0])
        out[start:end] += sound[: end - start]
        i += 1
    return (0.5 * out / max(1e-9, np.max(np.abs(out)))).astype(np.float32)


def noise(seconds: float = 30.0, rate: int = 44100, seed: int = 0, level: float = 0.2) -> np.ndarray:
    """White noise, mono float32."""
    rng = np.random.default_rng(seed)
    return (level * rng.standard_normal(int(seconds * rate))).clip(-1, 1).astype(np.float32)


def sweep(seconds: float = 30.0, rate: int = 44100, f0: float = 100.0, f1: float = 8000.0) -> np.ndarray:
    """An exponential sine sweep, mono float32."""
    t = np.arange(int(seconds * rate)) / rate
    k = np.log(f1 / f0) / seconds
    return (0.3 * np.sin(2 * np.pi * f0 * (np.exp(k * t) - 1) / k)).astype(np.float32)


def tone(freq: float, seconds: float = 30.0, rate: int = 44100, level: float = 0.3) -> np.ndarray:
    """A pure sine tone, mono float32."""
    t = np.arange(int(seconds * rate)) / rate
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def encode(samples: np.ndarray, rate: int = 44100, fmt: str = "m4a", bitrate: int = 128_000) -> bytes:
    """Encode mono float32 audio (or (2, n) stereo) as stereo AAC in an iTunes-style .m4a, or as
    mp3/ogg/flac/wav, in memory."""
    import av

    containers = {"m4a": ("ipod", "aac"), "mp3": ("mp3", "libmp3lame"), "ogg": ("ogg", "libopus"),
                  "flac": ("flac", "flac"), "wav": ("wav", "pcm_s16le")}
    container_fmt, codec = containers[fmt]
    buf = io.BytesIO()
    pair = samples if samples.ndim == 2 else np.stack([samples, samples])
    stereo = np.ascontiguousarray(pair.astype(np.float32))
    with av.open(buf, mode="w", format=container_fmt) as out:
        stream = cast("av.AudioStream", out.add_stream(codec, rate=rate))
        stream.layout = "stereo"
        if codec not in ("flac", "pcm_s16le"):
            stream.bit_rate = bitrate
        frame_fmt = "fltp"
        if codec == "pcm_s16le" or codec == "flac":
            frame_fmt = "s16"
        step = 1024
        for i, start in enumerate(range(0, stereo.shape[1], step)):
            block = stereo[:, start:start + step]
            if frame_fmt == "s16":
                data = (np.clip(block, -1, 1) * 32767).astype(np.int16).T.reshape(1, -1)
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data), format="s16", layout="stereo")
            else:
                frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(block), format="fltp", layout="stereo")
            frame.sample_rate = rate
            frame.pts = i * step
            frame.time_base = Fraction(1, rate)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return buf.getvalue()
