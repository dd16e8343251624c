"""heads.init=ridge: heads start as the least-squares read-out of the initial student, so training starts from
the best linear map instead of spending its first steps finding it."""
from types import SimpleNamespace

import torch

from tests.distill.distill_fixtures import tiny_config, write_corpus
from usad.distill.config import load_config
from usad.distill.head_init import fit_heads
from usad.distill.heads import HeadSet
from usad.distill.mapping import LayerPair
from usad.model import Encoder
from usad.teachers import TeacherOutput


def test_a_linear_head_recovers_a_target_that_is_linear_in_the_student():
    torch.manual_seed(0)
    student = Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2, dropout=0.0)
    heads = HeadSet(32, {"t": [LayerPair(2, 1)]}, {"t": {1: 6}}, hidden=0)
    mix, shift = torch.randn(32, 6), torch.randn(6)
    batches = [SimpleNamespace(wav=0.1 * torch.randn(3, 8000), lengths=torch.tensor([8000, 6000, 4000]))
               for _ in range(3)]

    def targets(batch, wav, lengths):   # a "teacher" at 25 Hz whose frames are a linear map of block 2
        with torch.no_grad():
            out = student(wav, lengths)
        h = out.hidden_states[2]
        pooled = h[:, : h.shape[1] // 2 * 2].reshape(h.shape[0], -1, 2, 32).mean(2)
        mask = out.mask[:, : h.shape[1] // 2 * 2].reshape(h.shape[0], -1, 2).all(2)
        return {"t": TeacherOutput(features={1: pooled @ mix + shift}, mask=mask, frame_rate=25.0)}

    batches = batches * 2   # 6 batches: the 4th is held out to choose the ridge strength
    fitted = fit_heads(student, heads, batches, targets, lambda b: torch.ones(b.wav.shape[0], 1), torch.device("cpu"))
    frames, ridge = fitted["t__s2_t1"]
    assert frames == 162 and ridge == 1e-3   # every valid 25 Hz frame; an exact map wants the weakest penalty
    b = batches[0]
    with torch.no_grad():
        out = student(b.wav, b.lengths)
        want = targets(b, b.wav, b.lengths)["t"]
        pred = heads(out.hidden_states)["t"][LayerPair(2, 1)]
        pooled = pred[:, : pred.shape[1] // 2 * 2].reshape(3, -1, 2, 6).mean(2)
    z = want.features[1][want.mask]
    r2 = 1 - ((pooled[want.mask] - z) ** 2).sum() / ((z - z.mean(0)) ** 2).sum()
    assert float(r2) > 0.999, float(r2)


def test_ridge_heads_start_a_run_at_a_lower_loss(tmp_path):
    from usad.distill.trainer import train

    manifest = write_corpus(tmp_path / "corpus", n=6)
    losses = {}
    for init in ("random", "ridge"):
        cfg = tiny_config(manifest, tmp_path / init, max_steps=1, ckpt_every=0)
        cfg["heads"] = {"hidden": 32, "init": init, "init_batches": 4}
        cfg["optim"]["student_lr_scale"] = 0.0   # the step's loss is the initial heads' loss on the student
        losses[init] = train(load_config(cfg)).last_loss
    assert losses["ridge"] < losses["random"] - 0.05, losses


def test_few_frames_and_noise_targets_get_the_strongest_penalty():
    from usad.distill.head_init import RIDGES, _fit, _Normal

    gen = torch.Generator().manual_seed(0)
    fit, held = _Normal(), _Normal()
    for part in (fit, fit, fit, held):   # 30 frames of 64 inputs: any exact fit is noise
        part.add(torch.randn(10, 64, generator=gen), torch.randn(10, 3, generator=gen), torch.ones(10))
    _, _, ridge = _fit(fit, held)
    assert ridge == RIDGES[-1]
