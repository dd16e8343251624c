import pytest

from usad.distill.config import ConfigError, load_config, packaged_recipes


def test_every_packaged_recipe_loads():
    names = packaged_recipes()
    assert "offline-small.yaml" in names
    for stage in (1, 2):
        for preset in ("small", "base", "large", "xlarge"):
            assert f"stage{stage}-{preset}.yaml" in names
    assert "stage2-xxlarge.yaml" in names
    for name in names:
        cfg = load_config(name)
        assert cfg.teachers and cfg.stage in (1, 2)


def test_dotted_overrides_parse_yaml_values():
    cfg = load_config("offline-small", ["optim.lr=1e-3", "teachers.0.k=2", "data.train=[a.jsonl, b.jsonl]",
                                        "train.max_minutes=15", "student.overrides.num_layers=4",
                                        "teachers.2={name: birdnet, domain: sound}"])
    assert cfg.optim.lr == 1e-3
    assert cfg.teachers[0].k == 2 and cfg.teachers[2].name == "birdnet"
    assert cfg.data.train == ["a.jsonl", "b.jsonl"]
    assert cfg.train.max_minutes == 15
    assert cfg.student.overrides == {"num_layers": 4}


def test_unknown_keys_and_bad_values_name_the_key():
    with pytest.raises(ConfigError, match="optim.*unknown key.*lrr"):
        load_config("offline-small", ["optim.lrr=1"])
    with pytest.raises(ConfigError, match="teachers"):
        load_config({"teachers": []})
    with pytest.raises(ConfigError, match="key=value"):
        load_config("offline-small", ["optim.lr"])
    with pytest.raises(ConfigError, match="not found"):
        load_config("no-such-recipe")


def test_overrides_replace_mappings_append_teachers_and_interpolate():
    recipe = {"teachers": [{"name": "a", "k": 2}], "student": {"overrides": {"dim": 64}}, "data": {"upsample": {}}}
    cfg = load_config(recipe, ["student.overrides={num_layers: 2}", "teachers.1={name: b}", "teachers.0={name: c}",
                               "cache_root=/caches", "train.out_dir=${cache_root}/run"])
    assert cfg.student.overrides == {"num_layers": 2}          # replaced, not merged with {dim: 64}
    assert [(t.name, t.k) for t in cfg.teachers] == [("c", 4), ("b", 4)]
    assert cfg.data.upsample == {}                              # the recipe's empty mapping, not the default's
    assert cfg.train.out_dir == "/caches/run"
    with pytest.raises(ConfigError, match="teachers.5.k=1"):
        load_config(recipe, ["teachers.5.k=1"])


@pytest.mark.parametrize("stage", [1, 2])
def test_longer_cpu_recipe_differs_from_the_main_jobs_only_where_documented(stage):
    """The longer recipe's claim (same student, teachers and loss; corpus, budget and folders differ, and stage 1
    trains at a higher peak rate with the spectral subsampler trained, both chosen on valid at its own budget)
    holds for the packaged files, so a result of one cannot silently come from a different recipe."""
    from dataclasses import asdict

    main_job = asdict(load_config(f"cpu-stage{stage}"))
    longer = asdict(load_config(f"cpu-long-stage{stage}"))
    differ = {k for k in main_job if main_job[k] != longer[k]}
    assert differ <= {"cache_root", "data", "train", "student", "optim"}
    assert longer["train"]["max_minutes"] > main_job["train"]["max_minutes"]
    optim = {1: {"lr", "freeze"}, 2: set()}[stage]
    for part, allowed in (("data", {"train"}), ("train", {"out_dir", "max_minutes", "ckpt_every"}),
                          ("student", {"init_from"}), ("optim", optim)):
        assert {k for k in main_job[part] if main_job[part][k] != longer[part][k]} <= allowed
    if stage == 1:
        assert longer["optim"]["lr"] == 8.0e-4 and longer["optim"]["freeze"] == []
