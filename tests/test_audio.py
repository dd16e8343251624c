"""Audio loading: formats, arrays, downmix, resampling and actionable errors."""
import numpy as np
import pytest
import soundfile as sf
import torch

from usad.audio import MIN_SAMPLES, AudioError, load_audio, resample


def _stereo(sr: int, seconds: float = 0.5) -> np.ndarray:
    t = np.arange(int(sr * seconds)) / sr
    left = 0.5 * np.sin(2 * np.pi * 440 * t)
    return np.stack([left, -0.25 * left], axis=1).astype(np.float32)  # (S, 2)


@pytest.mark.parametrize("ext,fmt", [("wav", "WAV"), ("flac", "FLAC"), ("ogg", "OGG"), ("mp3", "MP3")])
def test_reads_formats_downmixes_and_resamples(tmp_path, ext, fmt):
    path = tmp_path / f"clip.{ext}"
    sf.write(path, _stereo(44100), 44100, format=fmt)
    wav = load_audio(path)
    assert wav.dtype == torch.float32 and wav.dim() == 1
    assert abs(wav.shape[0] - 8000) <= 1200  # mp3 adds encoder padding
    assert 0.1 < float(wav.abs().max()) < 0.3  # mean of +0.5 and -0.25 sine: 0.125 amplitude


def test_arrays_and_tensors(tone):
    x = tone(440.0, 0.5, sr=8000)
    a = load_audio(x, source_rate=8000)
    b = load_audio(torch.from_numpy(np.stack([x, x])), source_rate=8000)  # (C, S)
    c = load_audio(np.stack([x, x], axis=1), source_rate=8000)  # (S, C)
    d = load_audio((x * 32767).astype(np.int16), source_rate=8000)
    assert a.shape == (8000,)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)
    torch.testing.assert_close(a, d, atol=1e-3, rtol=0)


def test_silence_is_valid():
    assert float(load_audio(np.zeros(1600, np.float32), source_rate=16000).abs().max()) == 0.0


@pytest.mark.parametrize("case,match", [
    ("missing", "file not found"),
    ("corrupt", "cannot decode"),
    ("empty", "no audio samples"),
    ("nan", "NaN/Inf"),
    ("short", "at least 400 samples"),
    ("rank3", "shape"),
    ("norate", "source_rate"),
])
def test_errors_name_the_input_and_say_what_to_do(tmp_path, case, match):
    bad = tmp_path / "bad.wav"
    if case == "missing":
        src, kw = tmp_path / "nope.wav", {}
    elif case == "corrupt":
        bad.write_bytes(b"RIFF\x00\x00garbage" * 10)
        src, kw = bad, {}
    elif case == "empty":
        src, kw = np.zeros(0, np.float32), {"source_rate": 16000, "name": "clip-7"}
    elif case == "nan":
        x = np.zeros(4000, np.float32)
        x[5] = np.nan
        src, kw = x, {"source_rate": 16000, "name": "clip-7"}
    elif case == "short":
        sf.write(bad, np.zeros(300, np.float32), 16000)
        src, kw = bad, {}
    elif case == "rank3":
        src, kw = np.zeros((2, 2, 800), np.float32), {"source_rate": 16000, "name": "clip-7"}
    else:
        src, kw = np.zeros(800, np.float32), {"name": "clip-7"}
    with pytest.raises(AudioError, match=match) as err:
        load_audio(src, **kw)
    assert isinstance(err.value, ValueError)
    assert (str(src) if case in ("missing", "corrupt", "short") else "clip-7") in str(err.value)


def test_short_limit_is_one_frame():
    assert load_audio(np.zeros(MIN_SAMPLES, np.float32), source_rate=16000).shape == (MIN_SAMPLES,)


def test_resample_keeps_type_and_frequency(tone):
    x = tone(1000.0, 1.0, sr=48000)
    y = resample(torch.from_numpy(x), 48000, 16000)
    assert isinstance(y, torch.Tensor) and y.shape == (16000,)
    spectrum = np.abs(np.fft.rfft(y.numpy()))
    assert int(np.argmax(spectrum)) == 1000  # 1 Hz bins over one second
    batch = resample(np.stack([x, x]), 48000, 16000)
    assert isinstance(batch, np.ndarray) and batch.shape == (2, 16000)
