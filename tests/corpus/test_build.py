"""End-to-end corpus builds on a shrunken size: HEAR-readable tasks, determinism, resume, missing sources."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from tests.conftest import require
from usad.corpus import build as build_mod
from usad.corpus.hear import read_task
from usad.corpus.locate import locate
from usad.corpus.manifest import read_manifest
from usad.corpus.sizes import SIZES

pytestmark = pytest.mark.slow
TINY = dataclasses.replace(SIZES["small"], name="small", tts_variants=1, tts_languages=1, pitch_programs=3,
                           style_scores_per_class=1, speaker_per_class=2, language_per_class=2,
                           instrument_clips_per_program=1, event_clips=3, sound_synth_per_class=1,
                           sound_real_max=3, train_seconds_per_domain=15.0)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(build_mod.SIZES, "small", TINY)


def test_probe_tasks_are_valid_hear_and_a_rerun_does_no_audio_work(tiny, tmp_path):
    require(locate("asterisk") is not None and locate("fluidsynth") is not None,
            "apt-get install asterisk-core-sounds-en-wav fluidsynth timgm6mb-soundfont; pip install mido")
    only = "spoken_digits,note_pitch,note_events"
    first = build_mod.build(tmp_path / "a", size="small", seed=1, only=only, progress=False)
    assert first.rendered > 0
    for name in only.split(","):
        task = read_task(tmp_path / "a" / "probe" / name)
        assert all(task.splits[s] for s in ("train", "valid", "test"))
    digits = read_task(tmp_path / "a" / "probe" / "spoken_digits")
    meta = digits.metadata
    assert meta["synthetic"]["test"] == 0.0 and meta["synthetic"]["train"] > 0.0   # test is real voices only
    test_voices = {json.loads(line)["speaker"] for line in
                   (tmp_path / "a" / "probe" / "spoken_digits" / "manifest.jsonl").read_text().splitlines()
                   if json.loads(line)["split"] == "test"}
    train_voices = {json.loads(line)["speaker"] for line in
                    (tmp_path / "a" / "probe" / "spoken_digits" / "manifest.jsonl").read_text().splitlines()
                    if json.loads(line)["split"] == "train"}
    assert test_voices and not test_voices & train_voices
    events = read_task(tmp_path / "a" / "probe" / "note_events")
    assert events.embedding_type == "event" and all("start" in lab for ex in events.splits["test"]
                                                    for lab in ex.labels)
    info1 = json.loads((tmp_path / "a" / "build_info.json").read_text())
    again = build_mod.build(tmp_path / "a", size="small", seed=1, only=only, progress=False)
    assert again.rendered == 0 and again.skipped == first.rendered
    info2 = json.loads((tmp_path / "a" / "build_info.json").read_text())
    assert info1["manifest_sha256"] == info2["manifest_sha256"]


def test_training_corpus_is_deterministic_and_excludes_probe_test_sources(tiny, tmp_path):
    require(locate("asterisk") is not None and locate("hedgewars") is not None,
            "apt-get install asterisk-core-sounds-en-wav hedgewars-data")
    a = build_mod.build(tmp_path / "a", size="small", seed=0, only="train,spoken_language", progress=False)
    b = build_mod.build(tmp_path / "b", size="small", seed=0, only="train,spoken_language", progress=False)
    for domain in ("speech", "sound", "music"):
        pa, pb = tmp_path / "a" / "train" / f"{domain}.jsonl", tmp_path / "b" / "train" / f"{domain}.jsonl"
        assert pa.read_bytes() == pb.read_bytes()
    assert set(a.domains) == {"speech", "sound", "music"}
    recs = read_manifest(tmp_path / "a" / "train" / "all.jsonl")
    assert {r["domain"] for r in recs} == {"speech", "sound", "music"}
    assert all(r["duration"] <= 10.0 + 1e-3 for r in recs if r["domain"] != "speech")
    from usad.corpus.training import MIN_SECONDS
    assert min(r["duration"] for r in recs) >= MIN_SECONDS   # e.g. a 2-sample hedgewars effect is left out
    test_ids = {json.loads(line)["id"] for line in
                (tmp_path / "a" / "probe" / "spoken_language" / "manifest.jsonl").read_text().splitlines()
                if json.loads(line)["split"] == "test"}
    assert not test_ids & {r["id"] for r in recs}
    assert all(shutil.os.path.exists(r["path"]) for r in recs)


def test_a_missing_source_names_the_package_and_the_rest_builds(tiny, tmp_path, monkeypatch, capsys):
    require(locate("fluidsynth") is not None, "apt-get install fluidsynth timgm6mb-soundfont; pip install mido")
    real_locate = build_mod.locate
    monkeypatch.setattr(build_mod, "locate", lambda n: None if n == "asterisk" else real_locate(n))
    res = build_mod.build(tmp_path, size="small", seed=0, only="spoken_digits,note_pitch", progress=False)
    assert any("asterisk-core-sounds-en-wav" in m and "apt-get install" in m for m in res.messages)
    assert "asterisk-core-sounds" in capsys.readouterr().err
    assert "note_pitch" in res.tasks
    read_task(tmp_path / "probe" / "note_pitch")

