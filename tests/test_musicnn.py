"""The musicnn extractor: bundled model integrity, musicnn's preprocessing, vectors on synthesised audio."""

from __future__ import annotations

import hashlib
import shutil

import numpy as np
import pytest

from musicrec_tui.core import features
from musicrec_tui.core.audio import ANALYSIS_RATE, decode
from musicrec_tui.core.errors import AnalysisError
from musicrec_tui.core.features import musicnn
from musicrec_tui.core.synth import chord, drums, encode, noise

RATE = musicnn.RATE  # the network's rate
IN_RATE = ANALYSIS_RATE  # what the extractor takes, like every other


def _preview(samples: np.ndarray, rate: int = IN_RATE) -> np.ndarray:
    """Synthesised audio through a real AAC/m4a round trip, decoded at `rate`."""
    return decode(encode(samples, 44100, "m4a"), rate).samples


@pytest.fixture(scope="module")
def extractor():
    return features.get("musicnn")


def test_bundled_model_matches_its_recorded_checksum():
    path = musicnn.ASSETS / musicnn.MODEL_FILE
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    recorded = (musicnn.ASSETS / f"{musicnn.MODEL_FILE}.sha256").read_text().split()[0]
    assert digest == musicnn.MODEL_SHA256 == recorded
    assert (musicnn.ASSETS / "MUSICNN_LICENSE.md").read_text().startswith("Copyright")


def test_registered_with_its_dimension_groups_and_rate(extractor):
    assert extractor.name == "musicnn"
    assert extractor.rate == IN_RATE
    assert extractor.dim == 2 * musicnn.LAYER_DIM == len(extractor.groups)
    assert set(extractor.group_names) == {"learned", "learned-variation"}


def test_log_mel_is_musicnns_preprocessing_in_float32():
    import librosa

    audio = _preview(chord((220.0, 277.2, 329.6), seconds=10.0), RATE)
    mel = librosa.feature.melspectrogram(y=audio, sr=RATE, hop_length=256, n_fft=512, n_mels=96).T
    want = np.log10(10000 * mel.astype(np.float32) + 1)
    got = musicnn.log_mel(audio)
    assert got.dtype == np.float32
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert np.isfinite(got).all() and got.max() > 4.0  # float16 would have overflowed to inf above ~6.5 power


def test_patches_cover_the_clip_in_3_second_blocks():
    thirty = musicnn.patches(np.zeros(30 * RATE, dtype=np.float32) + 0.01)
    assert thirty.shape == (10, musicnn.N_FRAMES, musicnn.N_MELS)
    short = musicnn.patches(_preview(chord((440.0,), seconds=5.0), RATE)[: 2 * RATE])
    assert short.shape == (1, musicnn.N_FRAMES, musicnn.N_MELS)
    assert np.all(short[0, -20:] == 0.0)  # zero-padded after the 2 s of audio


def test_analysis_rate_input_matches_model_rate_input(extractor):
    """Audio at 22050 Hz (resampled inside) and the same audio decoded straight to 16 kHz agree closely."""
    music = chord((261.6, 329.6, 392.0), seconds=12.0, seed=3) + 0.5 * drums(96.0, seconds=12.0)
    via_analysis = extractor(_preview(music), IN_RATE)
    acts = musicnn.layer_outputs(
        _preview(music, RATE), musicnn.ASSETS / musicnn.MODEL_FILE, musicnn.MODEL_SHA256, [musicnn.LAYER]
    )[0]
    direct = np.concatenate([acts.mean(axis=0), acts.std(axis=0)])
    cos = float(via_analysis @ direct / np.linalg.norm(via_analysis) / np.linalg.norm(direct))
    assert cos > 0.995


def test_vector_is_finite_float32_and_deterministic(extractor):
    audio = _preview(chord((196.0, 246.9, 293.7)))
    first = extractor(audio, IN_RATE)
    again = extractor(audio.copy(), IN_RATE)
    assert first.dtype == np.float32 and first.shape == (extractor.dim,)
    assert np.isfinite(first).all()
    assert np.array_equal(first, again)
    assert np.abs(first).sum() > 0.0


def test_different_sounds_land_in_different_places(extractor):
    def cos(a: np.ndarray, b: np.ndarray) -> float:
        return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))

    vec = {
        "chord": extractor(_preview(chord((220.0, 277.2, 329.6), seed=1)), IN_RATE),
        "chord2": extractor(_preview(chord((220.0, 277.2, 329.6), seed=2)), IN_RATE),
        "drums": extractor(_preview(drums(120.0)), IN_RATE),
        "noise": extractor(_preview(noise()), IN_RATE),
    }
    same = cos(vec["chord"], vec["chord2"])
    assert same > 0.99
    for other in ("drums", "noise"):
        assert cos(vec["chord"], vec[other]) < same - 0.05
    assert cos(vec["drums"], vec["noise"]) < same - 0.05


def test_wrong_rate_is_an_analysis_error(extractor):
    with pytest.raises(AnalysisError, match="22050 Hz"):
        extractor(np.full(16000 * 10, 0.1, dtype=np.float32), 16000)


def test_corrupt_model_file_gives_an_analysis_error(tmp_path):
    bad = tmp_path / "model.onnx"
    shutil.copyfile(musicnn.ASSETS / musicnn.MODEL_FILE, bad)
    data = bytearray(bad.read_bytes())
    data[len(data) // 2] ^= 0xFF
    bad.write_bytes(bytes(data))
    corrupt = musicnn.make_extractor(path=bad)
    with pytest.raises(AnalysisError, match="corrupt") as err:
        corrupt(np.full(6 * IN_RATE, 0.1, dtype=np.float32), IN_RATE)
    assert "\n" not in err.value.one_line()


def test_missing_model_file_gives_an_analysis_error(tmp_path):
    missing = musicnn.make_extractor(path=tmp_path / "nowhere.onnx")
    with pytest.raises(AnalysisError, match="missing") as err:
        missing(np.full(6 * IN_RATE, 0.1, dtype=np.float32), IN_RATE)
    assert "nowhere.onnx" in err.value.one_line()
