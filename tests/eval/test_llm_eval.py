import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from suite_fixture import write_scene_task  # noqa: E402
from tiny_lm import tiny_lm_pair  # noqa: E402

from usad.eval.llm.lm import add_lora  # noqa: E402
from usad.eval.llm.model import AudioLLM  # noqa: E402
from usad.eval.llm.projector import downsample  # noqa: E402
from usad.eval.llm.qa import QAItem, normalise, question_for  # noqa: E402
from usad.eval.llm.train import LLMTrainConfig, train_audio_llm  # noqa: E402

WORDS = ["Question", ":", "Answer", "What", "is", "the", "pitch", "?", "with", "one", "of", ",", ".", "high",
         "low"]


def test_downsample_stack_and_pool_keep_masks():
    x = torch.arange(2 * 5 * 2, dtype=torch.float).view(2, 5, 2)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    y, m = downsample(x, mask, 2, "stack")
    assert y.shape == (2, 3, 4) and m.tolist() == [[True, True, True], [True, True, False]]
    assert torch.equal(y[0, 0], torch.tensor([0.0, 1.0, 2.0, 3.0]))
    p, _ = downsample(x, mask, 2, "pool")
    assert p.shape == (2, 3, 2)
    assert torch.allclose(p[1, 1], x[1, 2])  # the group's invalid frame is excluded from the mean


def test_questions_and_exact_match_normalisation():
    q = question_for("spoken_language", {}, ["en", "fr"])
    assert q.startswith("What language is spoken?") and "en, fr" in q
    assert question_for("x", {"question": "Is it loud?"}, ["no", "yes"]).startswith("Is it loud?")
    assert normalise("  French. ") == normalise("french")


def _model():
    lm, tok = tiny_lm_pair(WORDS)
    return AudioLLM(add_lora(lm), tok, encoder_dim=6, factor=2), tok


def test_only_answer_tokens_carry_loss_and_padding_is_masked():
    model, tok = _model()
    feats = [torch.randn(7, 6), torch.randn(3, 6)]
    emb, att, lab = model.batch(feats, ["What is the pitch ?"] * 2, ["high", "low"])
    assert emb.shape[:2] == att.shape == lab.shape
    # each row: answer word + EOS are the only labelled positions
    for row, ans in zip(lab, ["high", "low"]):
        kept = row[row != -100].tolist()
        assert kept == [tok.convert_tokens_to_ids(ans), tok.eos_token_id]
    assert att[1].sum() < att[0].sum() and lab[1][att[1] == 0].eq(-100).all()
    # the answer-only logits path gives the LM's own label loss
    model.eval()
    full = model.lm(inputs_embeds=emb, attention_mask=att, labels=lab).loss
    assert torch.allclose(model.loss(feats, ["What is the pitch ?"] * 2, ["high", "low"]), full, atol=1e-5)


def test_training_lowers_loss_and_updates_only_projector_and_lora():
    model, _ = _model()
    g = torch.Generator().manual_seed(0)
    items, feats = [], {}
    for i in range(8):
        label = "high" if i % 2 else "low"
        feats[f"/clip{i}"] = torch.randn(6, 6, generator=g) + (3.0 if label == "high" else -3.0)
        items.append(QAItem("pitch", Path(f"/clip{i}"), "What is the pitch ?", label))
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n or n.startswith("projector.") for n in trainable)
    assert any(n.startswith("projector.") for n in trainable)
    log = train_audio_llm(model, items, feats, LLMTrainConfig(steps=16, batch_size=8, lr=1e-2, warmup=3))
    assert sum(log.losses[-3:]) / 3 < 0.3 * sum(log.losses[:3]) / 3
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), f"frozen parameter {n} changed"


@pytest.mark.slow
def test_cli_llm_eval_end_to_end_with_a_local_lm_folder(tmp_path, capsys):
    import json

    from usad.cli.main import main

    write_scene_task(tmp_path / "suite", name="pitch_class", n=(8, 2, 4))
    lm, tok = tiny_lm_pair(WORDS + ["Which", "class", "does", "this", "audio", "belong", "to"])
    lm.save_pretrained(tmp_path / "lm")
    tok.save_pretrained(tmp_path / "lm")
    args = ["llm-eval", "--suite", str(tmp_path / "suite"), "--encoder", "teacher:test:8x2@50",
            "--out", str(tmp_path / "out"), "--steps", "12", "--batch-size", "4", "--lr", "1e-2", "--warmup", "3"]
    assert main(args + ["--lm", str(tmp_path / "lm")]) == 0
    res = json.loads((tmp_path / "out" / "llm_results.json").read_text())
    assert set(res["accuracy"]) == {"pitch_class", "all"} and 0.0 <= res["accuracy"]["all"] <= 1.0
    assert len(res["predictions"]) == 4 and res["losses"][-1] < res["losses"][0]
    assert res["seconds"]["per_step_mean"] > 0
    assert main(args + ["--lm", str(tmp_path / "no-such-lm")]) == 2
    assert "no-such-lm" in capsys.readouterr().err
