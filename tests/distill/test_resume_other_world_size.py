"""FSDP2 runs write sharded checkpoints (torch.distributed.checkpoint) that resume on another number of ranks:
2 ranks onto 1 and 1 onto 2, keeping ranks x grad_accum (the global batch). The data continues exactly, so with
dropout off every run ends where an uninterrupted 2-rank run ends, and the student is one safetensors folder."""
import os
import shutil
import socket
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
from distill_fixtures import TINY_STUDENT, tiny_config, write_corpus  # noqa: E402

from usad.distill.checkpointing import list_checkpoints  # noqa: E402
from usad.distill.config import load_config  # noqa: E402
from usad.model import Encoder  # noqa: E402


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg: dict) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
                      LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    from usad.distill.trainer import train

    train(load_config(cfg))


def _train(cfg: dict, ranks: int) -> dict:
    if ranks == 1:
        from usad.distill.trainer import train

        train(load_config(cfg))
    else:
        torch.multiprocessing.spawn(_worker, args=(ranks, _free_port(), cfg), nprocs=ranks, join=True)
    return load_file(Path(cfg["train"]["out_dir"]) / "student" / "model.safetensors")


def _resume_copy(run: Path, step: int, out: Path) -> None:
    """A run folder holding only ``run``'s config and its checkpoint at ``step`` (as if it had stopped there)."""
    (out / "checkpoints").mkdir(parents=True)
    shutil.copy(run / "config.yaml", out / "config.yaml")
    shutil.copytree(run / "checkpoints" / f"step_{step:09d}", out / "checkpoints" / f"step_{step:09d}")


@pytest.mark.slow
def test_sharded_checkpoints_resume_from_two_ranks_onto_one_and_one_onto_two(tmp_path, capsys):
    # 12 clips of 1 s, 2 s batches: 6 global batches per epoch; a checkpoint at step 2 lies mid-epoch
    manifest = write_corpus(tmp_path / "corpus", n=12, durations=(1.0,))

    def config(out, ranks):
        cfg = tiny_config(manifest, tmp_path / out, max_steps=4, ckpt_every=2, keep_checkpoints=5, fsdp=True)
        cfg["student"] = {**TINY_STUDENT, "overrides": {**TINY_STUDENT["overrides"], "dropout": 0.0}}
        cfg["data"].update(max_duration=2.0, crop_seconds=1.0)
        cfg["optim"]["grad_accum"] = 2 // ranks
        cfg["train"]["out_dir"] = str(tmp_path / out)
        return cfg

    two = _train(config("two", 2), 2)                       # reference: 2 ranks x 1 micro-batch, uninterrupted
    one = _train(config("one", 1), 1)                       # 1 rank x 2 micro-batches, uninterrupted
    checkpoints = list_checkpoints(tmp_path / "two")
    assert [p.name for p in checkpoints] == ["step_000000002", "step_000000004"]
    assert all(p.is_dir() and len(list(p.glob("*.distcp"))) == 2 for p in checkpoints)   # one shard file per rank

    _resume_copy(tmp_path / "two", 2, tmp_path / "two_onto_one")
    capsys.readouterr()
    two_onto_one = _train(config("two_onto_one", 1), 1)
    out = capsys.readouterr().out
    assert "resumed from" in out and "at step 2" in out and "continues exactly" in out

    _resume_copy(tmp_path / "one", 2, tmp_path / "one_onto_two")
    one_onto_two = _train(config("one_onto_two", 2), 2)

    start = Encoder.from_preset("small", **TINY_STUDENT["overrides"]).state_dict()
    assert any(not torch.equal(start[k], two[k]) for k in start), "training changed no weight"
    for name, run in (("1 rank", one), ("2 ranks -> 1", two_onto_one), ("1 rank -> 2", one_onto_two)):
        assert run.keys() == two.keys()
        for k in two:
            assert torch.allclose(run[k], two[k], atol=1e-5), f"{name}: {k}"
    enc = Encoder.from_pretrained(tmp_path / "one_onto_two" / "student")   # still one safetensors folder
    assert enc.config.num_layers == TINY_STUDENT["overrides"]["num_layers"]


def test_grad_accum_may_change_only_with_the_number_of_ranks(tmp_path):
    from usad.distill.resume import ResumeError
    from usad.distill.trainer import train

    manifest = write_corpus(tmp_path / "corpus", n=6)
    cfg = tiny_config(manifest, tmp_path / "run", max_steps=2, ckpt_every=1)
    train(load_config(cfg))
    with pytest.raises(ResumeError, match=r"optim\.grad_accum: 1 -> 2.*ranks x grad_accum stays 1"):
        train(load_config(cfg, ["optim.grad_accum=2", "train.max_steps=3"]))   # same 1 rank: a bigger batch
