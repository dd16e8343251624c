"""`Encoder.from_pretrained("org/name")` accepted only a folder. Hub ids now go through huggingface_hub's
snapshot_download and cache (HF_HUB_OFFLINE reads the cache only), and `push_to_hub` uploads with HfApi.
No test touches the network: the cache is laid out here as huggingface_hub writes it, and HfApi is replaced."""
import hashlib
import os
import shutil

import pytest
import torch

from usad import CheckpointError, Encoder
from usad.cli.main import main

COMMIT = "0123456789abcdef0123456789abcdef01234567"


def populate_cache(cache, repo_id: str, folder, commit: str = COMMIT) -> None:
    """models--org--name/{blobs/<sha256>, snapshots/<commit>/<file> -> ../../blobs/<sha256>, refs/main}."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    (repo / "blobs").mkdir(parents=True)
    (repo / "snapshots" / commit).mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    for name in ("config.json", "model.safetensors"):
        data = (folder / name).read_bytes()
        blob = hashlib.sha256(data).hexdigest()
        (repo / "blobs" / blob).write_bytes(data)
        os.symlink(f"../../blobs/{blob}", repo / "snapshots" / commit / name)


@pytest.fixture
def saved(tmp_path):
    torch.manual_seed(0)
    enc = Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2).eval()
    enc.save_pretrained(tmp_path / "local")
    return enc, tmp_path / "local"


@pytest.mark.parametrize("variable", ["HF_HUB_CACHE", "HF_HOME"])
def test_hub_id_loads_from_a_prepopulated_cache_offline(saved, tmp_path, monkeypatch, variable):
    enc, folder = saved
    root = tmp_path / "hf"
    populate_cache(root if variable == "HF_HUB_CACHE" else root / "hub", "org/tiny-usad", folder)
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv(variable, str(root))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)            # no local folder called org/tiny-usad here
    loaded = Encoder.from_pretrained("org/tiny-usad")
    wav = 0.1 * torch.randn(1, 8000)
    with torch.no_grad():
        torch.testing.assert_close(loaded(wav).hidden_states[-1], enc(wav).hidden_states[-1])
    assert Encoder.from_pretrained("org/tiny-usad", revision=COMMIT).config == enc.config


def test_extract_takes_a_hub_id(saved, tmp_path, monkeypatch):
    import numpy as np
    import soundfile as sf

    _, folder = saved
    populate_cache(tmp_path / "hf", "org/tiny-usad", folder)
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    sf.write(tmp_path / "a.wav", np.zeros(16000, dtype="float32"), 16000)
    assert main(["extract", "a.wav", "--model", "org/tiny-usad", "--out", "feats"]) == 0
    assert np.load(tmp_path / "feats" / "a.npy").shape == (2, 49, 32)   # num_frames(16000) = 49


def test_hub_id_missing_from_the_offline_cache_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(CheckpointError, match=r"'org/absent'.*HF_HUB_OFFLINE"):
        Encoder.from_pretrained("org/absent")


def test_a_local_folder_wins_over_a_hub_id(saved, tmp_path, monkeypatch):
    _, folder = saved
    shutil.copytree(folder, tmp_path / "org" / "name")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty"))
    monkeypatch.chdir(tmp_path)
    assert Encoder.from_pretrained("org/name").config.dim == 32


def test_push_to_hub_uploads_the_saved_folder(saved, monkeypatch):
    import huggingface_hub

    enc, _ = saved
    calls = []

    class FakeApi:
        def __init__(self, token=None):
            calls.append(("init", token))

        def create_repo(self, repo_id, **kw):
            calls.append(("create_repo", repo_id, kw))

        def upload_folder(self, *, folder_path, repo_id, repo_type, commit_message, revision):
            names = sorted(os.listdir(folder_path))
            reloaded = Encoder.from_pretrained(folder_path)
            calls.append(("upload_folder", repo_id, repo_type, names, reloaded.config, commit_message))
            return "https://hub.example/commit/1"

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub, "HfApi", FakeApi)
    url = enc.push_to_hub("org/tiny-usad", private=True, token="tok", commit_message="first")
    assert url == "https://hub.example/commit/1"
    assert calls[0] == ("init", "tok")
    assert calls[1] == ("create_repo", "org/tiny-usad", {"repo_type": "model", "private": True, "exist_ok": True})
    _, repo, kind, names, config, message = calls[2]
    assert (repo, kind, message) == ("org/tiny-usad", "model", "first")
    assert names == ["README.md", "config.json", "model.safetensors"] and config == enc.config
    with pytest.raises(CheckpointError, match="not a hub id"):
        enc.push_to_hub("not a repo id")
