"""Feature extractors on real encoded audio (core/synth.py -> AAC/m4a -> PyAV decode -> extractor)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from musicrec_tui.core import audio, synth
from musicrec_tui.core.errors import AnalysisError, ConfigError, DecodeError
from musicrec_tui.core.features import DEFAULT_EXTRACTOR, available, get, handcrafted
from musicrec_tui.core.models import SOURCE_FILE, FeatureVector, Track

EXTRACTORS = sorted(available())
SECONDS = 12.0


def _vec(samples: np.ndarray, name: str = "handcrafted", rate: int = 44100, fmt: str = "m4a") -> np.ndarray:
    decoded = audio.decode(synth.encode(samples, rate, fmt))
    return get(name)(decoded.samples, decoded.rate)


@pytest.fixture(scope="module")
def sounds() -> dict[str, np.ndarray]:
    return {
        "sweep": synth.sweep(SECONDS),
        "noise": synth.noise(SECONDS),
        "drums": synth.drums(120, SECONDS),
        "chord": synth.chord((220.0, 277.18, 329.63), SECONDS),
    }


@pytest.fixture(scope="module")
def vectors(sounds: dict[str, np.ndarray]) -> dict[tuple[str, str], np.ndarray]:
    return {(name, key): _vec(s, name) for name in EXTRACTORS for key, s in sounds.items()}


@pytest.fixture(scope="module")
def synth_library(sounds: dict[str, np.ndarray], vectors: dict[tuple[str, str], np.ndarray]) -> dict[str, np.ndarray]:
    """Handcrafted vectors of a small, varied library: the four sounds plus seven more."""
    more = {
        "drums90": synth.drums(90, SECONDS, seed=1),
        "drums150": synth.drums(150, SECONDS, seed=2),
        "c_major": synth.chord((261.63, 329.63, 392.0), SECONDS),
        "bass": synth.chord((55.0, 110.0), SECONDS),
        "high": synth.chord((1760.0, 2217.5, 2637.0), SECONDS),
        "tone": synth.tone(1000.0, SECONDS),
        "band": synth.drums(100, SECONDS) + synth.chord((196.0, 246.94, 293.66), SECONDS),
    }
    out = {k: vectors[("handcrafted", k)] for k in sounds}
    out.update({k: _vec(s) for k, s in more.items()})
    return out


class Space:
    """Distances with every dimension scaled by its spread over the library, as the index does."""

    def __init__(self, library: dict[str, np.ndarray]) -> None:
        self.library = library
        spread = np.std(np.stack(list(library.values())), axis=0)
        self.scale = np.where(spread > 1e-6, spread, 1.0)

    def dist(self, a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm((a - b) / self.scale))

    def nearest_other(self, key: str) -> float:
        return min(self.dist(self.library[key], v) for k, v in self.library.items() if k != key)

    def nearest(self, vec: np.ndarray) -> str:
        return min(self.library, key=lambda k: self.dist(vec, self.library[k]))


def test_registry_default_and_labels() -> None:
    assert DEFAULT_EXTRACTOR in available() and get().name == DEFAULT_EXTRACTOR
    ext = get("handcrafted")
    assert ext.group_names == ("timbre", "brightness", "dynamics", "rhythm", "harmony")
    assert ext.dim == len(handcrafted.FEATURE_NAMES) == len(set(handcrafted.FEATURE_NAMES))
    assert get("stats256").dim == 256
    with pytest.raises(ConfigError) as info:
        get("nope")
    assert "choose one of" in info.value.one_line() and "handcrafted" in info.value.one_line()


@pytest.mark.parametrize("name", EXTRACTORS)
def test_vector_round_trips_through_blob(name: str, vectors: dict[tuple[str, str], np.ndarray]) -> None:
    ext = get(name)
    vec = vectors[(name, "drums")]
    assert vec.dtype == np.float32 and vec.shape == (ext.dim,) and np.all(np.isfinite(vec))
    fv = FeatureVector(ext.name, ext.version, vec)
    back = FeatureVector.from_blob(ext.name, ext.version, fv.to_blob())
    assert back.to_blob() == fv.to_blob()
    assert np.array_equal(back.values.view(np.uint32), vec.view(np.uint32))


@pytest.mark.parametrize("db", [-12.0, 12.0])
def test_gain_barely_moves_the_vector(db: float, sounds: dict[str, np.ndarray],
                                      synth_library: dict[str, np.ndarray]) -> None:
    space = Space(synth_library)
    for key, samples in sounds.items():
        quiet = samples / np.max(np.abs(samples)) * 0.06  # room for +12 dB without clipping
        ref = _vec(quiet)
        moved = _vec(quiet * np.float32(10 ** (db / 20)))
        assert space.dist(moved, ref) < 0.2 * space.nearest_other(key), (key, space.dist(moved, ref),
                                                                          space.nearest_other(key))
        assert space.nearest(moved) == key


def test_different_sounds_land_apart(synth_library: dict[str, np.ndarray]) -> None:
    space = Space(synth_library)
    # another take of each sound (other seed, nudged parameters) is nearest to its own kind
    takes = {
        "sweep": _vec(synth.sweep(SECONDS, f0=110.0, f1=7500.0)),
        "noise": _vec(synth.noise(SECONDS, seed=7, level=0.1)),
        "drums": _vec(synth.drums(122, SECONDS, seed=3)),
        "chord": _vec(synth.chord((220.0, 277.18, 329.63), SECONDS, seed=9)),
    }
    for key, vec in takes.items():
        assert space.nearest(vec) == key
    for a in ("sweep", "noise", "drums"):
        for b in ("sweep", "noise", "drums"):
            if a < b:
                assert space.dist(synth_library[a], synth_library[b]) > 5 * space.dist(takes[a], synth_library[a])


def test_vectors_of_every_extractor_round_trip_through_the_store(library,
                                                                  vectors: dict[tuple[str, str], np.ndarray]) -> None:
    for i, name in enumerate(EXTRACTORS):
        ext = get(name)
        ids = []
        for j, key in enumerate(("sweep", "drums")):
            track = Track(source=SOURCE_FILE, external_id=f"/music/{name}/{key}.m4a", title=key, artist=name)
            stored = library.save_analysis(track, FeatureVector(ext.name, ext.version, vectors[(name, key)]))
            ids.append(stored.id)
            back = library.get_vector(stored.id, ext.name)
            assert back is not None and back.to_blob() == vectors[(name, key)].tobytes(), (i, j)
        loaded = library.load_matrix(ext.name, ext.version)
        assert list(loaded.ids) == ids and loaded.matrix.dtype == np.float32
        expected = np.stack([vectors[(name, "sweep")], vectors[(name, "drums")]])
        assert loaded.matrix.tobytes() == expected.tobytes()


def test_pure_tone_brightness_follows_pitch() -> None:
    idx = handcrafted.FEATURE_NAMES.index("centroid_mean")
    roll = handcrafted.FEATURE_NAMES.index("rolloff_mean")
    freqs = [220.0, 440.0, 880.0, 1760.0, 3520.0]
    vecs = [_vec(synth.tone(f, 6.0)) for f in freqs]
    centroids = [float(v[idx]) for v in vecs]
    assert centroids == sorted(centroids)
    for f, c in zip(freqs, centroids, strict=True):
        assert abs(c - np.log2(f)) < 0.15, (f, 2**c)
    assert [float(v[roll]) for v in vecs] == sorted(float(v[roll]) for v in vecs)


def test_sample_rate_of_the_source_barely_matters(sounds: dict[str, np.ndarray],
                                                  synth_library: dict[str, np.ndarray]) -> None:
    """The same audio encoded at 44.1 and at 22.05 kHz (lossless, so only the rate differs), decoded to 22050."""
    import soxr

    space = Space(synth_library)
    for key, samples in sounds.items():
        low = soxr.resample(samples, 44100, 22050, "HQ").astype(np.float32)
        vec44 = _vec(samples, rate=44100, fmt="flac")
        vec22 = _vec(low, rate=22050, fmt="flac")
        assert space.dist(vec22, vec44) < 0.1 * space.nearest_other(key), key


@pytest.mark.parametrize("name", EXTRACTORS)
def test_silence_is_a_clear_error(name: str) -> None:
    ext = get(name)
    with pytest.raises(AnalysisError, match="silent"):
        ext(np.zeros(22050 * 10, dtype=np.float32), 22050)
    with pytest.raises(AnalysisError, match="too short"):
        ext(synth.tone(440.0, 0.2, rate=22050), 22050)
    with pytest.raises(AnalysisError, match="NaN"):
        ext(np.full(22050 * 5, np.nan, dtype=np.float32), 22050)
    with pytest.raises(AnalysisError, match="22050"):
        ext(synth.tone(440.0, 5.0), 44100)


def test_silent_preview_fails_in_decode_check() -> None:
    decoded = audio.decode(synth.encode(np.zeros(44100 * 10, dtype=np.float32)))
    with pytest.raises(DecodeError, match="silent"):
        audio.check_analysable(decoded)


def test_a_click_in_silence_is_too_little_sound() -> None:
    samples = np.zeros(22050 * 10, dtype=np.float32)
    samples[1000:1200] = 0.5
    with pytest.raises(AnalysisError, match="too little sound"):
        get("handcrafted")(samples, 22050)


def test_handcrafted_needs_no_librosa_or_numba() -> None:
    code = (
        "import sys, numpy as np\n"
        "from musicrec_tui.core import synth\n"
        "from musicrec_tui.core.features import get\n"
        "v = get('handcrafted')(synth.drums(100, 5.0, rate=22050), 22050)\n"
        "assert v.shape == (122,)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('librosa', 'numba')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


EDGE_CASES = {
    "50 Hz hum (no chroma range)": lambda r: synth.tone(50.0, 5.0, rate=r),
    "9 kHz whistle": lambda r: synth.tone(9000.0, 5.0, rate=r),
    "DC offset": lambda r: np.full(5 * r, 0.3, np.float32),
    "sparse clicks": lambda r: (np.arange(5 * r) % 5000 == 0).astype(np.float32),
    "4 s silence then noise": lambda r: np.concatenate([np.zeros(4 * r, np.float32), synth.noise(1.0, rate=r)]),
    "very quiet noise": lambda r: synth.noise(5.0, rate=r, level=2e-4),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_odd_but_valid_audio_gives_finite_vectors(case: str) -> None:
    vec = get("handcrafted")(EDGE_CASES[case](22050), 22050)
    assert vec.shape == (get("handcrafted").dim,) and np.all(np.isfinite(vec))


def test_stereo_decodes_to_the_mean_of_its_channels_packed_and_planar(tmp_path) -> None:
    """Decoding copies each frame's channels straight into one buffer: a packed s16 WAV longer than the
    first buffer (70 s) and a planar float AAC file both come out as the mean of their two channels."""
    import wave

    import av

    rate = 44100
    t = np.arange(70 * rate) / rate
    left = np.round(12000 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    right = np.round(9000 * np.sin(2 * np.pi * 660 * t + 1.0)).astype(np.int16)
    wav = tmp_path / "stereo.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.stack([left, right], axis=1).tobytes())
    got = audio.decode(wav, rate).samples
    want = np.stack([left, right]).astype(np.float32) / np.float32(32768)
    np.testing.assert_array_equal(got, want.mean(axis=0, dtype=np.float32))

    m4a = tmp_path / "stereo.m4a"
    m4a.write_bytes(synth.encode(np.stack([synth.sweep(8.0), 0.5 * synth.noise(8.0)]), rate, "m4a"))
    with av.open(str(m4a)) as container:  # PyAV's own conversion, frame by frame, as the reference
        planes = np.concatenate([f.to_ndarray() for f in container.decode(container.streams.audio[0])], axis=1)
    assert planes.shape[0] == 2 and np.abs(planes[0] - planes[1]).max() > 0.1  # two different channels
    np.testing.assert_array_equal(audio.decode(m4a, rate).samples, planes.mean(axis=0, dtype=np.float32))
    short = audio.load_for_analysis(m4a, rate).samples  # the bounded path: same samples
    np.testing.assert_array_equal(short, planes.mean(axis=0, dtype=np.float32))


def test_handcrafted_spectral_statistics_from_every_other_frame_barely_move(monkeypatch) -> None:
    """Version 2 takes spectral shape and chroma from every other (75 %-overlapping) frame: those dimensions
    stay close to the every-frame values (chroma flux, a change per step, grows); timbre, dynamics and rhythm
    are the same numbers."""
    assert handcrafted.VERSION == 2 and handcrafted.SPECTRAL_STEP == 2
    music = 0.5 * synth.chord((196.0, 246.94, 293.66), 20.0, seed=2) + 0.5 * synth.drums(120, 20.0)
    decoded = audio.decode(synth.encode(music.astype(np.float32)))
    sparse = handcrafted.compute(decoded.samples, decoded.rate)
    monkeypatch.setattr(handcrafted, "SPECTRAL_STEP", 1)
    every = handcrafted.compute(decoded.samples, decoded.rate)
    groups = np.asarray(handcrafted.GROUPS)
    same = np.isin(groups, ("timbre", "dynamics", "rhythm"))
    np.testing.assert_array_equal(sparse[same], every[same])
    flux = list(handcrafted.FEATURE_NAMES).index("chroma_flux")  # a change per frame step: the step doubled
    assert every[flux] < sparse[flux] < 2 * every[flux]
    same[flux] = True
    moved = np.abs(sparse[~same] - every[~same]) / (np.abs(every[~same]) + 0.01)  # weak chroma std ~0.004
    assert 0 < moved.max() < 0.1 and np.median(moved) < 0.01


@pytest.mark.parametrize(("bpm", "octaves"), [(80, np.log2(160 / 120)), (120, 0.0), (150, np.log2(75 / 120))])
def test_handcrafted_hears_the_tempo_of_a_drum_loop(bpm: int, octaves: float) -> None:
    """The onset flux still uses every frame: a drum loop's pulse is clear and its tempo (octaves from 120 BPM,
    scaled by the clarity; the prior around 120 BPM doubles 80 and halves 150) is read as before."""
    names = list(handcrafted.FEATURE_NAMES)
    vec = _vec(0.8 * synth.drums(bpm, 20.0))
    clarity, tempo = vec[names.index("pulse_clarity")], vec[names.index("tempo_octaves")]
    assert clarity > 0.5
    assert abs(tempo / clarity - octaves) < 0.1
