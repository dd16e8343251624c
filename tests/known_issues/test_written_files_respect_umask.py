"""Everything usad wrote was owner-only (folders 0700, files 0600) whatever the umask, because of
tempfile.mkstemp/mkdtemp + os.replace; anyone else got "Permission denied". Writes now follow the umask."""
import os
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).parents[1] / "distill"))
from distill_fixtures import tiny_config, write_corpus  # noqa: E402

from usad import Encoder  # noqa: E402
from usad.cli.main import main  # noqa: E402
from usad.io import atomic_write_text, make_temp_dir, save_safetensors  # noqa: E402


@pytest.fixture(params=[0o022, 0o002])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_modes(root: Path, umask: int) -> None:
    paths = [root, *root.rglob("*")]
    assert len(paths) > 1
    for p in paths:
        want = (0o777 if p.is_dir() else 0o666) & ~umask
        assert mode(p) == want, f"{p}: {oct(mode(p))}, expected {oct(want)}"


def test_helpers_follow_the_umask(tmp_path, umask):
    atomic_write_text(tmp_path / "a" / "t.txt", "x")
    import torch

    save_safetensors(tmp_path / "a" / "w.safetensors", {"w": torch.zeros(2)})
    make_temp_dir(tmp_path / "a", ".tmp-")
    assert_modes(tmp_path / "a", umask)


def test_checkpoint_and_extract_outputs_follow_the_umask(tmp_path, umask):
    Encoder.from_preset("small", num_layers=1, dim=32, num_heads=2).save_pretrained(tmp_path / "ckpt")
    assert_modes(tmp_path / "ckpt", umask)
    sf.write(tmp_path / "a.wav", np.zeros(8000, dtype="float32"), 16000)
    for fmt in ("npy", "safetensors"):
        out = tmp_path / f"feats-{fmt}"
        assert main(["extract", str(tmp_path / "a.wav"), "--model", str(tmp_path / "ckpt"), "--out", str(out),
                     "--format", fmt]) == 0
        assert_modes(out, umask)


def test_training_run_and_teacher_cache_follow_the_umask(tmp_path, umask):
    from usad.distill.config import load_config
    from usad.distill.trainer import train
    from usad.teachers.cache import build_cache
    from usad.teachers.registry import load_teacher

    manifest = write_corpus(tmp_path / "corpus", n=3)
    train(load_config(tiny_config(manifest, tmp_path / "run", max_steps=1, ckpt_every=1)))
    assert_modes(tmp_path / "run", umask)
    build_cache(load_teacher("test:8x2@50"), manifest, tmp_path / "cache", layers=[1], progress=False)
    assert_modes(tmp_path / "cache", umask)
