"""End-to-end corpus builds on a shrunken size: HEAR-readable tasks, determinism, resume, missing sources,
speaker-disjoint content tasks, k-fold sound folds and a training corpus without any probe-test material."""
from __future__ import annotations

import dataclasses
import json
import shutil

import pytest

from tests.conftest import require
from usad.corpus import build as build_mod
from usad.corpus.hear import read_task
from usad.corpus.locate import locate
from usad.manifest import CORPUS_FIELDS, read_manifest
from usad.corpus.sizes import SIZES
from usad.corpus.training import plan_speech

pytestmark = pytest.mark.slow
TINY = dataclasses.replace(SIZES["small"], name="small", keywords=(1, 1, None), pitch_programs=(2, 1, 1),
                           style_per_class=(1, 1, 1), speaker_per_class=(2, 1, 2), language_per_class=(2, 1, 2),
                           instrument_per_program=(1, 1, 1), event_files=(2, 1, 2), phonemes=(6, 3, 6),
                           detection_scenes=(4, 2, 3), sound_real_max=None, train_seconds_per_domain=15.0)


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setitem(build_mod.SIZES, "small", TINY)


def _manifest(task_dir):
    return [json.loads(line) for line in (task_dir / "manifest.jsonl").read_text().splitlines()]


def test_probe_tasks_are_valid_hear_and_a_rerun_does_no_audio_work(tiny, tmp_path):
    require(locate("asterisk") is not None and locate("asterisk_text") is not None
            and locate("espeak") is not None and locate("fluidsynth") is not None,
            "apt-get install asterisk-core-sounds-en-wav asterisk-core-sounds-en espeak-ng fluidsynth "
            "timgm6mb-soundfont; pip install mido")
    only = "spoken_keywords,note_pitch,note_events"
    first = build_mod.build(tmp_path / "a", size="small", seed=1, only=only, progress=False)
    assert first.rendered > 0
    for name in only.split(","):
        task = read_task(tmp_path / "a" / "probe" / name)
        assert all(task.splits[s] for s in ("train", "valid", "test"))
        assert task.metadata["domain"] in ("speech", "music")
    kw_dir = tmp_path / "a" / "probe" / "spoken_keywords"
    kw = read_task(kw_dir)
    assert kw.metadata["synthetic"] == {"train": 1.0, "valid": 0.0, "test": 0.0}
    rows = _manifest(kw_dir)
    voices = {s: {r["speaker"] for r in rows if r["split"] == s} for s in ("train", "valid", "test")}
    assert len(voices["test"]) == 3 and voices["valid"] == {"asterisk-June"}  # real voices: 3 to test, 1 to choose
    assert not voices["test"] & (voices["train"] | voices["valid"]) and not voices["valid"] & voices["train"]
    assert {r["language"] for r in rows if r["split"] == "valid"} == {"fr"}
    vocab = set(kw.vocabulary)
    assert {"0", "9", "a", "z", "alfa", "zulu"} <= vocab and len(vocab) == 62
    test_labels = {lab for ex in kw.splits["test"] for lab in ex.labels}
    assert "charlie" in test_labels and len([r for r in rows if r["split"] == "test"]) >= 150
    events = read_task(tmp_path / "a" / "probe" / "note_events")
    assert events.embedding_type == "event" and all("start" in lab for ex in events.splits["test"]
                                                    for lab in ex.labels)
    info1 = json.loads((tmp_path / "a" / "build_info.json").read_text())
    again = build_mod.build(tmp_path / "a", size="small", seed=1, only=only, progress=False)
    assert again.rendered == 0 and again.skipped == first.rendered
    info2 = json.loads((tmp_path / "a" / "build_info.json").read_text())
    assert info1["manifest_sha256"] == info2["manifest_sha256"]


