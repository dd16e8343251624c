"""Training-loop tests at tiny scale: kill-and-resume exactness, DDP/FSDP on CPU, CLI, real-teacher overfit."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

sys.path.insert(0, str(Path(__file__).parent))
from tests.conftest import require  # noqa: E402
from distill_fixtures import TINY_STUDENT, tiny_config, write_corpus  # noqa: E402

from usad.distill.checkpointing import latest_checkpoint, load_training_checkpoint  # noqa: E402
from usad.distill.config import load_config  # noqa: E402
from usad.model import Encoder  # noqa: E402

RUNNER = """
import json, sys
import torch
torch.set_num_threads(1)
from usad.distill.config import load_config
from usad.distill.trainer import train
train(load_config(json.loads(open(sys.argv[1]).read())))
"""


def _run_script(tmp_path: Path, cfg: dict, name: str) -> list[str]:
    (tmp_path / f"{name}.json").write_text(json.dumps(cfg))
    (tmp_path / "runner.py").write_text(RUNNER)
    return [sys.executable, str(tmp_path / "runner.py"), str(tmp_path / f"{name}.json")]


@pytest.mark.slow
def test_sigkill_then_resume_ends_with_identical_weights(tmp_path):
    manifest = write_corpus(tmp_path / "corpus")
    steps = dict(max_steps=10, ckpt_every=3, keep_checkpoints=10)

    def config(out):   # standardised targets: their statistics are part of what a resume must restore
        cfg = tiny_config(manifest, out, **steps)
        cfg["loss"] = {"target_norm": "standardize", "stats_batches": 2}
        return cfg

    ref = _run_script(tmp_path, config(tmp_path / "ref"), "ref")
    subprocess.run(ref, check=True, capture_output=True)

    cmd = _run_script(tmp_path, config(tmp_path / "killed"), "killed")
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = tmp_path / "killed" / "checkpoints" / "step_000000003.pt"
    deadline = time.time() + 300
    while not first.exists() and time.time() < deadline and proc.poll() is None:
        time.sleep(0.02)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "student").exists()
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    assert "resumed from" in done.stdout
    a = load_file(tmp_path / "ref" / "student" / "model.safetensors")
    b = load_file(tmp_path / "killed" / "student" / "model.safetensors")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    ha = load_file(tmp_path / "ref" / "heads" / "model.safetensors")
    hb = load_file(tmp_path / "killed" / "heads" / "model.safetensors")
    assert all(torch.equal(ha[k], hb[k]) for k in ha)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, cfg: dict, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from usad.distill.trainer import train

    result = train(load_config(cfg))
    if not cfg["train"].get("fsdp"):   # FSDP ranks hold different shards by design
        state = {k: v.detach().contiguous() for k, v in result.model.state_dict().items()}
        save_file(state, os.path.join(out, f"rank{rank}.safetensors"))


@pytest.mark.slow
def test_two_process_ddp_keeps_ranks_identical_and_fsdp2_matches_it(tmp_path):
    manifest = write_corpus(tmp_path / "corpus")
    runs = {}
    for fsdp in (False, True):
        name = "fsdp" if fsdp else "ddp"
        cfg = tiny_config(manifest, tmp_path / name, max_steps=3, ckpt_every=2, fsdp=fsdp)
        torch.multiprocessing.spawn(_ddp_worker, args=(2, _free_port(), cfg, str(tmp_path)), nprocs=2, join=True)
        runs[name] = load_file(tmp_path / name / "student" / "model.safetensors")
        last = latest_checkpoint(tmp_path / name)    # DDP: one step_<N>.pt file; FSDP2: a sharded step_<N>/ folder
        assert last.name == "step_000000003" + ("" if fsdp else ".pt") and last.is_dir() == fsdp
        ckpt = load_training_checkpoint(last)
        assert len(ckpt["positions"]) == 2 and len(ckpt["rng"]) == 2   # every rank's data position and RNG
    r0 = load_file(tmp_path / "rank0.safetensors")
    r1 = load_file(tmp_path / "rank1.safetensors")
    assert r0.keys() == r1.keys()
    for k in r0:
        assert torch.equal(r0[k], r1[k]), k
    start = Encoder.from_preset("small", **TINY_STUDENT["overrides"]).state_dict()
    assert any(not torch.equal(start[k], runs["ddp"][k]) for k in start), "training changed no weight"
    for k, v in runs["ddp"].items():
        assert torch.equal(v, r0[f"student.{k}"])                     # exported student = rank 0's weights
        assert torch.allclose(v, runs["fsdp"][k], atol=1e-5), k       # FSDP2 trains the same model


def test_cli_distill_with_overrides_writes_a_loadable_student(tmp_path):
    manifest = write_corpus(tmp_path / "corpus", n=6)
    recipe = tmp_path / "recipe.yaml"
    import yaml

    recipe.write_text(yaml.safe_dump(tiny_config(manifest, tmp_path / "run")))
    code = subprocess.run([sys.executable, "-m", "usad", "distill", "--config", str(recipe), "train.max_steps=2",
                           "train.tensorboard=true", "loss.omega=5", "optim.grad_accum=2"], capture_output=True, text=True)
    assert code.returncode == 0, code.stderr[-2000:]
    assert "s audio/s" in code.stdout and "MFU" in code.stdout and "ETA" in code.stdout
    assert "test:16x4@25:speech" in code.stdout                     # per-teacher loss on the console line
    enc = Encoder.from_pretrained(tmp_path / "run" / "student")
    assert enc.config.num_layers == 2
    heads = json.loads((tmp_path / "run" / "heads" / "heads.json").read_text())
    assert heads["plan"]["test:8x2@100:music"] == [[1, 1], [2, 2]]
    assert list((tmp_path / "run" / "tensorboard").glob("events.*"))
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["loss"]["omega"] == 5 and saved["train"]["max_steps"] == 2
    bad = subprocess.run([sys.executable, "-m", "usad", "distill", "--config", str(recipe), "optim.nope=1"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "nope" in bad.stderr


def test_wall_clock_budget_stops_and_saves(tmp_path):
    manifest = write_corpus(tmp_path / "corpus", n=3)
    cfg = load_config(tiny_config(manifest, tmp_path / "run", max_steps=1000, max_minutes=1e-9))
    from usad.distill.trainer import train

    result = train(cfg)
    assert result.stopped_by == "max_minutes" and result.step == 0
    assert (tmp_path / "run" / "student" / "model.safetensors").is_file()


@pytest.mark.slow
def test_overfits_a_real_teacher_on_a_fixed_batch():
    """Student + heads regress crepe-tiny's real features (computed once) far below the starting loss."""
    from usad.distill.heads import HeadSet
    from usad.distill.mapping import parse_mapping
    from usad.distill.objective import loss_step
    from usad.distill.student import DistillModel
    from usad.distill.weights import domain_weights
    from usad.teachers.registry import check_teacher, load_teacher

    ok, why = check_teacher("crepe-tiny")
    require(ok, f"crepe-tiny teacher unavailable: {why}")
    teacher = load_teacher("crepe-tiny")
    t = torch.arange(16000) / 16000
    wav = torch.stack([0.4 * torch.sin(2 * torch.pi * 220 * t), 0.4 * torch.sin(2 * torch.pi * 330 * t)])
    lengths = torch.tensor([16000, 12000])
    wav[1, 12000:] = 0
    pairs = parse_mapping("1:1,2:2", 2, 2)
    targets = {"crepe-tiny": teacher(wav, lengths, [1, 2])}          # (B, 100 Hz frames, 256 / 360)
    torch.manual_seed(0)
    student = Encoder.from_preset("small", **dict(TINY_STUDENT["overrides"], dropout=0.0))
    heads = HeadSet(32, {"crepe-tiny": pairs}, {"crepe-tiny": teacher.info.dims}, hidden=64)
    model = DistillModel(student, heads)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    weights = domain_weights(["music"], ["music", "speech"])
    losses = []
    for _ in range(60):
        opt.zero_grad()
        res = loss_step(model, wav, lengths, targets, weights, ["crepe-tiny"])
        res.loss.backward()
        opt.step()
        losses.append(float(res.loss.detach()))
    assert losses[-1] < 0.5 * losses[0], (losses[0], losses[-1])


