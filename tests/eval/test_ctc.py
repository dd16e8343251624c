"""The CTC probe on a synthetic sequence task: informative frames give a low PER, noise a high one."""
import numpy as np
import torch

from usad.eval.ctc import CTCConfig, SequenceSplit, greedy_decode, train_ctc_probe
from usad.eval.metrics import phone_error_rate

V, D = 6, 12


def _split(n_files, seed, informative=True):
    rng = np.random.default_rng(seed)
    protos = np.random.default_rng(99).standard_normal((V, D)) * 2
    feats, tokens, offsets = [], [], [0]
    for _ in range(n_files):
        seq = rng.integers(0, V, rng.integers(3, 7)).tolist()
        frames = []
        for t in seq:
            k = int(rng.integers(3, 6))
            base = protos[t] if informative else rng.standard_normal(D) * 2
            frames.append(base + 0.3 * rng.standard_normal((k, D)))
            frames.append(0.3 * rng.standard_normal((2, D)))     # a short pause between tokens
        f = np.concatenate(frames)
        feats.append(f)
        tokens.append(seq)
        offsets.append(offsets[-1] + len(f))
    return SequenceSplit(torch.tensor(np.concatenate(feats), dtype=torch.float32), np.array(offsets), tokens)


def test_greedy_decode_merges_repeats_and_drops_blanks():
    path = torch.tensor([[0, 1, 1, 0, 1, 2, 2, 0]])          # blank=0; class k+1 = token k
    logp = torch.nn.functional.one_hot(path, 4).float().log()
    assert greedy_decode(logp, torch.tensor([8])) == [[0, 0, 1]]


def test_ctc_probe_reads_informative_frames_and_not_noise():
    cfg = CTCConfig(lr=1e-2, max_steps=400, eval_every=25)
    good = train_ctc_probe(_split(80, 0), _split(20, 1), V, 50.0, cfg)
    test = _split(30, 2)
    per_good = phone_error_rate(good.decode(test), test.tokens)
    bad = train_ctc_probe(_split(80, 0, False), _split(20, 1, False), V, 50.0, cfg)
    test_bad = _split(30, 2, False)
    per_bad = phone_error_rate(bad.decode(test_bad), test_bad.tokens)
    assert per_good < 0.15 < 0.6 < per_bad


def test_every_encoder_is_brought_to_50_hz_and_weighted_layers_learn():
    tr, va = _split(60, 0), _split(15, 1)
    noise = lambda s: torch.randn_like(s.x) * 2   # noqa: E731
    stack = lambda s: SequenceSplit(torch.stack([noise(s), s.x, noise(s)], 1), s.offsets, s.tokens)  # noqa: E731
    probe = train_ctc_probe(stack(tr), stack(va), V, 10.0, CTCConfig(lr=1e-2, max_steps=300, eval_every=25))
    assert probe.src_rate == 10.0 and probe.rate == 50.0   # 10 Hz frames repeated to 50 Hz
    w = probe.layer_weights()
    assert int(np.argmax(w)) == 1 and w[1] > 0.5


def test_faster_encoders_are_pooled_to_the_common_rate():
    from usad.eval.ctc import _Padded
    from usad.eval.probes import Standardizer

    split = _split(5, 3)
    std = Standardizer(split.x)
    at100 = _Padded(split, std, 100.0, 50.0)
    assert at100.lengths.tolist() == [-(-int(n) // 2) for n in np.diff(split.offsets)]
    same = _Padded(split, std, 50.0, 50.0)
    assert same.lengths.tolist() == np.diff(split.offsets).tolist()
    assert torch.allclose(same.x[0, : same.lengths[0]], std(split.x[: split.offsets[1]]))


def test_restarts_keep_the_head_best_on_valid_for_each_layer():
    from usad.eval.ctc import train_ctc_per_layer

    tr, va = _split(40, 0), _split(12, 1)
    noise = lambda s: torch.randn(s.x.shape, generator=torch.Generator().manual_seed(5)) * 2  # noqa: E731
    stack = lambda s: SequenceSplit(torch.stack([s.x, noise(s)], 1), s.offsets, s.tokens)  # noqa: E731
    cfg = dict(lr=1e-2, max_steps=150, min_steps=50, eval_every=25)
    one = train_ctc_per_layer(stack(tr), stack(va), V, 50.0, CTCConfig(restarts=1, **cfg))
    three = train_ctc_per_layer(stack(tr), stack(va), V, 50.0, CTCConfig(restarts=3, **cfg))
    # restart 0 is the single run's head on the same minibatches, so the kept head can only be as good or better
    for a, b in zip(one, three):
        assert b.valid_loss <= a.valid_loss + 1e-6
    assert three[0].valid_loss < three[1].valid_loss   # and layers keep their own heads


def test_weight_decay_shrinks_the_head_and_the_layer_mix_still_learns():
    from usad.eval.ctc import train_ctc_per_layer

    tr, va = _split(40, 0), _split(12, 1)
    stack = lambda s: SequenceSplit(torch.stack([s.x, s.x.flip(0)], 1), s.offsets, s.tokens)  # noqa: E731
    cfg = dict(lr=1e-2, max_steps=100, min_steps=100, eval_every=50, restarts=1)
    norms = {}
    for wd in (0.0, 1.0):
        per_layer = train_ctc_per_layer(stack(tr), stack(va), V, 50.0, CTCConfig(weight_decay=wd, **cfg))
        norms[wd] = [float(p.head.head.weight.norm()) for p in per_layer]
    assert all(b < 0.8 * a for a, b in zip(norms[0.0], norms[1.0]))
    mixed = train_ctc_probe(stack(tr), stack(va), V, 50.0, CTCConfig(weight_decay=1.0, **cfg))
    w = mixed.layer_weights()
    assert abs(sum(w) - 1.0) < 1e-5 and int(np.argmax(w)) == 0   # the mix still learns which layer reads tokens
