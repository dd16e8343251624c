"""Teacher targets at scale: many ranks build one feature cache at once (each its own shards), the last to finish
writes the one index, and a build killed mid-way finishes on the next run with the same result as one process."""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file

from usad.teachers import load_teacher
from usad.teachers.cache import CachedTeacher, build_cache
from usad.teachers.cache_index import is_complete

TEACHER = "test:8x2@50"


def _manifest(folder, n=10, name="m.jsonl"):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    rows = []
    for i in range(n):
        sf.write(folder / f"c{i}.wav", (0.1 * rng.standard_normal(8000 + 800 * i)).astype(np.float32), 16000)
        rows.append({"id": f"c{i}", "path": f"c{i}.wav", "duration": (8000 + 800 * i) / 16000})
    (folder / name).write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder / name


def _same_cache(a, b):
    ia, ib = (json.loads((f / "index.json").read_text()) for f in (a, b))
    assert ia == ib
    for shard in ia["shards"]:
        ta, tb = load_file(a / shard), load_file(b / shard)
        assert ta.keys() == tb.keys() and all(torch.equal(ta[k], tb[k]) for k in ta)


def test_two_ranks_build_the_same_cache_as_one_process(tmp_path):
    manifest = _manifest(tmp_path / "corpus")
    teacher = load_teacher(TEACHER)
    ref = build_cache(teacher, manifest, tmp_path / "one", layers=[1, 2], shard_size=3, progress=False)
    folder = build_cache(teacher, manifest, tmp_path / "two", layers=[1, 2], shard_size=3, progress=False,
                         rank=1, world_size=2)
    assert sorted(p.name for p in folder.glob("shard-*.safetensors")) == ["shard-00001.safetensors",
                                                                          "shard-00003.safetensors"]
    assert not is_complete(folder)                      # rank 0's shards are missing: no index yet
    with pytest.raises(FileNotFoundError, match="usad cache"):
        CachedTeacher(tmp_path / "two", teacher.info)
    build_cache(teacher, manifest, tmp_path / "two", layers=[1, 2], shard_size=3, progress=False, rank=0,
                world_size=2)
    assert is_complete(folder)                          # the rank that finished last wrote the index
    _same_cache(ref, folder)
    assert CachedTeacher(tmp_path / "two", teacher.info).clip_frames("c9") == 48     # 0.95 s at 50 Hz


def test_a_complete_index_of_another_manifest_is_not_trusted_while_shards_are_rewritten(tmp_path):
    teacher = load_teacher(TEACHER)
    old = _manifest(tmp_path / "corpus", n=6)
    folder = build_cache(teacher, old, tmp_path / "c", layers=[1], shard_size=2, progress=False)
    rows = old.read_text().splitlines()
    new = tmp_path / "corpus" / "new.jsonl"
    new.write_text("\n".join(reversed(rows)) + "\n")    # same clips, other order: other shards
    build_cache(teacher, new, tmp_path / "c", layers=[1], shard_size=2, progress=False, rank=0, world_size=3)
    with pytest.raises(ValueError, match="incomplete"):
        CachedTeacher(tmp_path / "c", teacher.info)
    for rank in (1, 2):
        build_cache(teacher, new, tmp_path / "c", layers=[1], shard_size=2, progress=False, rank=rank,
                    world_size=3)
    index = json.loads((folder / "index.json").read_text())
    assert index["complete"] and index["clips"]["c5"][0] == "shard-00000.safetensors"


RUNNER = """
import sys, time
import usad.teachers.random_teacher as rt
slow = rt.RandomTestTeacher._forward
def forward(self, *args, **kw):
    time.sleep(0.4)
    return slow(self, *args, **kw)
rt.RandomTestTeacher._forward = forward
from usad.cli.main import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_parallel_build_killed_mid_way_finishes_on_the_next_run(tmp_path):
    manifest = _manifest(tmp_path / "corpus", n=12)
    (tmp_path / "runner.py").write_text(RUNNER)
    out = tmp_path / "cache"
    args = ["cache", "--teacher", TEACHER, "--manifest", str(manifest), "--out", str(out), "--layers", "1", "2",
            "--shard-size", "2", "--batch-size", "1", "--no-progress"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ranks = [subprocess.Popen([sys.executable, str(tmp_path / "runner.py"), *args],   # rank 0 as torchrun says
                              env={**env, "RANK": "0", "WORLD_SIZE": "2"}, stdout=subprocess.PIPE, text=True),
             subprocess.Popen([sys.executable, str(tmp_path / "runner.py"), *args, "--rank", "1",
                               "--world-size", "2"], env=env, stdout=subprocess.PIPE, text=True)]
    deadline = time.time() + 120
    first = None
    while time.time() < deadline and first is None and ranks[1].poll() is None:
        first = next(iter(out.glob("*/shard-00001.safetensors")), None)
        time.sleep(0.05)
    assert first is not None and ranks[1].poll() is None, "rank 1 finished before it could be killed"
    ranks[1].send_signal(signal.SIGKILL)
    ranks[1].wait()
    said = ranks[0].communicate(timeout=120)[0]
    assert ranks[0].returncode == 0 and "this rank's shards are done" in said
    folder = first.parent
    assert not is_complete(folder)
    assert not (folder / "shard-00005.safetensors").exists()           # rank 1's later shards were never made
    again = subprocess.run([sys.executable, str(tmp_path / "runner.py"), *args, "--rank", "1", "--world-size", "2"],
                           env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and "cache ready" in again.stdout, again.stdout + again.stderr
    ref = build_cache(load_teacher(TEACHER), manifest, tmp_path / "ref", layers=[1, 2], shard_size=2,
                      batch_size=1, progress=False)
    _same_cache(ref, folder)
