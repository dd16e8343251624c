"""Deterministic splits by group (speaker, prompt, track, score, instrument, sound group) so nothing leaks:
train/valid/test by fractions or exact counts, and stratified k-fold assignment for cross-validated tasks."""
from __future__ import annotations

from collections import Counter, defaultdict
from typing import Iterable

from .clip import stable_hash

SPLITS = ("train", "valid", "test")


def _ordered(groups: Iterable[str], seed: int) -> list[str]:
    return sorted(set(groups), key=lambda g: (stable_hash(seed, "split", g), g))


def split_groups(groups: Iterable[str], seed: int, valid: float = 0.15, test: float = 0.15) -> dict[str, str]:
    """Map each distinct group to a split. Groups are ordered by a seeded hash and cut by the fractions; with
    three or more groups every split gets at least one."""
    uniq = _ordered(groups, seed)
    n = len(uniq)
    n_test = max(1, round(n * test)) if n >= 3 else (1 if n == 2 else 0)
    n_valid = max(1, round(n * valid)) if n >= 3 else 0
    return split_counts(uniq, seed, n_valid, n_test)


def split_counts(groups: Iterable[str], seed: int, n_valid: int, n_test: int) -> dict[str, str]:
    """Exactly ``n_test`` groups to test and ``n_valid`` to valid (seeded order), the rest to train."""
    out = {}
    for i, g in enumerate(_ordered(groups, seed)):
        out[g] = "test" if i < n_test else ("valid" if i < n_test + n_valid else "train")
    return out


def split_within_classes(items: list[tuple[str, str]], seed: int, valid: float = 0.15,
                         test: float = 0.15) -> dict[tuple[str, str], str]:
    """``items`` are (class, group) pairs: split the groups of each class separately, so every class reaches every
    split (speaker ID: each speaker's utterances are split, grouped by utterance content)."""
    by_class: dict[str, list[str]] = defaultdict(list)
    for cls, grp in items:
        by_class[cls].append(grp)
    out = {}
    for cls, grps in by_class.items():
        for g, s in split_groups(grps, stable_hash(seed, cls), valid, test).items():
            out[(cls, g)] = s
    return out


def fold_name(i: int) -> str:
    return f"fold{i:02d}"


def kfold_within_classes(items: list[tuple[str, str]], seed: int, k: int = 5) -> dict[str, str]:
    """Stratified group k-fold: ``items`` are (class, group) pairs, one per clip; returns group -> "fold00".. .

    A group never spans two folds. Within a class, groups (largest first, ties in seeded order) go to the fold
    holding the fewest clips of that class so far (then the fewest clips overall), so a class with >= 3 groups
    lies in >= 3 folds and therefore reaches the training folds of every rotation (fold i test, i+1 valid)."""
    size = Counter(items)
    by_class: dict[str, list[str]] = defaultdict(list)
    for cls, grp in sorted(size):
        by_class[cls].append(grp)
    fold_total = [0] * k
    out: dict[str, str] = {}
    for cls in sorted(by_class, key=lambda c: (stable_hash(seed, "kfold-class", c), c)):
        in_fold = [0] * k
        start = stable_hash(seed, "kfold-start", cls) % k
        groups = sorted(by_class[cls], key=lambda g: (-size[(cls, g)], stable_hash(seed, "kfold", g), g))
        for g in groups:
            if g in out:          # a group shared by two classes keeps its first fold
                continue
            f = min(range(k), key=lambda i: (in_fold[i], fold_total[i], (i - start) % k))
            out[g] = fold_name(f)
            in_fold[f] += size[(cls, g)]
            fold_total[f] += size[(cls, g)]
    return out


def take_balanced(items: list, key, per_class: int | None, seed: int, ident=lambda it: it.clip.id) -> list:
    """At most ``per_class`` items per ``key(item)``, chosen by a seeded hash of ``ident(item)`` (a stable id)."""
    if per_class is None:
        return list(items)
    by: dict[str, list] = defaultdict(list)
    for it in items:
        by[key(it)].append(it)
    out = []
    for k in sorted(by):
        ranked = sorted(by[k], key=lambda it: stable_hash(seed, "take", ident(it)))
        out += ranked[:per_class]
    return out