def test_phonemes_is_a_speaker_disjoint_sequence_task(tiny, tmp_path):
    require(locate("fillets") is not None and locate("espeak") is not None,
            "apt-get install fillets-ng-data fillets-ng-data-cs fillets-ng-data-nl espeak-ng")
    build_mod.build(tmp_path, size="small", seed=0, only="phonemes", progress=False)
    tdir = tmp_path / "probe" / "phonemes"
    task = read_task(tdir)
    assert task.embedding_type == "sequence" and task.metadata["evaluation"] == ["per"]
    rows = _manifest(tdir)
    by_split = {s: {r["speaker"] for r in rows if r["split"] == s} for s in ("train", "valid", "test")}
    assert by_split["test"] == {"fillets-cs-v", "fillets-nl-m"}
    assert by_split["train"] == {"fillets-cs-m", "fillets-nl-v"}
    assert not by_split["valid"] & (by_split["train"] | by_split["test"])
    split_file = json.loads((tdir / "test.json").read_text())
    for r in rows:
        assert r["text"] and r["language"] in ("cs", "nl") and 1.0 <= r["duration"] <= 4.0 + 1e-3
        if r["split"] == "test":   # the split file holds the token sequence in order
            assert split_file[r["path"].split("/")[-1]] == r["labels"] and len(r["labels"]) >= 4
    assert not any(ch in tok for ex in task.splits["train"] for tok in ex.labels for ch in "ˈˌ_ ")


def test_sound_tasks_never_share_a_sound_group_across_folds_or_splits(tiny, tmp_path):
    require(locate("hedgewars") is not None and locate("ui_sounds") is not None,
            "apt-get install hedgewars-data sound-theme-freedesktop oxygen-sounds")
    build_mod.build(tmp_path, size="small", seed=0, only="sound_event,sound_detection", progress=False)
    sdir = tmp_path / "probe" / "sound_event"
    task = read_task(sdir)
    assert task.metadata["split_mode"] == "new_split_kfold" and task.metadata["nfolds"] == 5
    assert sorted(task.splits) == [f"fold{i:02d}" for i in range(5)]
    rows = _manifest(sdir)
    fold_of_group: dict[str, set] = {}
    for r in rows:
        fold_of_group.setdefault(r["group"], set()).add(r["split"])
    assert all(len(f) == 1 for f in fold_of_group.values())
    assert not any(r["synthetic"] for r in rows)                                 # real clips only
    for i in range(5):   # every class of the test fold is in the training folds of that rotation
        train = {r["labels"][0] for r in rows if r["split"] not in (f"fold{i:02d}", f"fold{(i + 1) % 5:02d}")}
        assert {r["labels"][0] for r in rows if r["split"] == f"fold{i:02d}"} <= train
    ddir = tmp_path / "probe" / "sound_detection"
    det = read_task(ddir)
    assert det.embedding_type == "event" and det.metadata["evaluation"][0] == "event_onset_200ms_fms"
    effect_split: dict[str, set] = {}
    for r in _manifest(ddir):
        for eff in r["effects"]:
            effect_split.setdefault(eff, set()).add(r["split"])
        assert all(0 <= ev["start"] < ev["end"] <= 4000.0 for ev in r["labels"])
    assert all(len(s) == 1 for s in effect_split.values())
    group_of = {r["id"]: r["group"] for r in rows}
    groups_by_split: dict[str, set] = {}
    for eff, splits in effect_split.items():
        if eff in group_of:
            groups_by_split.setdefault(next(iter(splits)), set()).add(group_of[eff])
    assert not groups_by_split.get("test", set()) & groups_by_split.get("train", set())


def test_training_corpus_is_deterministic_and_excludes_probe_test_sources(tiny, tmp_path):
    require(locate("asterisk") is not None and locate("hedgewars") is not None and locate("fillets") is not None,
            "apt-get install asterisk-core-sounds-en-wav hedgewars-data fillets-ng-data-cs")
    only = "train,spoken_language,phonemes,sound_event,sound_detection"
    a = build_mod.build(tmp_path / "a", size="small", seed=0, only=only, progress=False)
    shutil.copytree(tmp_path / "a" / "_work", tmp_path / "b" / "_work")   # a cache only (music21 -> MIDI)
    build_mod.build(tmp_path / "b", size="small", seed=0, only=only, progress=False)
    for domain in ("speech", "sound", "music"):
        pa, pb = tmp_path / "a" / "train" / f"{domain}.jsonl", tmp_path / "b" / "train" / f"{domain}.jsonl"
        assert pa.read_bytes() == pb.read_bytes()
    assert set(a.domains) == {"speech", "sound", "music"}
    recs = read_manifest(tmp_path / "a" / "train" / "all.jsonl", require=CORPUS_FIELDS)
    assert {r["domain"] for r in recs} == {"speech", "sound", "music"}
    assert all(r["duration"] <= 10.0 + 1e-3 for r in recs if r["domain"] != "speech")
    from usad.corpus.training import MIN_SECONDS
    assert min(r["duration"] for r in recs) >= MIN_SECONDS   # e.g. a 2-sample hedgewars effect is left out
    assert all(shutil.os.path.exists(r["path"]) for r in recs)
    probe = tmp_path / "a" / "probe"
    train_ids = {r["id"] for r in recs}
    lang_test = {r["id"] for r in _manifest(probe / "spoken_language") if r["split"] == "test"}
    assert not lang_test & train_ids
    # a phoneme test line is excluded under its training-corpus id (same source file, other task prefix)
    pho_test = {r["id"].replace("pho-", "fil-", 1) for r in _manifest(probe / "phonemes") if r["split"] == "test"}
    assert pho_test and not pho_test & train_ids
    # every real clip of the k-fold sound task is a test item of some fold: none may be in training
    sound_real = {r["id"] for r in _manifest(probe / "sound_event")}
    scene_parts = {e for r in _manifest(probe / "sound_detection") if r["split"] == "test" for e in r["effects"]}
    assert sound_real and not (sound_real | scene_parts) & train_ids


