import json
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from suite_fixture import write_event_task, write_scene_task, write_sequence_task  # noqa: E402

from usad.cli.main import main  # noqa: E402
from usad.eval import ProbeProtocol, run_probe_suite  # noqa: E402

FAST = ProbeProtocol(lrs=(1e-2,), seeds=(0,), probes=("linear",), max_steps=40)
TINY_STUDENT = "preset:small,num_layers=2,dim=32,num_heads=2"


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    root = tmp_path_factory.mktemp("suite")
    write_scene_task(root)
    write_event_task(root)
    return root


def test_suite_scores_every_encoder_and_task_and_writes_the_report(suite, tmp_path):
    encoders = {"tiny-student": TINY_STUDENT, "spk-teacher": "teacher:test:16x2@50:speech",
                "music-teacher": "teacher:test:8x2@25:music"}
    res = run_probe_suite(suite, encoders, tmp_path, protocol=FAST, log=None)
    assert set(res.scores) == set(encoders) | {"spectral stats"}   # the spectral control joins every run
    for name in res.scores:
        assert set(res.scores[name]) == {"pitch_class", "beeps"}
        for task in ("pitch_class", "beeps"):   # every headline has bootstrap replicates and an interval
            lo, hi = res.task_ci(name, task)
            assert lo <= res.headline(name, task) <= hi
    r = res.scores["tiny-student"]["pitch_class"]
    assert r.metric == "top1_acc" and r.layers == ["0", "1", "2"] and len(r.headline.layer_weights) == 3
    assert res.scores["music-teacher"]["beeps"].metric == "event_onset_200ms_fms"
    # the tones are trivially separable: even a random tiny student's features get them right
    assert r.headline.test >= 0.8
    # domains come from metadata; specialist-relative scores use teachers of that declared domain
    assert {t.name: t.domain for t in res.tasks} == {"pitch_class": "music", "beeps": "sound"}
    assert res.best_specialists() == {"sound": None, "music": "music-teacher"}
    assert res.relative_to_specialists()["music-teacher"]["music"] == pytest.approx(1.0)
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["scores"]["tiny-student"]["pitch_class"]["headline"]["layer_weights"]
    assert data["task_table"]["pitch_class"]["n_test"] == 6
    assert data["domain_ci95"]["tiny-student"]["all"] is not None
    md = (tmp_path / "report.md").read_text()
    assert "| tiny-student |" in md and "music / specialist" in md and "not distinguishable" in md
    assert (tmp_path / "plots" / "scores.png").stat().st_size > 1000
    assert (tmp_path / "plots" / "layers_beeps.png").exists()


def test_sequence_tasks_are_scored_by_phone_error_rate(tmp_path):
    root = tmp_path / "suite"
    write_sequence_task(root)
    fast = ProbeProtocol(lrs=(1e-2,), seeds=(0,), probes=("linear",), ctc_steps=600)
    res = run_probe_suite(root, {"t": "teacher:test:16x2@50:speech"}, tmp_path / "out", protocol=fast, log=None)
    r = res.scores["t"]["tone_sequence"]
    assert r.metric == "per" and len(r.per_layer["linear"]) == 3 and set(r.weighted) == {"linear"}
    per = 1 - r.headline.test
    assert per < 0.8   # the tones are easy: a random projection of the audio already names them
    lo, hi = sorted(1 - v for v in res.task_ci("t", "tone_sequence"))
    assert 0.0 <= per and lo <= per <= hi
    row = res.task_table()["tone_sequence"]
    assert row["scores"]["t"]["score"] == pytest.approx(per) and row["n_test"] == 6
    assert "tone_sequence (speech, per)" in (tmp_path / "out" / "report.md").read_text()


