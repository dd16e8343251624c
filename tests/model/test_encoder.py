"""The encoder's one inference call: outputs, masks, padding invariance, target_layer, frame count."""
import pytest
import torch

from usad import AudioError, Encoder
from usad.model.config import num_frames

TINY = dict(num_layers=2, dim=64, num_heads=2)


def _tiny(**kw) -> Encoder:
    torch.manual_seed(0)
    return Encoder.from_preset("small", **{**TINY, **kw}).eval()


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    wav = 0.1 * torch.randn(3, 16000, generator=gen)
    lengths = torch.tensor([16000, 9001, 5000])
    wav[1, 9001:] = 3.0  # padding content must not matter
    wav[2, 5000:] = -3.0
    return wav, lengths


def test_output_structure():
    enc = _tiny()
    wav, lengths = _batch()
    with torch.no_grad():
        out = enc(wav, lengths)
    assert len(out.hidden_states) == 3 and len(out.ffn) == 2 and out.frame_rate == 50.0
    t = enc.num_frames(16000)
    assert all(h.shape == (3, t, 64) for h in out.hidden_states + out.ffn)
    assert out.mask.dtype == torch.bool
    assert out.mask.sum(1).tolist() == [enc.num_frames(int(n)) for n in lengths]
    assert all(torch.isfinite(h).all() for h in out.hidden_states + out.ffn)


@pytest.mark.parametrize("attention,frame_rate,frontend", [
    ("sdpa", 50.0, "fbank"), ("relpos", 50.0, "fbank"), ("sdpa", 25.0, "fbank"), ("relpos", 25.0, "fbank"),
    ("sdpa", 50.0, "whisper")])
def test_clip_alone_equals_clip_in_padded_batch(attention, frame_rate, frontend):
    enc = _tiny(attention=attention, frame_rate=frame_rate, frontend=frontend, n_mels=80)
    wav, lengths = _batch()
    with torch.no_grad():
        out = enc(wav, lengths)
        for i in (1, 2):
            alone = enc(wav[i, : lengths[i]])
            t = alone.mask.shape[1]
            assert int(out.mask[i].sum()) == t
            for a, b in zip(alone.hidden_states + alone.ffn, out.hidden_states + out.ffn):
                torch.testing.assert_close(b[i, :t], a[0], atol=2e-5, rtol=1e-4)


@pytest.mark.parametrize("attention", ["sdpa", "relpos"])
def test_target_layer_stops_early_and_matches_full_run(attention):
    enc = _tiny(attention=attention, num_layers=3)
    wav, lengths = _batch()
    with torch.no_grad():
        full = enc(wav, lengths)
        part = enc(wav, lengths, target_layer=2)
    assert len(part.hidden_states) == 3 and len(part.ffn) == 2
    torch.testing.assert_close(part.hidden_states[2], full.hidden_states[2])
    torch.testing.assert_close(part.ffn[1], full.ffn[1])
    with pytest.raises(ValueError, match="target_layer"):
        enc(wav, lengths, target_layer=4)


