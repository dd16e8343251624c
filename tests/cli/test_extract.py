"""`usad extract` end to end on generated files, with a corrupt and a too-short input."""
import json

import numpy as np
import pytest
import soundfile as sf
from safetensors.numpy import load_file

from usad import Encoder
from usad.cli.main import main
from usad.model.config import num_frames


@pytest.fixture
def audio_dir(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    sf.write(root / "a.wav", 0.1 * rng.standard_normal(16000), 16000)
    sf.write(root / "sub" / "b.flac", 0.1 * rng.standard_normal((22050, 2)), 44100)  # 0.5 s stereo
    sf.write(root / "long.wav", 0.1 * rng.standard_normal(16000 * 5), 16000)
    sf.write(root / "short.wav", np.zeros(100), 16000)
    (root / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00not audio at all")
    return root


@pytest.fixture
def tiny_model(tmp_path):
    path = tmp_path / "tiny"
    Encoder.from_preset("small", num_layers=3, dim=32, num_heads=2).save_pretrained(path)
    return path


def test_extract_directory_writes_mirrored_features_and_reports_failures(audio_dir, tiny_model, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["extract", str(audio_dir), "--model", str(tiny_model), "--out", str(out), "--layers", "3,1",
               "--chunk-seconds", "2"])
    assert rc == 1  # two inputs failed, the rest were written
    a, b, long = np.load(out / "a.npy"), np.load(out / "sub" / "b.npy"), np.load(out / "long.npy")
    assert a.shape == (2, num_frames(16000), 32) and b.shape == (2, num_frames(8000), 32)
    assert long.shape == (2, num_frames(80000), 32)  # went through chunked extraction
    assert np.isfinite(a).all() and np.isfinite(long).all()
    summary = json.loads((out / "extract_summary.json").read_text())
    assert summary["layers"] == "1,3" and len(summary["written"]) == 3
    failed = summary["failed"]
    assert set(failed) == {str(audio_dir / "short.wav"), str(audio_dir / "corrupt.wav")}
    assert "at least 400 samples" in failed[str(audio_dir / "short.wav")]
    assert "cannot decode audio" in failed[str(audio_dir / "corrupt.wav")]
    printed = capsys.readouterr().out
    assert "wrote 3 file(s)" in printed and "FAILED" in printed and "corrupt.wav" in printed


def test_extract_manifest_with_teacher_to_safetensors(audio_dir, tmp_path):
    manifest = tmp_path / "m.jsonl"
    manifest.write_text(json.dumps({"id": "clip-a", "path": str(audio_dir / "a.wav"), "duration": 1.0}) + "\n"
                        + json.dumps({"id": "clip-b", "path": "in/sub/b.flac", "duration": 0.5}) + "\n")
    out = tmp_path / "out"
    rc = main(["extract", str(manifest), "--teacher", "test:16x2@50", "--out", str(out), "--format",
               "safetensors"])
    assert rc == 0
    feats = load_file(str(out / "clip-b.safetensors"))
    assert sorted(feats) == ["layer_1", "layer_2"] and feats["layer_1"].shape[1] == 16
    assert (out / "clip-a.safetensors").exists()


def test_extract_rejects_unknown_layers(audio_dir, tiny_model, tmp_path, capsys):
    rc = main(["extract", str(audio_dir / "a.wav"), "--model", str(tiny_model), "--out", str(tmp_path / "o"),
               "--layers", "4"])
    assert rc == 2 and "--layers" in capsys.readouterr().err


def test_extract_names_its_encoder_like_every_verb(audio_dir, tmp_path):
    """--encoder takes the spec `usad probe` takes; --teacher NAME is short for --encoder teacher:NAME."""
    wav = str(audio_dir / "a.wav")
    assert main(["extract", wav, "--encoder", "preset:small,num_layers=2,dim=32,num_heads=2", "--out",
                 str(tmp_path / "preset")]) == 0
    assert np.load(tmp_path / "preset" / "a.npy").shape == (2, num_frames(16000), 32)
    assert main(["extract", wav, "--encoder", "spectral:fbank", "--out", str(tmp_path / "fbank")]) == 0
    fbank = np.load(tmp_path / "fbank" / "a.npy")
    assert fbank.shape[0] == 1 and fbank.shape[2] == 128
    for flags, out in ((["--teacher", "test:16x2@50"], "short"), (["--encoder", "teacher:test:16x2@50"], "spec")):
        assert main(["extract", wav, *flags, "--out", str(tmp_path / out)]) == 0
    assert np.array_equal(np.load(tmp_path / "short" / "a.npy"), np.load(tmp_path / "spec" / "a.npy"))
