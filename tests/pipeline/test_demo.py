"""The main job end to end at CI scale: small corpus, real offline teachers, tiny student, probing, report."""
import json

import pytest

from tests.conftest import require


@pytest.mark.slow
def test_demo_runs_end_to_end_and_resumes(tmp_path):
    from usad import Encoder
    from usad.errors import ConfigError
    from usad.pipeline import DemoConfig, run_demo
    from usad.teachers.registry import check_teacher

    for name in ("whisper-base", "basic-pitch"):
        ok, why = check_teacher(name)
        require(ok, f"{name}: {why}")
    teachers = ("teachers=[{name: whisper-base, domain: speech, k: 2, options: {window: clip}}, "
                "{name: basic-pitch, domain: music, k: 2}]")
    cfg = DemoConfig(out=str(tmp_path / "run"), corpus=str(tmp_path / "corpus"), size="small",
                     stage1_minutes=0.25, stage2_minutes=0.15,
                     overrides=["student.overrides={dim: 64, num_layers: 2, num_heads: 2}",
                                "data.max_duration=16.0", "optim.warmup_steps=2"],
                     # a 64-wide student: no Whisper seed, no spectral branch to freeze
                     stage1_overrides=[teachers, "student.warm_start=null", "optim.freeze=[]"],
                     probe_tasks=["spoken_language", "note_pitch", "note_events"], probe_seeds=(0,), probe_lrs=(1e-3,))
    logs = []
    summary = run_demo(cfg, log=logs.append)

    run = tmp_path / "run"
    saved = json.loads((run / "summary.json").read_text())
    assert saved["student_dir"] == summary["student_dir"]
    assert summary["training"]["stage1"]["step"] > 0 and summary["training"]["stage2"]["step"] > 0
    # the student is where `usad extract --model` finds it, and is the stage-2 student
    student = Encoder.from_pretrained(summary["student_dir"])
    assert student.config.num_layers == 2 and student.config.dim == 64
    # every encoder was scored in both domains, and the verdict was computed from those scores
    for domain in ("speech", "music"):
        row = summary["domains"][domain]
        assert row["student"] is not None and row["specialist_score"] is not None
        assert row["ratio"] == pytest.approx(row["student"] / row["specialist_score"])
    assert set(summary["encoders_all"]) == {"student (stage 1)", "student", "whisper-base", "basic-pitch",
                                            "random-init (stage1)", "spectral stats"}
    # the two students share one architecture: one random-init control stands beside both
    assert set(summary["controls"]) == {"random-init (stage1)", "spectral stats"}
    for domain in ("speech", "music"):
        row = summary["domains"][domain]
        lo, hi = row["student_ci95"]
        assert lo <= row["student"] <= hi and row["ratio_ci95"] is not None
        assert row["vs_random_init"]["verdict"] in ("higher", "lower", "not distinguishable")
    assert summary["tasks"]["note_pitch"]["scores"]["student"]["ci95"] is not None
    assert summary["recipes"]["stage1"]["loss"]["target_norm"] == "standardize"
    # stage 2 is measured against the stage-1 student it started from, paired, in the summary and the report
    s2 = summary["stage2_vs_stage1"]
    assert set(s2) == {"speech", "music", "all"}
    lo, hi = s2["all"]["diff_ci95"]
    assert lo <= hi and s2["all"]["verdict"] in ("higher", "lower", "not distinguishable")
    report = (run / "report" / "report.md").read_text()
    assert "spoken_language" in report and "note_pitch" in report
    assert "| student | student (stage 1) |" in report.split("## Students against each other")[1]
    assert (run / "report" / "plots" / "scores.png").stat().st_size > 0

    # teacher recovery ran for the students and controls, saying what it fitted
    assert summary["recovery_r2"]["student"] and any(m.startswith("[recovery] student ->") for m in logs)

    # a second run reuses the corpus, the caches, both trained stages and the recovery results
    logs.clear()
    again = run_demo(cfg, log=logs.append)
    assert any("stage 1: finished earlier" in m for m in logs)
    assert any("stage 2: finished earlier" in m for m in logs)
    assert any(m.startswith("[recovery] student: read from") for m in logs)
    assert again["encoders_all"] == pytest.approx(summary["encoders_all"])
    assert again["recovery_r2"] == summary["recovery_r2"]

    # a finished stage is not passed off as a run with other settings
    changed = DemoConfig(**{**cfg.__dict__, "overrides": cfg.overrides + ["optim.lr=1.0e-3"]})
    with pytest.raises(ConfigError, match=r"stage 1: .* other settings .*optim\.lr"):
        run_demo(changed, log=logs.append)

    # without recovery the scores are the same and no recovery is reported
    logs.clear()
    cfg.recovery = False
    bare = run_demo(cfg, log=logs.append)
    assert bare["encoders_all"] == pytest.approx(summary["encoders_all"])
    assert not bare["recovery_r2"] and not any("[recovery]" in m for m in logs)
