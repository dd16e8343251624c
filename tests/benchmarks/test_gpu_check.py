"""benchmarks/gpu_check.py works end to end: `--quick --device cpu` runs every section at toy sizes, so whoever
gets a GPU for a few minutes can trust the one command to come back with every figure."""
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = ("env", "inference", "peers", "train", "distill", "cpu_bf16")


def _numbers(rows: list[dict], key: str) -> list[float]:
    """Every row either measured ``key`` (a finite positive number) or says why it was skipped."""
    found = []
    for row in rows:
        if "skipped" in row:
            assert str(row["skipped"]).strip(), f"a skip without a reason: {row}"
            continue
        value = row[key]
        assert isinstance(value, (int, float)) and math.isfinite(value) and value > 0, (key, row)
        found.append(value)
    return found


@pytest.mark.slow
def test_quick_cpu_run_reports_every_section(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu_check.py"), "--out", str(tmp_path),
                           "--device", "cpu", "--quick"], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    for name in SECTIONS:
        status = report[name]["status"]
        assert status == "measured" or (status.startswith("skipped: ") and len(status) > len("skipped: ")), \
            (name, status)
    assert report["env"]["torch"] and report["env"]["peak_tflops_float32"] > 0
    inf = report["inference"]
    assert _numbers(inf["results"], "audio_s_per_s") and _numbers(inf["long_audio"], "audio_s_per_s")
    presets = {r["preset"] for r in inf["results"]}
    assert presets == {"small", "base", "large", "xlarge", "xxlarge"}          # every preset, measured or skipped
    assert {r["attention"] for r in inf["results"]} >= {"sdpa", "relpos"}
    assert _numbers(report["peers"]["results"], "audio_s_per_s")
    assert any(r["peer"].startswith("whisper") for r in report["peers"]["ratios"])
    assert _numbers(report["train"]["results"], "mfu")
    assert any(r.get("fsdp") and "mfu" in r for r in report["train"]["results"])   # the FSDP2 path ran
    d = report["distill"]
    assert d["corpus"].startswith("synthetic") and _numbers(d["cache"], "audio_s_per_s")
    assert d["stage1"]["steps"] >= 1 and d["stage1"]["loss_curve"]
    assert all(math.isfinite(p["loss"]) for p in d["stage1"]["loss_curve"])
    cpu = report["cpu_bf16"]
    assert _numbers(cpu["results"], "bf16 autocast s/s")
    assert all(0.9 < layer["cos_mean"] <= 1.0 + 1e-6 for f in cpu["fidelity"].values()
               for form in f.values() for layer in form["layers"])
    md = (tmp_path / "gpu_check.md").read_text()
    for title in ("## Inference", "## Peers", "## Training step", "## Distillation run", "## bf16 against fp32"):
        assert title in md
    assert "anchor H100 (given)" in md and "NOT measured" in md and "target" in md
