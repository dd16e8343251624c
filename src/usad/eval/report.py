"""Write probing results as JSON, a Markdown report and PNG plots (atomic writes).

Every score in the report carries its 95% bootstrap interval; a ranking is stated only where the intervals of the
two encoders do not overlap, and is otherwise written as "not distinguishable".
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from usad.eval.metrics import LOWER_IS_BETTER, display_value
from usad.eval.results import Results
from usad.io import atomic_write_bytes, atomic_write_text


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _ci(ci, metric: str | None = None) -> str:
    if ci is None:
        return ""
    lo, hi = sorted(display_value(metric, v) if metric else v for v in ci)
    return f" [{100 * lo:.1f}, {100 * hi:.1f}]"


def _ratio(v: float | None, ci) -> str:
    if v is None:
        return "-"
    return f"{v:.2f}" + ("" if ci is None else f" [{ci[0]:.2f}, {ci[1]:.2f}]")


def _kind(e) -> str:
    return f"teacher ({e.domain})" if e.kind == "teacher" else e.kind


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)] + ["| " + " | ".join(r) + " |" for r in rows]


def _compared(res: Results, a: str, b: str, domain: str) -> str:
    """'a - b [lo, hi] verdict' on a domain, x100, or '-' where either has no replicates."""
    cmp = res.compare(a, b, domain)
    if cmp is None:
        return "-"
    lo, hi = cmp["diff_ci95"]
    return f"{100 * cmp['diff']:+.1f} [{100 * lo:+.1f}, {100 * hi:+.1f}] {cmp['verdict']}"


def ranking(res: Results, domain: str) -> tuple[list[str], list[str], list[str]]:
    """(leaders, not distinguishable from the leader, distinguishably below it) on a domain average."""
    avg = res.domain_averages()
    names = [e.name for e in res.encoders if avg[e.name].get(domain) is not None]
    if not names:
        return [], [], []
    leader = max(names, key=lambda n: avg[n][domain])
    tied, below = [], []
    for n in sorted(names, key=lambda n: -avg[n][domain]):
        if n == leader:
            continue
        c = res.compare(leader, n, domain)
        (tied if c is None or c["verdict"] == "not distinguishable" else below).append(n)
    return [leader], tied, below


def markdown(res: Results) -> str:
    tasks, doms = res.tasks, res.domains()
    avg, rel, best = res.domain_averages(), res.relative_to_specialists(), res.best_specialists()
    lines = [f"# Probe results: {res.suite}", "",
             "Test scores x100 (phonemes: phone error rate, lower is better). Per task the headline is whichever of "
             "the learned weighted sum of layers (linear or MLP probe) and the best single layer is best on the "
             "validation split; learning rate chosen on valid; mean over seeds. `[lo, hi]`: 95% bootstrap interval "
             "over test items (k-fold tasks: over folds and items), paired across encoders. Two encoders are ranked "
             "only when their intervals do not overlap; otherwise they are *not distinguishable*.", ""]
    head = ["encoder", "kind"] + [f"{t.name} ({t.domain}, {t.metric})" for t in tasks]
    rows = []
    for e in res.encoders:
        row = [e.name, _kind(e)]
        for t in tasks:
            v = res.headline(e.name, t.name)
            row.append("-" if v is None else _pct(display_value(t.metric, v)) + _ci(res.task_ci(e.name, t.name),
                                                                                     t.metric))
        rows.append(row)
    lines += _table(head, rows)
    table = res.task_table()

    def n_items(t) -> str:
        row = table[t.name]
        if row.get("folds"):   # cross-validated: every item is a test item once
            return f"{sum((row.get('sizes') or {}).values()) or '?'} in {row['folds']} folds"
        return str(row.get("n_test", "?"))

    sizes = ", ".join(f"{t.name} {n_items(t)}" for t in tasks)
    lines += ["", f"Test items per task: {sizes}.", ""]

    lines += ["## Domain averages (x100; phonemes enter as 100 - PER) and the best specialist", ""]
    head = (["encoder", "kind"] + [f"{d}" for d in doms] + ["all tasks"] + [f"{d} / specialist" for d in doms])
    rows = []
    for e in res.encoders:
        row = [e.name, _kind(e)] + [_pct(avg[e.name][d]) + _ci(res.domain_ci(e.name, d)) for d in doms + ["all"]]
        row += [_ratio(rel[e.name][d], res.ratio_ci(e.name, d)) for d in doms]
        rows.append(row)
    lines += _table(head, rows)
    lines += [""] + [f"- best {d} specialist: {best[d] or 'none among the encoders (no teacher of that domain)'}"
                     for d in doms]
    lines += ["", "## Ranking per domain (by non-overlapping intervals)", ""]
    for d in doms + ["all"]:
        lead, tied, below = ranking(res, d)
        if lead:
            lines.append(f"- {d if d != 'all' else 'all tasks'}: **{lead[0]}**; not distinguishable from it: "
                         f"{', '.join(tied) or 'none'}; below it: {', '.join(below) or 'none'}")

    students = [e for e in res.encoders if e.kind == "student"]
    if students and any(res.controls_of(s.name) for s in students):
        lines += ["", "## What training added over the controls", "",
                  "Student minus control, domain average x100, with the paired 95% interval of the difference; the "
                  "verdict compares the two encoders' own intervals.", ""]
        head = ["student", "control"] + doms + ["all tasks"]
        rows = [[s.name, c] + [_compared(res, s.name, c, d) for d in doms + ["all"]]
                for s in students for c in res.controls_of(s.name)]
        lines += _table(head, rows)

    if 2 <= len(students) <= 4:   # e.g. stage 2 against the stage-1 student it started from
        lines += ["", "## Students against each other", "",
                  "Each student minus one listed before it, domain average x100, with the paired 95% interval of "
                  "the difference (same test items, same bootstrap replicates); the verdict compares the two "
                  "encoders' own intervals.", ""]
        head = ["student", "against"] + doms + ["all tasks"]
        rows = [[b.name, a.name] + [_compared(res, b.name, a.name, d) for d in doms + ["all"]]
                for i, a in enumerate(students) for b in students[i + 1:]]
        lines += _table(head, rows)

    if res.recovery:
        lines += ["", "## Teacher recovery (held-out test audio of the frame-level tasks)", "",
                  "R-squared of a ridge map from all of the encoder's layers to each teacher layer, frame by frame "
                  "(fitted on half of the files, scored on the other half); mean over the teacher's layers x100. "
                  "`cos` is the mean cosine of the predicted frames (always predicting the mean frame gives "
                  "`floor`).", ""]
        keys = sorted({(r["teacher"], r["task"]) for r in res.recovery})
        head = ["encoder"] + [f"{t} on {task}: R2 / cos (floor)" for t, task in keys]
        rows = []
        for e in [e for e in res.encoders if e.kind != "teacher"]:
            row = [e.name]
            for t, task in keys:
                got = [r for r in res.recovery if r["encoder"] == e.name and r["teacher"] == t and r["task"] == task]
                if not got:
                    row.append("-")
                    continue
                r2 = np.mean([r["r2"] for r in got])
                cos, floor = np.mean([r["cos"] for r in got]), np.mean([r["cos_floor"] for r in got])
                row.append(f"{100 * r2:.1f} / {cos:.3f} ({floor:.3f})")
            rows.append(row)
        lines += _table(head, rows)

    lines += ["", "## Best single layer (valid-selected linear probe; test x100)", ""]
    head = ["encoder"] + [t.name for t in tasks]
    rows = []
    for e in res.encoders:
        row = [e.name]
        for t in tasks:
            r = res.scores.get(e.name, {}).get(t.name)
            fits = next(iter(r.per_layer.values()), []) if r else []
            if fits:
                i = max(range(len(fits)), key=lambda k: fits[k].valid)
                row.append(f"{_pct(display_value(t.metric, fits[i].test))} (L{r.layers[i]})")
            else:
                row.append("-")
        rows.append(row)
    lines += _table(head, rows)
    if any(res.errors.values()):
        lines += ["", "## Errors", ""]
        for enc, by_task in res.errors.items():
            lines += [f"- {enc} / {task}: {msg}" for task, msg in by_task.items()]
    lines += ["", f"Protocol: `{json.dumps(res.protocol)}`", ""]
    return "\n".join(lines)


def colours(res: Results) -> dict[str, tuple]:
    """One colour per encoder, the same in every panel and plot of a report."""
    import matplotlib

    cmap = matplotlib.colormaps["tab10" if len(res.encoders) <= 10 else "tab20"]
    return {e.name: cmap(i % cmap.N) for i, e in enumerate(res.encoders)}


def _plot_scores(res: Results, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_t, n_e = len(res.tasks), len(res.encoders)
    col = colours(res)
    fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, 0.35 * n_t * max(1, n_e) + 2)), 5))  # readable, not a strip
    width = 0.8 / max(1, n_e)
    x = np.arange(n_t)
    for k, e in enumerate(res.encoders):
        vals, lo, hi = [], [], []
        for t in res.tasks:
            v = res.headline(e.name, t.name)
            ci = res.task_ci(e.name, t.name)
            vals.append(0.0 if v is None else 100 * v)
            lo.append(0.0 if ci is None or v is None else 100 * (v - ci[0]))
            hi.append(0.0 if ci is None or v is None else 100 * (ci[1] - v))
        ax.bar(x + k * width - 0.4 + width / 2, vals, width, yerr=[lo, hi], capsize=1.5, error_kw={"lw": 0.7},
               label=e.name, color=col[e.name])
    labels = [f"{t.name}\n({'100-PER' if t.metric in LOWER_IS_BETTER else t.metric})" for t in res.tasks]
    ax.set_xticks(x, labels, fontsize=8)
    ax.set_ylabel("test score x100 (95% interval)")
    ax.set_title("Probe scores per task (headline probe)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save_fig(fig, path)


def _plot_layers(res: Results, task: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    col = colours(res)
    metric = next(t.metric for t in res.tasks if t.name == task)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
    for e in res.encoders:
        r = res.scores.get(e.name, {}).get(task)
        if r is None:
            continue
        weights = next((f.layer_weights for f in r.weighted.values() if f.layer_weights), None)
        if weights:
            depth = [i / max(1, len(weights) - 1) for i in range(len(weights))]
            a1.plot(depth, weights, marker="o", label=e.name, color=col[e.name])
        fits = next(iter(r.per_layer.values()), [])
        d2 = [i / max(1, len(fits) - 1) for i in range(len(fits))]
        a2.plot(d2, [100 * display_value(metric, f.test) for f in fits], marker="o", label=e.name, color=col[e.name])
    a1.set(title=f"{task}: learned layer weights", xlabel="relative depth (0 = first layer)", ylabel="weight")
    a2.set(title=f"{task}: single-layer linear probe", xlabel="relative depth",
           ylabel=("PER x100" if metric in LOWER_IS_BETTER else "test score x100"))
    a2.legend(fontsize=7)
    fig.tight_layout()
    _save_fig(fig, path)


def _save_fig(fig, path: Path) -> None:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buf.getvalue())


def write_report(res: Results, out_dir: str | Path, plots: bool = True) -> dict[str, Path]:
    """Write results.json, bootstrap.npz (replicates), report.md and (if ``plots``) plots/*.png under
    ``out_dir``; return the paths."""
    import io

    out = Path(out_dir)
    paths = {"json": out / "results.json", "markdown": out / "report.md", "bootstrap": out / "bootstrap.npz"}
    atomic_write_text(paths["json"], json.dumps(res.to_dict(), indent=1))
    buf = io.BytesIO()
    np.savez_compressed(buf, **{f"{e}|{t}": r for e, by in res.replicates.items() for t, r in by.items()})
    atomic_write_bytes(paths["bootstrap"], buf.getvalue())
    atomic_write_text(paths["markdown"], markdown(res))
    if plots and res.tasks and res.encoders:
        paths["scores_png"] = out / "plots" / "scores.png"
        _plot_scores(res, paths["scores_png"])
        for t in res.tasks:
            p = out / "plots" / f"layers_{t.name}.png"
            _plot_layers(res, t.name, p)
            paths[f"layers_{t.name}"] = p
    return paths