def test_students_get_a_random_init_twin_and_the_report_says_what_training_added(suite, tmp_path):
    from usad import Encoder

    enc = Encoder.from_preset("small", num_layers=2, dim=32, num_heads=2)
    for p in enc.parameters():   # "trained": any weights other than the seed-0 initialisation
        p.data.add_(0.01)
    enc.save_pretrained(tmp_path / "run" / "student")
    res = run_probe_suite(suite, {"s": f"student:{tmp_path / 'run' / 'student'}"}, tmp_path / "out",
                          protocol=FAST, log=None)
    kinds = {e.name: (e.kind, e.spec) for e in res.encoders}
    assert kinds["random-init (run)"] == ("control", f"random:{tmp_path / 'run' / 'student'}")
    assert kinds["spectral stats"] == ("control", "spectral:fbank")
    assert res.controls_of("s") == ["random-init (run)", "spectral stats"]
    cmp = res.compare("s", "random-init (run)", "music")
    assert cmp["diff_ci95"][0] <= cmp["diff"] <= cmp["diff_ci95"][1]
    assert cmp["verdict"] in ("higher", "lower", "not distinguishable")
    md = (tmp_path / "out" / "report.md").read_text()
    assert "What training added over the controls" in md and "| s | random-init (run) |" in md
    assert "Students against each other" not in md   # one student: nothing to pair it with
    # the spectral control reads the front end: one layer, mean and std per bin for clip tasks
    r = res.scores["spectral stats"]["pitch_class"]
    assert r.layers == ["fbank"] and r.headline.reads == "layer fbank"


def test_features_are_cached_and_reused(suite, tmp_path):
    run_probe_suite(suite, ["teacher:test:8x2@50"], tmp_path, protocol=FAST, tasks=["pitch_class"], log=None,
                    controls=False)
    files = sorted((tmp_path / "features").rglob("*.safetensors"))
    assert len(files) == 3
    stamps = [f.stat().st_mtime_ns for f in files]
    logs = []
    run_probe_suite(suite, ["teacher:test:8x2@50"], tmp_path, protocol=FAST, tasks=["pitch_class"],
                    log=logs.append, controls=False)
    assert [f.stat().st_mtime_ns for f in files] == stamps
    assert not any("encoding" in m for m in logs)


def test_cli_probe_runs_and_reports_bad_input(suite, tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["probe", "--suite", str(suite), "--encoder", "t=teacher:test:8x2@50", "--out", str(out),
               "--task", "pitch_class", "--lrs", "1e-2", "--seeds", "0", "--probes", "linear",
               "--max-steps", "40", "--no-plots"])
    assert rc == 0 and (out / "report.md").exists()
    rc = main(["probe", "--suite", str(suite), "--encoder", "teacher:test:8x2@50", "--out", str(out),
               "--task", "nope"])
    assert rc == 2 and "nope" in capsys.readouterr().err


def test_probe_results_are_reused_only_for_the_same_protocol(suite, tmp_path):
    kw = dict(tasks=["pitch_class", "beeps"], log=None, controls=False)
    first = run_probe_suite(suite, ["teacher:test:8x2@50", TINY_STUDENT], tmp_path, protocol=FAST, **kw)
    logs = []
    again = run_probe_suite(suite, ["teacher:test:8x2@50", TINY_STUDENT], tmp_path / "b", protocol=FAST,
                            cache_dir=tmp_path / "features", **(kw | {"log": logs.append}))
    assert any("read 4 earlier result(s)" in m for m in logs)
    for name in first.scores:   # read back: the same scores, intervals and recovery as computed
        for task in ("pitch_class", "beeps"):
            a, b = first.scores[name][task], again.scores[name][task]
            assert a.to_dict() == b.to_dict()
            assert first.task_ci(name, task) == again.task_ci(name, task)
    assert first.recovery == again.recovery and first.recovery
    logs.clear()
    other = replace(FAST, max_steps=41)   # any protocol field changes the key: probed again
    run_probe_suite(suite, ["teacher:test:8x2@50"], tmp_path / "c", protocol=other,
                    cache_dir=tmp_path / "features", **(kw | {"log": logs.append}))
    assert not any("earlier result" in m for m in logs)
    logs.clear()
    run_probe_suite(suite, ["teacher:test:8x2@50"], tmp_path / "d", protocol=FAST, reuse_results=False,
                    cache_dir=tmp_path / "features", **(kw | {"log": logs.append}))
    assert not any("earlier result" in m for m in logs)
