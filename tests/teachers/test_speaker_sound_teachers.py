"""Resemblyzer on real prompts (speaker identity) and BirdNET on real game sound effects."""
import os

import pytest
import torch

from tests.conftest import require

ASTERISK = "/usr/share/asterisk/sounds"
HEDGEWARS = "/usr/share/games/hedgewars/Data/Sounds"


def _load(name, **kw):
    from usad.teachers.registry import check_teacher, load_teacher

    ok, why = check_teacher(name)
    require(ok, why)
    return load_teacher(name, **kw)


def _audio(path, pkg):
    from usad.audio import load_audio

    require(os.path.isfile(path), f"apt-get install {pkg}")
    return load_audio(path)


def test_resemblyzer_same_speaker_closer_than_different_speaker():
    t = _load("resemblyzer")
    en1 = _audio(f"{ASTERISK}/en_US_f_Allison/conf-onlyperson.wav", "asterisk-core-sounds-en-wav")
    en2 = _audio(f"{ASTERISK}/en_US_f_Allison/conf-getpin.wav", "asterisk-core-sounds-en-wav")
    it1 = _audio(f"{ASTERISK}/it_IT_m_Carlo/conf-onlyperson.wav", "asterisk-core-sounds-it-wav")
    e = [t.utterance_embedding(x) for x in (en1, en2, it1)]
    assert float(e[0] @ e[1]) > float(e[0] @ e[2]) + 0.1
    assert float(e[0] @ e[1]) > float(e[1] @ e[2]) + 0.1
    # frame states: 3 layers x 256 at 100 Hz, padded batch == single clip
    batch = torch.nn.utils.rnn.pad_sequence([en1, it1], batch_first=True)
    out = t(batch, torch.tensor([len(en1), len(it1)]), layers=[1, 3])
    alone = t(it1, layers=[1, 3])
    n = alone.features[3].shape[1]
    assert n == 1 + len(it1) // 160 and int(out.mask[1].sum()) == n
    assert out.features[1].shape[-1] == 256 and out.frame_rate == 100.0
    assert torch.allclose(out.features[3][1, :n], alone.features[3][0], atol=1e-4)


@pytest.mark.slow
def test_birdnet_labels_and_embeddings_on_real_sounds():
    t = _load("birdnet")
    drill = _audio(f"{HEDGEWARS}/drillgun.ogg", "hedgewars-data")
    minigun = _audio(f"{HEDGEWARS}/minigun.ogg", "hedgewars-data")
    growl = _audio(f"{HEDGEWARS}/hell_growl.ogg", "hedgewars-data")
    labels = t.labels()
    assert len(labels) == 6522
    out = t(drill, layers=[2])
    top = [labels[i] for i in out.features[2][0, 0].topk(3).indices]
    print("birdnet top-3 for drillgun.ogg:", top)
    assert any("Engine" in x or "Power tools" in x for x in top), top
    crops = torch.nn.utils.rnn.pad_sequence([minigun[:24000], minigun[24000:48000], growl[:24000]], batch_first=True)
    emb = t(crops, layers=[1]).features[1][:, 0]
    emb = torch.nn.functional.normalize(emb, dim=-1)
    same, diff = float(emb[0] @ emb[1]), float(emb[0] @ emb[2])
    assert same > diff, (same, diff)
    again = t(crops[:1, :24000], layers=[1]).features[1][0, 0]
    assert torch.allclose(torch.nn.functional.normalize(again, dim=-1), emb[0], atol=1e-5)  # deterministic
    # windows run in fixed-size chunks (the last one zero-padded): the chunk size never changes a result
    chunked = _load("birdnet", window_batch=2)(crops, layers=[1]).features[1][:, 0]
    assert torch.allclose(torch.nn.functional.normalize(chunked, dim=-1), emb, atol=1e-5)


def test_birdnet_overlapping_hop_sets_frame_rate():
    t = _load("birdnet", hop_s=1.0)
    out = t(torch.zeros(1, 16000 * 2), layers=[1])
    assert t.frame_rate == 1.0 and out.features[1].shape == (1, 2, 1024)
