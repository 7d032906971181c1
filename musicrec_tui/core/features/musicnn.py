"""A pretrained music-tagging network (musicnn, Pons & Serra 2019) run with onnxruntime, as an extractor.

The model file in musicrec_tui/assets/ was exported once from the checkpoint shipped in musicnn's PyPI wheel
(ISC licence, assets/MUSICNN_LICENSE.md) by tools/export_musicnn.py; its sha256 is checked when it is loaded.
Nothing is downloaded at run time. Like every extractor it takes audio at the analysis rate (22050 Hz),
resampled inside to musicnn's 16 kHz (soxr HQ). Preprocessing follows musicnn: 96-band mel power spectrogram
(n_fft 512, hop 256), log10(10000 x + 1) taken in float32, cut into non-overlapping 3 s patches of 187 frames.
The vector is the mean and the standard deviation over patches of one of the network's layers.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..audio import ANALYSIS_RATE
from ..errors import AnalysisError
from .base import Extractor

if TYPE_CHECKING:
    from onnxruntime import InferenceSession

RATE = 16000  # the network's rate; the extractor takes ANALYSIS_RATE audio and resamples
N_FFT = 512
HOP = 256
N_MELS = 96
N_FRAMES = 187  # 3 s patches, as musicnn computes them
ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"

# The VGG variant trained on MagnaTagATune; its last pooling layer (global max over time and frequency per
# 3 s patch) generalised best to held-out music at 256-d (benchmarks/musicnn_variants.py) and is the fastest.
MODEL_FILE = "mtt_vgg.onnx"
MODEL_SHA256 = "f2b4db5ad042e237a1364daa0d7bbb132d0c5f87dc87ac04f012453a6cb6c4e2"
LAYER = "pool5_max"
LAYER_DIM = 128


@lru_cache(maxsize=1)
def _mel_basis() -> np.ndarray:
    import librosa

    return librosa.filters.mel(sr=RATE, n_fft=N_FFT, n_mels=N_MELS).astype(np.float32)


def log_mel(samples: np.ndarray) -> np.ndarray:
    """musicnn's input: (frames, 96) float32 log10(10000 * mel power + 1), mel power as librosa gives it."""
    import librosa

    spec = np.abs(librosa.stft(samples.astype(np.float32), n_fft=N_FFT, hop_length=HOP)) ** 2
    mel = _mel_basis() @ spec
    return np.log10(np.float32(10000.0) * mel.T + np.float32(1.0)).astype(np.float32)


def patches(samples: np.ndarray) -> np.ndarray:
    """Non-overlapping (n, 187, 96) patches; a clip shorter than one patch is zero-padded to one."""
    rep = log_mel(samples)
    if rep.shape[0] < N_FRAMES:
        rep = np.pad(rep, ((0, N_FRAMES - rep.shape[0]), (0, 0)))
    n = 1 + (rep.shape[0] - N_FRAMES) // N_FRAMES
    return np.stack([rep[i * N_FRAMES : (i + 1) * N_FRAMES] for i in range(n)])


def to_model_rate(samples: np.ndarray, rate: int) -> np.ndarray:
    """Resample to the network's 16 kHz (soxr HQ, as core.audio.decode does)."""
    if rate == RATE:
        return samples
    import soxr

    return soxr.resample(samples, rate, RATE, "HQ").astype(np.float32, copy=False)


@lru_cache(maxsize=4)
def load_session(path: str, sha256: str) -> InferenceSession:
    """The ONNX session for a model file, created once per process (one thread); checksum verified first."""
    file = Path(path)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise AnalysisError(
            f"musicnn model missing: {file}", hint=f"reinstall musicrec-tui ({exc.strerror})"
        ) from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise AnalysisError(
            f"musicnn model corrupt: {file.name} sha256 {digest[:12]}…, expected {sha256[:12]}…"
        )
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(data, sess_options=opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad graphs
        raise AnalysisError(f"musicnn model unusable: {file.name}: {exc}") from None


def layer_outputs(samples: np.ndarray, path: Path, sha256: str, names: list[str]) -> list[np.ndarray]:
    """Per-patch activations of the named outputs, each (patches, dim)."""
    session = load_session(str(path), sha256)
    batch = patches(samples)
    return session.run([f"{n}:0" for n in names], {"patches:0": batch})  # run() is thread-safe


def make_compute(path: Path, sha256: str, layer: str) -> Callable[[np.ndarray, int], np.ndarray]:
    """The compute function of a musicnn extractor: mean and std over 3 s patches of `layer`."""

    def compute(samples: np.ndarray, rate: int) -> np.ndarray:
        (acts,) = layer_outputs(to_model_rate(samples, rate), path, sha256, [layer])
        return np.concatenate([acts.mean(axis=0), acts.std(axis=0)]).astype(np.float32)

    return compute


def make_extractor(
    path: Path = ASSETS / MODEL_FILE, sha256: str = MODEL_SHA256, layer: str = LAYER, dim: int = LAYER_DIM
) -> Extractor:
    """A musicnn extractor over one model file and layer (the default: the bundled model's `LAYER`)."""
    return Extractor(
        name="musicnn",
        version=1,
        dim=2 * dim,
        groups=("learned",) * dim + ("learned-variation",) * dim,
        compute=make_compute(path, sha256, layer),
        rate=ANALYSIS_RATE,
        description=f"pretrained musicnn ({path.stem}) {layer} embedding: mean and std over 3 s patches",
    )


EXTRACTOR = make_extractor()
