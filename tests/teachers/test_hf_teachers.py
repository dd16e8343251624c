"""hf: teachers with small random transformers configs saved to a tmp dir (mechanics), and whisper-base weights
converted to the transformers layout (parity with our own encoder)."""
import importlib.util

import pytest
import torch

from tests.conftest import require

pytestmark = pytest.mark.skipif(importlib.util.find_spec("transformers") is None, reason="pip install transformers")

_CONV = dict(conv_dim=(8, 8, 8, 8, 8, 8, 8), conv_stride=(5, 2, 2, 2, 2, 2, 2), conv_kernel=(10, 3, 3, 3, 3, 2, 2),
             num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2)
_SMALL = dict(hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32)


def _save(tmp_path, kind):
    import transformers as tf

    torch.manual_seed(0)
    if kind == "whisper":
        cfg = tf.WhisperConfig(d_model=16, encoder_layers=3, decoder_layers=1, encoder_attention_heads=2,
                               decoder_attention_heads=2, encoder_ffn_dim=32, decoder_ffn_dim=32, vocab_size=64,
                               num_mel_bins=80, max_source_positions=1500, max_target_positions=16,
                               pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)
        model = tf.WhisperModel(cfg)
    else:
        cls = {"wav2vec2": (tf.Wav2Vec2Config, tf.Wav2Vec2Model), "hubert": (tf.HubertConfig, tf.HubertModel),
               "wavlm": (tf.WavLMConfig, tf.WavLMModel),
               "data2vec": (tf.Data2VecAudioConfig, tf.Data2VecAudioModel)}[kind]
        extra = {"feat_extract_norm": "layer", "do_stable_layer_norm": kind == "wav2vec2"}
        if kind == "hubert":
            extra = {}  # group-norm stem: run clip by clip
        if kind == "data2vec":
            extra = {"conv_pos_kernel_size": 5, "num_conv_pos_embeddings": 5}
        cfg = cls[0](**_SMALL, **{**_CONV, **extra})
        model = cls[1](cfg)
        tf.Wav2Vec2FeatureExtractor(sampling_rate=16000, do_normalize=True,
                                    return_attention_mask=kind != "hubert").save_pretrained(tmp_path / kind)
    model.save_pretrained(tmp_path / kind)
    return str(tmp_path / kind)


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    root = tmp_path_factory.mktemp("hf")
    return {k: _save(root, k) for k in ("wav2vec2", "hubert", "wavlm", "data2vec", "whisper")}


@pytest.mark.parametrize("kind", ["wav2vec2", "hubert", "wavlm", "data2vec", "whisper"])
def test_layers_shapes_masks_rate_and_batch_equals_single(saved, kind, monkeypatch):
    from usad.teachers import load_teacher

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t = load_teacher(f"hf:{saved[kind]}")
    assert t.info.num_layers == 3 and t.info.dims[3] == 16 and set(t.info.dims) == {0, 1, 2, 3}
    assert t.frame_rate == 50.0
    torch.manual_seed(1)
    a, b = torch.randn(16000) * 0.1, torch.randn(8000) * 0.1
    batch = torch.nn.utils.rnn.pad_sequence([a, b], batch_first=True)
    out = t(batch, torch.tensor([16000, 8000]), layers=[0, 2, 3])
    alone = t(b, layers=[0, 2, 3])
    n = alone.features[3].shape[1]
    assert out.features[3].shape == (2, 49 if kind != "whisper" else 50, 16)
    assert int(out.mask[1].sum()) == n and n in (24, 25)
    for l in (0, 2, 3):
        assert torch.allclose(out.features[l][1, :n], alone.features[l][0], atol=1e-4), l
        assert (out.features[l][1, n:] == 0).all()


def test_depth_limit_and_ffn(saved):
    from usad.teachers import load_teacher

    t = load_teacher(f"hf:{saved['wavlm']}")
    ran = []
    hooks = [m.register_forward_hook(lambda *a, i=i: ran.append(i)) for i, m in enumerate(t.layers_list)]
    t(torch.randn(1, 8000), layers=[1])
    for h in hooks:
        h.remove()
    assert ran == [0]
    f = load_teacher(f"hf:{saved['wavlm']}", feature="ffn")
    out = f(torch.randn(1, 8000), layers=[1, 3])
    assert set(f.info.dims) == {1, 2, 3} and out.features[1].shape[-1] == 16
    assert not torch.allclose(out.features[1], t(torch.randn(1, 8000), layers=[1]).features[1])


def test_offline_hub_id_not_cached_is_actionable(monkeypatch):
    from usad.teachers.registry import check_teacher

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ok, why = check_teacher("hf:no-such-org/no-such-model-xyz")
    assert not ok and "HF_HUB_OFFLINE" in why


@pytest.mark.slow
def test_whisper_base_converted_to_transformers_matches_our_encoder(tmp_path):
    import transformers as tf

    from usad.teachers.registry import check_teacher, load_teacher
    from usad.teachers.whisper.teacher import load_whisper_base_encoder

    ok, why = check_teacher("whisper-base")
    require(ok, why)
    ours = load_whisper_base_encoder()
    cfg = tf.WhisperConfig(d_model=512, encoder_layers=6, encoder_attention_heads=8, encoder_ffn_dim=2048,
                           decoder_layers=1, decoder_attention_heads=8, decoder_ffn_dim=64, vocab_size=64,
                           num_mel_bins=80, max_source_positions=1500, max_target_positions=16,
                               pad_token_id=0, bos_token_id=1, eos_token_id=2, decoder_start_token_id=1)
    model = tf.WhisperModel(cfg)
    sd = {f"encoder.{k}": v for k, v in ours.to_hf_state_dict().items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    assert not unexpected and not [m for m in missing if m.startswith("encoder.")]
    model.save_pretrained(tmp_path / "whisper-base-hf")
    hf = load_teacher(f"hf:{tmp_path / 'whisper-base-hf'}")
    wb = load_teacher("whisper-base")
    torch.manual_seed(0)
    wav = torch.randn(1, 16000) * 0.1
    a, b = hf(wav, layers=[2, 6]), wb(wav, layers=[2, 6])
    for l in (2, 6):
        assert (a.features[l] - b.features[l]).abs().max() < 1e-3, l


def test_whisper_long_clip_runs_in_30s_windows(saved):
    from usad.teachers import load_teacher

    t = load_teacher(f"hf:{saved['whisper']}")
    wav = torch.randn(1, 16000 * 31) * 0.1
    out = t(wav, layers=[3])
    assert out.features[3].shape == (1, 1550, 16) and out.mask.all()
    head = t(wav[:, : 16000 * 30], layers=[3])
    assert torch.allclose(out.features[3][:, :1500], head.features[3], atol=1e-5)