@pytest.mark.parametrize("frame_rate", [50.0, 25.0])
def test_frame_count_formula_matches_model(frame_rate):
    enc = _tiny(frame_rate=frame_rate)
    for n in (400, 559, 560, 719, 720, 1041, 16000, 16321):
        with torch.no_grad():
            t = enc(torch.zeros(1, n)).mask.shape[1]
        fb = 1 + (n - 400) // 160
        assert t == enc.num_frames(n) == num_frames(n, frame_rate) == -(-fb // (2 if frame_rate == 50 else 4))


def test_whisper_frontend_frame_count_and_mel_filters():
    from usad.model.whisper_stem import slaney_mel_filters

    enc = _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0)
    for n in (400, 639, 640, 641, 16000, 16321):
        with torch.no_grad():
            t = enc(torch.zeros(1, n)).mask.shape[1]
        assert t == enc.num_frames(n) == num_frames(n, 50.0, "whisper") == -(-n // 320)
    librosa = pytest.importorskip("librosa")
    theirs = torch.from_numpy(librosa.filters.mel(sr=16000, n_fft=400, n_mels=80))
    torch.testing.assert_close(slaney_mel_filters(80), theirs, atol=1e-7, rtol=1e-5)
    with pytest.raises(ValueError, match="50 Hz only"):
        _tiny(frontend="whisper", frame_rate=25.0)
    with pytest.raises(ValueError, match="frontend must be one of"):
        _tiny(frontend="mfcc")


def test_short_or_invalid_input_is_rejected():
    enc = _tiny()
    with pytest.raises(AudioError, match="batch item 1"):
        enc(torch.zeros(2, 1000), lengths=torch.tensor([1000, 300]))
    bad = torch.zeros(1, 1000)
    bad[0, 3] = float("inf")
    with pytest.raises(AudioError, match="NaN/Inf"):
        enc(bad)


def test_silence_gives_finite_outputs():
    with torch.no_grad():
        out = _tiny(attention="relpos")(torch.zeros(2, 8000), torch.tensor([8000, 4000]))
    assert all(torch.isfinite(h).all() for h in out.hidden_states + out.ffn)


def test_gradient_checkpointing_gives_same_gradients():
    wav, lengths = 0.1 * torch.randn(2, 4000, generator=torch.Generator().manual_seed(2)), torch.tensor([4000, 3000])
    grads = []
    for flag in (False, True):
        enc = _tiny(dropout=0.0, gradient_checkpointing=flag).train()
        out = enc(wav, lengths)
        (out.hidden_states[-1] * out.mask[..., None]).square().mean().backward()
        grads.append(enc.blocks[0].attn.qkv.weight.grad.clone())
    torch.testing.assert_close(grads[0], grads[1])


def test_bfloat16_autocast_runs_and_stays_close():
    enc = _tiny()
    wav, lengths = _batch()
    wav, lengths = wav[1:, :9001], lengths[1:]
    with torch.no_grad():
        ref = enc(wav, lengths).hidden_states[-1]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = enc(wav, lengths).hidden_states[-1]
    assert torch.isfinite(low).all()
    assert torch.nn.functional.cosine_similarity(low.float().flatten(), ref.flatten(), dim=0) > 0.99


def test_spectral_branch_starts_closed_and_keeps_padding_invariance():
    enc = _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0, spectral_branch=True, dropout=0.0)
    plain = _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0, dropout=0.0)
    plain.load_state_dict({k: v for k, v in enc.state_dict().items() if not k.startswith("spectral.")})
    wav, lengths = _batch()
    with torch.no_grad():
        for a, b in zip(enc(wav, lengths).hidden_states, plain(wav, lengths).hidden_states):
            assert torch.equal(a, b)   # the gate starts at zero: a Whisper-seeded student starts as Whisper
        enc.spectral.gate.fill_(0.5)
        out = enc(wav, lengths)
        assert not torch.allclose(out.hidden_states[0], plain(wav, lengths).hidden_states[0])
        for i in (1, 2):
            alone = enc(wav[i, : lengths[i]])
            t = alone.mask.shape[1]
            for a, b in zip(alone.hidden_states, out.hidden_states):
                torch.testing.assert_close(b[i, :t], a[0], atol=2e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="needs frontend 'whisper'"):
        _tiny(spectral_branch=True)


def test_spectral_gate_init_opens_the_branch_from_the_start(tmp_path):
    enc = _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0, spectral_branch=True, spectral_gate_init=0.1,
                dropout=0.0)
    assert torch.equal(enc.spectral.gate, torch.full_like(enc.spectral.gate, 0.1))
    closed = _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0, spectral_branch=True, dropout=0.0)
    closed.load_state_dict({k: v for k, v in enc.state_dict().items() if k != "spectral.gate"}, strict=False)
    wav, lengths = _batch()
    with torch.no_grad():
        out, shut = enc(wav, lengths), closed(wav, lengths).hidden_states[0]
        branch = enc.spectral(wav, lengths, shut.shape[1]) * out.mask[..., None]
        assert branch.abs().mean() > 0.01
        torch.testing.assert_close(out.hidden_states[0] - shut, branch)
    enc.save_pretrained(tmp_path)
    assert Encoder.from_pretrained(tmp_path).config.spectral_gate_init == 0.1
    with pytest.raises(ValueError, match="needs spectral_branch: true"):
        _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0, spectral_gate_init=0.1)
    with pytest.raises(ValueError, match="must be a finite float"):
        _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0, spectral_branch=True, spectral_gate_init=float("nan"))


def test_whisper_frontend_saves_and_loads(tmp_path):
    """from_pretrained builds the model on the meta device: the Whisper mel filters must still be real numbers
    when nothing has computed them before in the process."""
    from usad.model.whisper_stem import slaney_mel_filters

    enc = _tiny(frontend="whisper", n_mels=80, conv_pos_depth=0, spectral_branch=True, dropout=0.0)
    with torch.no_grad():
        enc.spectral.gate.fill_(0.5)
    enc.save_pretrained(tmp_path)
    slaney_mel_filters.cache_clear()
    back = Encoder.from_pretrained(tmp_path)
    wav, lengths = _batch()
    with torch.no_grad():
        for a, b in zip(enc(wav, lengths).hidden_states, back(wav, lengths).hidden_states):
            torch.testing.assert_close(a, b)
