"""Target statistics and constant-prediction floors: computed from a feature cache, applied to targets, saved
with the run and reloaded on resume; the console line shows each teacher's loss beside its floor."""
import math
import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).parent))
from distill_fixtures import tiny_config, write_corpus  # noqa: E402

from usad.distill.config import load_config  # noqa: E402
from usad.distill.loss import l1_cos_frames  # noqa: E402
from usad.distill.target_stats import STATS_FILE, TargetStats, from_cache  # noqa: E402
from usad.teachers import load_teacher  # noqa: E402
from usad.teachers.cache import CachedTeacher, build_cache  # noqa: E402


def _cached(tmp_path):
    manifest = write_corpus(tmp_path / "corpus")
    teacher = load_teacher("test:8x2@50")
    build_cache(teacher, manifest, tmp_path / "cache", layers=[1, 2], progress=False)
    cached = CachedTeacher(tmp_path / "cache", teacher.info)
    frames = {l: torch.cat([cached._handle(s).get_slice(f"{cid}/{l}")[:n].float()
                            for cid, (s, n) in cached.index["clips"].items()]) for l in (1, 2)}
    return manifest, cached, frames


def test_statistics_from_the_cache_standardise_the_targets_and_give_the_floor(tmp_path):
    _, cached, frames = _cached(tmp_path)
    st = from_cache("standardize", {"t": (cached, [1, 2])})
    for l in (1, 2):
        s = st.stats["t"][l]
        assert torch.allclose(s.mean, frames[l].mean(0), atol=1e-4)
        assert torch.allclose(s.std, frames[l].std(0, unbiased=False), rtol=1e-3)
        z = st.apply("t", l, frames[l][None])[0]
        assert torch.allclose(z.mean(0), torch.zeros(8), atol=1e-3) and torch.allclose(z.std(0), torch.ones(8),
                                                                                           atol=0.02)
    # floor of predicting the mean (the zero vector once standardised): mean |z| + log 2 (cosine 0)
    z = [st.apply("t", l, frames[l][None])[0] for l in (1, 2)]
    want = sum(float(x.abs().mean()) + math.log(2) for x in z) / 2
    assert st.floor["t"] == pytest.approx(want, rel=0.02)
    raw = from_cache("none", {"t": (cached, [1, 2])})
    assert torch.equal(raw.apply("t", 1, frames[1]), frames[1])       # "none" leaves targets as they are
    want_raw = float(l1_cos_frames(raw.stats["t"][1].mean.expand_as(frames[1]), frames[1]).mean())
    want_raw = (want_raw + float(l1_cos_frames(raw.stats["t"][2].mean.expand_as(frames[2]), frames[2]).mean())) / 2
    assert raw.floor["t"] == pytest.approx(want_raw, rel=0.02)


def test_a_standardised_run_saves_its_statistics_logs_floors_and_reloads_them(tmp_path, capsys):
    from usad.distill.trainer import train

    manifest = write_corpus(tmp_path / "corpus")
    cfg = tiny_config(manifest, tmp_path / "run", max_steps=3, ckpt_every=3)
    cfg["loss"] = {"target_norm": "standardize", "stats_batches": 2}
    train(load_config(cfg))
    out = capsys.readouterr().out
    assert "(floor " in out
    first = TargetStats.load(tmp_path / "run")
    assert first.norm == "standardize" and set(first.floor) == {"test:16x4@25:speech", "test:8x2@100:music"}
    assert (tmp_path / "run" / "heads" / STATS_FILE).is_file()
    cfg["train"]["max_steps"] = 5   # resume: the saved statistics are used, not recomputed
    (tmp_path / "run" / STATS_FILE).touch()
    stamp = (tmp_path / "run" / STATS_FILE).stat().st_mtime_ns
    train(load_config(cfg))
    again = TargetStats.load(tmp_path / "run")
    assert again.floor == first.floor and (tmp_path / "run" / STATS_FILE).stat().st_mtime_ns == stamp
