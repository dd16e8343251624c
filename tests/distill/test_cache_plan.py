"""Recipe-driven caching: the union of the layers two stages read, one cache per teacher, found by training."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from distill_fixtures import tiny_config, write_corpus  # noqa: E402

from usad.cli.main import main  # noqa: E402
from usad.distill.cache_plan import plan_caches  # noqa: E402
from usad.distill.config import load_config  # noqa: E402


def _configs(tmp_path, manifest):
    s1 = tiny_config(manifest, tmp_path / "s1")
    s1["cache_root"] = str(tmp_path / "cache")
    s2 = dict(s1, stage=2, teachers=[{"name": "test:16x4@25:speech"}])
    s2["train"] = dict(s1["train"], out_dir=str(tmp_path / "s2"))
    return load_config(s1), load_config(s2)


def test_two_stages_share_one_cache_per_teacher_with_the_union_of_their_layers(tmp_path):
    manifest = write_corpus(tmp_path / "corpus")
    c1, c2 = _configs(tmp_path, manifest)
    jobs = {j.teacher.name: j for j in plan_caches([c1, c2])}
    # stage 1: K=4 over 4 layers -> 1..4; K=2 over 2 layers -> 1, 2; stage 2: the final layer (4)
    assert jobs["test:16x4@25:speech"].layers == {1, 2, 3, 4}
    assert jobs["test:8x2@100:music"].layers == {1, 2}
    assert jobs["test:16x4@25:speech"].folder == str(tmp_path / "cache" / "test_16x4_25_speech")
    c2.teachers[0].options = {"window": "clip"}
    with pytest.raises(ValueError, match="two option sets"):
        plan_caches([c1, c2])


def test_usad_cache_config_builds_what_training_reads(tmp_path, capsys):
    import yaml

    from usad.distill.trainer import train

    manifest = write_corpus(tmp_path / "corpus")
    cfg = tiny_config(manifest, tmp_path / "run", max_steps=2)
    cfg["cache_root"] = str(tmp_path / "cache")
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["cache", "--config", str(tmp_path / "recipe.yaml"), "--no-progress"]) == 0
    assert "cache ready: test:16x4@25:speech layers [1, 2, 3, 4]" in capsys.readouterr().out
    result = train(load_config(str(tmp_path / "recipe.yaml")))
    assert result.step == 2


def test_usad_cache_takes_both_stages_and_runs_each_teacher_once(tmp_path, capsys):
    import yaml

    manifest = write_corpus(tmp_path / "corpus")
    s1 = tiny_config(manifest, tmp_path / "s1")
    s1["cache_root"] = str(tmp_path / "cache")
    s1["teachers"] = [{"name": "test:16x4@25:speech", "mapping": "1:1,2:2"}, {"name": "test:8x2@100:music", "k": 2}]
    s2 = dict(s1, stage=2, teachers=[{"name": "test:16x4@25:speech", "mapping": "last"}])
    s2["train"] = dict(s1["train"], out_dir=str(tmp_path / "s2"))
    for name, cfg in (("s1.yaml", s1), ("s2.yaml", s2)):
        (tmp_path / name).write_text(yaml.safe_dump(cfg))
    assert main(["cache", "--config", str(tmp_path / "s1.yaml"), "--config", str(tmp_path / "s2.yaml"),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    # stage 1 reads speech layers 1 and 2, stage 2 its last (4): one pass, one folder holding all three
    assert out.count("cache ready: test:16x4@25:speech") == 1
    assert "cache ready: test:16x4@25:speech layers [1, 2, 4]" in out and "test:8x2@100:music layers [1, 2]" in out
    # both stages' trainers find their layers in that one folder
    jobs = {j.teacher.name: j for j in plan_caches([load_config(s1), load_config(s2)])}
    assert sorted(p.name for p in (tmp_path / "cache").iterdir()) == sorted(
        Path(j.folder).name for j in jobs.values())


def test_a_later_stage_reuses_a_finished_cache_that_holds_its_layers_without_loading_the_teacher(tmp_path, capsys,
                                                                                                 monkeypatch):
    import yaml

    import usad.teachers as teachers

    manifest = write_corpus(tmp_path / "corpus")
    s1 = tiny_config(manifest, tmp_path / "s1")
    s1["cache_root"] = str(tmp_path / "cache")
    s1["teachers"] = [{"name": "test:16x4@25:speech", "k": 4}]          # layers 1..4, the final one among them
    s2 = dict(s1, stage=2, teachers=[{"name": "test:16x4@25:speech", "mapping": "last"}])
    s2["train"] = dict(s1["train"], out_dir=str(tmp_path / "s2"))
    for name, cfg in (("s1.yaml", s1), ("s2.yaml", s2)):
        (tmp_path / name).write_text(yaml.safe_dump(cfg))
    assert main(["cache", "--config", str(tmp_path / "s1.yaml"), "--no-progress"]) == 0
    built = sorted((tmp_path / "cache").rglob("index.json"))
    assert len(built) == 1

    def no_teacher(*a, **k):
        raise AssertionError("the teacher was loaded although its targets are cached")

    monkeypatch.setattr(teachers, "load_teacher", no_teacher)
    capsys.readouterr()
    assert main(["cache", "--config", str(tmp_path / "s2.yaml"), "--no-progress"]) == 0
    assert "already in" in capsys.readouterr().out
    assert sorted((tmp_path / "cache").rglob("index.json")) == built     # no second, stage-2-only cache

    # another manifest (one clip fewer) is not covered by that cache: the teacher runs again
    rows = Path(manifest).read_text().splitlines()
    (tmp_path / "fewer.jsonl").write_text("\n".join(rows[:-1]) + "\n")
    s2["data"] = dict(s2["data"], train=[str(tmp_path / "fewer.jsonl")])
    (tmp_path / "s2.yaml").write_text(yaml.safe_dump(s2))
    with pytest.raises(AssertionError, match="teacher was loaded"):
        main(["cache", "--config", str(tmp_path / "s2.yaml"), "--no-progress"])
