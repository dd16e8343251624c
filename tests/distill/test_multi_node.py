"""Many machines: two torchrun launches with --nnodes=2 and c10d rendezvous (two simulated nodes on this machine,
gloo) train as one job: the ranks end bit-identical and equal to a single-node run with the same global batch."""
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

sys.path.insert(0, str(Path(__file__).parent))
from distill_fixtures import tiny_config, write_corpus  # noqa: E402

RUNNER = """
import json, os, sys
import torch
from safetensors.torch import save_file
torch.set_num_threads(1)
from usad.distill.config import load_config
from usad.distill.trainer import train
cfg = load_config(json.loads(open(sys.argv[1]).read()))
result = train(cfg)
rank = os.environ["RANK"]
out = os.path.join(cfg.train.out_dir, f"rank{rank}")
save_file({k: v.detach().contiguous() for k, v in result.model.state_dict().items()}, out + ".safetensors")
keys = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "GROUP_RANK")
open(out + ".json", "w").write(json.dumps({k: int(os.environ[k]) for k in keys}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _torchrun(*args: str) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", *args]


def _ranks(out: Path) -> dict[int, tuple[dict, dict]]:
    found = {}
    for meta in sorted(out.glob("rank*.json")):
        info = json.loads(meta.read_text())
        found[info["RANK"]] = (info, load_file(meta.with_suffix(".safetensors")))
    return found


@pytest.mark.slow
def test_two_nodes_with_c10d_rendezvous_train_like_one_node(tmp_path):
    manifest = write_corpus(tmp_path / "corpus")
    (tmp_path / "runner.py").write_text(RUNNER)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs = {}
    for name in ("nodes", "single"):
        cfg = tiny_config(manifest, tmp_path / name, max_steps=3, ckpt_every=2)
        (tmp_path / f"{name}.json").write_text(json.dumps(cfg))
    port = _free_port()
    nodes = [subprocess.Popen(_torchrun("--nnodes=2", "--nproc_per_node=1", f"--node_rank={i}",
                                        "--rdzv-backend=c10d", f"--rdzv-endpoint=127.0.0.1:{port}",
                                        "--rdzv-id=usad-test", str(tmp_path / "runner.py"),
                                        str(tmp_path / "nodes.json")),
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for i in range(2)]
    logs = [p.communicate(timeout=300)[0] for p in nodes]
    assert all(p.returncode == 0 for p in nodes), "\n".join(log[-3000:] for log in logs)
    single = subprocess.run(_torchrun("--standalone", "--nnodes=1", "--nproc_per_node=2",
                                      str(tmp_path / "runner.py"), str(tmp_path / "single.json")),
                            env=env, capture_output=True, text=True, timeout=300)
    assert single.returncode == 0, single.stdout[-3000:] + single.stderr[-3000:]
    for name in ("nodes", "single"):
        runs[name] = _ranks(tmp_path / name)
        assert sorted(runs[name]) == [0, 1]
        assert all(info["WORLD_SIZE"] == 2 for info, _ in runs[name].values())
    # two nodes of one process each: both ranks are local rank 0 of their own node
    assert sorted((i["GROUP_RANK"], i["LOCAL_RANK"]) for i, _ in runs["nodes"].values()) == [(0, 0), (1, 0)]
    assert "done: step 3" in "".join(logs)
    r0, r1 = runs["nodes"][0][1], runs["nodes"][1][1]
    student = load_file(tmp_path / "nodes" / "student" / "model.safetensors")
    for k in r0:
        assert torch.equal(r0[k], r1[k]), k                                  # ranks end identical
        assert torch.equal(r0[k], runs["single"][0][1][k]), k               # = one node, same global batch
    assert all(torch.equal(v, r0[f"student.{k}"]) for k, v in student.items())


SRUN = """#!/bin/bash
# stand-in for srun on one machine: the command once per node of the job, all at once
while [[ "$1" == --* ]]; do shift; done
pids=()
for ((i = 0; i < SLURM_JOB_NUM_NODES; i++)); do SLURM_NODEID=$i SLURM_PROCID=$i "$@" & pids+=($!); done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
"""


@pytest.mark.slow
def test_slurm_example_runs_one_job_over_two_nodes(tmp_path):
    import yaml

    from usad.distill.checkpointing import latest_checkpoint, load_training_checkpoint

    manifest = write_corpus(tmp_path / "corpus", n=6)
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text(yaml.safe_dump(tiny_config(manifest, tmp_path / "run", max_steps=4)))
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "srun").write_text(SRUN)
    (shims / "scontrol").write_text("#!/bin/bash\necho 127.0.0.1\n")
    for f in shims.iterdir():
        f.chmod(0o755)
    env = {**os.environ, "PATH": f"{shims}:{os.environ['PATH']}", "PYTHON": sys.executable, "GPUS_PER_NODE": "1",
           "USAD_RDZV_PORT": str(_free_port()), "SLURM_JOB_NODELIST": "node[0-1]", "SLURM_JOB_NUM_NODES": "2",
           "SLURM_JOB_ID": "42", "OMP_NUM_THREADS": "1"}
    script = Path(__file__).parents[2] / "examples" / "slurm_distill.sbatch"
    done = subprocess.run(["bash", str(script), str(recipe), "train.max_steps=2"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "done: step 2" in done.stdout
    assert len(load_training_checkpoint(latest_checkpoint(tmp_path / "run"))["positions"]) == 2   # 2 ranks
    assert (tmp_path / "run" / "student" / "model.safetensors").is_file()
