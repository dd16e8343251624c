"""Group splits are deterministic and never put one group in two splits."""
from __future__ import annotations

from usad.corpus.splits import kfold_within_classes, split_counts, split_groups, split_within_classes


def test_split_groups_is_deterministic_and_covers_every_split():
    groups = [f"g{i}" for i in range(20)]
    a, b = split_groups(groups, seed=3), split_groups(list(reversed(groups)), seed=3)
    assert a == b
    assert set(a.values()) == {"train", "valid", "test"}
    assert sum(v == "test" for v in a.values()) == 3


def test_different_seed_gives_a_different_split():
    groups = [f"g{i}" for i in range(40)]
    assert split_groups(groups, 0) != split_groups(groups, 1)


def test_split_within_classes_puts_every_class_in_every_split():
    items = [(c, f"{c}-{k}") for c in ("a", "b", "c") for k in range(6)]
    out = split_within_classes(items, seed=0)
    for c in ("a", "b", "c"):
        assert {s for (cls, _), s in out.items() if cls == c} == {"train", "valid", "test"}


def test_split_counts_gives_exact_numbers():
    out = split_counts([f"g{i}" for i in range(10)], seed=0, n_valid=2, n_test=3)
    assert sorted(out.values()).count("test") == 3 and list(out.values()).count("valid") == 2


def test_kfold_keeps_groups_whole_and_spreads_each_class_over_folds():
    items = [(c, f"{c}-{g}") for c in ("a", "b", "c") for g in range(4) for _ in range(1 + g % 2)]
    folds = kfold_within_classes(items, seed=0, k=5)
    assert set(folds) == {g for _, g in items}                      # one fold per group
    for c in ("a", "b", "c"):
        assert len({folds[g] for cls, g in items if cls == c}) >= 3
    assert kfold_within_classes(list(reversed(items)), seed=0, k=5) == folds