def test_training_corpus_leaves_out_the_keyword_valid_voice_recordings(tiny, tmp_path, monkeypatch):
    # the keywords task chooses its layer on a real voice: those recordings must be as unheard as the test ones
    require(locate("asterisk") is not None and locate("asterisk_text") is not None and locate("espeak") is not None,
            "apt-get install asterisk-core-sounds-fr-wav asterisk-core-sounds-fr espeak-ng")
    seen = {}

    def spy(ctx, exclude):
        seen.update(ctx=ctx, exclude=set(exclude))
        return plan_speech(ctx, exclude)

    monkeypatch.setattr(build_mod, "plan_speech", spy)
    build_mod.build(tmp_path, size="small", seed=0, only="train,spoken_keywords", progress=False)
    plan = build_mod.TASKS["spoken_keywords"](seen["ctx"])
    valid = [e for e in plan.entries if e.split == "valid"]
    assert valid and not any(e.clip.synthetic for e in valid)
    assert all(k in seen["exclude"] for e in valid + plan.test_entries() for k in e.clip.material_keys)


def test_train_minutes_grows_the_training_corpus_as_a_superset(tiny, tmp_path):
    require(locate("asterisk") is not None and locate("hedgewars") is not None and locate("fillets") is not None,
            "apt-get install asterisk-core-sounds-en-wav hedgewars-data fillets-ng-data-cs")
    small = build_mod.build(tmp_path / "a", size="small", seed=0, only="train", progress=False)
    big = build_mod.build(tmp_path / "b", size="small", seed=0, only="train", progress=False, train_minutes=1.0)
    for domain in ("speech", "sound"):   # 15 s -> 60 s per domain, the smaller budget's clips included
        assert big.domains[domain]["hours"] * 3600 >= 60.0 > small.domains[domain]["hours"] * 3600
        def ids(root):
            return {r["id"] for r in read_manifest(root / "train" / f"{domain}.jsonl", require=CORPUS_FIELDS)}
        assert ids(tmp_path / "a") < ids(tmp_path / "b")
    assert json.loads((tmp_path / "b" / "build_info.json").read_text())["train_minutes"] == 1.0
    with pytest.raises(ValueError, match="train-minutes"):
        build_mod.build(tmp_path / "c", size="small", only="train", progress=False, train_minutes=0)


def test_a_missing_source_names_the_package_and_the_rest_builds(tiny, tmp_path, monkeypatch, capsys):
    require(locate("fluidsynth") is not None, "apt-get install fluidsynth timgm6mb-soundfont; pip install mido")
    real_locate = build_mod.locate
    monkeypatch.setattr(build_mod, "locate", lambda n: None if n == "asterisk" else real_locate(n))
    res = build_mod.build(tmp_path, size="small", seed=0, only="spoken_keywords,note_pitch", progress=False)
    assert any("asterisk-core-sounds-en-wav" in m and "apt-get install" in m for m in res.messages)
    assert "asterisk-core-sounds" in capsys.readouterr().err
    assert "note_pitch" in res.tasks and "spoken_keywords" not in res.tasks
    read_task(tmp_path / "probe" / "note_pitch")