def test_cached_targets_train_like_live_teachers(tmp_path):
    from usad.teachers.cache import build_cache
    from usad.teachers.registry import load_teacher
    from usad.distill.trainer import train

    manifest = write_corpus(tmp_path / "corpus", n=6)
    teachers = [{"name": "test:16x4@25:speech"}, {"name": "test:8x2@100:music", "k": 2}]
    for t in teachers:
        build_cache(load_teacher(t["name"]), manifest, tmp_path / "cache", layers=[1, 2, 3, 4][: 4 if "16x4" in
                    t["name"] else 2], progress=False)
    losses = {}
    for mode in ("live", "cached"):
        cfg = tiny_config(manifest, tmp_path / mode, max_steps=2, ckpt_every=0)
        cfg["data"]["crop_seconds"] = 2.0          # whole clips: live and cached targets cover the same audio
        cfg["teachers"] = [dict(t, cache=str(tmp_path / "cache")) if mode == "cached" else t for t in teachers]
        losses[mode] = train(load_config(cfg)).last_loss
    assert losses["cached"] == pytest.approx(losses["live"], rel=1e-3)


def test_stage2_starts_from_stage1_weights_with_new_last_layer_heads(tmp_path):
    from usad.distill.trainer import train

    manifest = write_corpus(tmp_path / "corpus", n=3)
    stage1 = Encoder.from_preset("small", **TINY_STUDENT["overrides"])
    stage1.save_pretrained(tmp_path / "stage1" / "student")
    cfg = tiny_config(manifest, tmp_path / "stage2", max_steps=5, max_minutes=1e-9)
    cfg.update(stage=2, student={"init_from": str(tmp_path / "stage1")},
               teachers=[{"name": "test:16x4@50:speech"}, {"name": "test:8x2@25:any"}])
    result = train(load_config(cfg))
    heads = json.loads((tmp_path / "stage2" / "heads" / "heads.json").read_text())
    assert heads["plan"] == {"test:16x4@50:speech": [[2, 4]], "test:8x2@25:any": [[2, 2]]}
    out = Encoder.from_pretrained(tmp_path / "stage2" / "student").state_dict()
    assert all(torch.equal(v, out[k]) for k, v in stage1.state_dict().items())
    assert result.step == 0


def test_freeze_keeps_matched_student_weights_and_rejects_a_pattern_that_matches_nothing(tmp_path):
    from usad.distill.trainer import train
    from usad.errors import ConfigError

    manifest = write_corpus(tmp_path / "corpus", n=6)
    cfg = tiny_config(manifest, tmp_path / "run", max_steps=3)
    cfg["optim"]["freeze"] = ["subsampler.*", "blocks.0.attn*"]
    train(load_config(cfg))
    end = Encoder.from_pretrained(tmp_path / "run" / "student").state_dict()
    torch.manual_seed(0)   # the trainer's seed: the same random initial student
    start = Encoder.from_preset("small", **TINY_STUDENT["overrides"]).state_dict()
    frozen = [k for k in start if k.startswith("subsampler.") or k.startswith("blocks.0.attn")]
    assert frozen and all(torch.equal(start[k], end[k]) for k in frozen)
    assert not torch.equal(start["blocks.1.ffn.0.weight"], end["blocks.1.ffn.0.weight"])
    cfg["optim"]["freeze"] = ["spectral.*"]   # this student has no spectral branch
    cfg["train"]["out_dir"] = str(tmp_path / "run2")
    with pytest.raises(ConfigError, match="spectral.*matches no student parameter"):
        train(load_config(cfg))
