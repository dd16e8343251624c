"""Write probing results as JSON, a Markdown table and PNG plots (atomic writes)."""
from __future__ import annotations

import json
import os
from pathlib import Path

from usad.eval.results import Results


def _atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def _fmt(v: float | None, pct: bool = True) -> str:
    if v is None:
        return "-"
    return f"{100 * v:.1f}" if pct else f"{v:.2f}"


def markdown(res: Results) -> str:
    tasks = res.tasks
    lines = [f"# Probe results: {res.suite}", "",
             "Headline per task: learned softmax-weighted sum of all layers, probe kind and learning rate chosen "
             "on valid, mean test score over seeds (x100). Metric per task in the header.", ""]
    head = ["encoder"] + [f"{t.name} ({t.domain}, {t.metric})" for t in tasks]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in res.encoders:
        row = [e.name] + [_fmt(res.headline(e.name, t.name)) for t in tasks]
        lines.append("| " + " | ".join(row) + " |")
    avg, rel, best = res.domain_averages(), res.relative_to_specialists(), res.best_specialists()
    doms = res.domains()
    lines += ["", "## Domain averages (x100) and score relative to the best specialist teacher", ""]
    head = ["encoder", "kind"] + [f"{d} avg" for d in doms] + ["all avg"] + [f"{d} / specialist" for d in doms]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in res.encoders:
        kind = e.kind if e.kind == "student" else f"teacher ({e.domain})"
        row = [e.name, kind] + [_fmt(avg[e.name][d]) for d in doms] + [_fmt(avg[e.name]["all"])]
        row += [_fmt(rel[e.name][d], pct=False) for d in doms]
        lines.append("| " + " | ".join(row) + " |")
    lines += [""] + [f"- best {d} specialist: {best[d] or 'none among the encoders (no teacher of that domain)'}"
                     for d in doms]
    lines += ["", "## Best single layer (valid-selected linear probe; test x100)", ""]
    head = ["encoder"] + [t.name for t in tasks]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in res.encoders:
        row = [e.name]
        for t in tasks:
            r = res.scores.get(e.name, {}).get(t.name)
            fits = next(iter(r.per_layer.values()), []) if r else []
            if fits:
                i = max(range(len(fits)), key=lambda k: fits[k].valid)
                row.append(f"{_fmt(fits[i].test)} (L{r.layers[i]})")
            else:
                row.append("-")
        lines.append("| " + " | ".join(row) + " |")
    if any(res.errors.values()):
        lines += ["", "## Errors", ""]
        for enc, by_task in res.errors.items():
            lines += [f"- {enc} / {task}: {msg}" for task, msg in by_task.items()]
    lines += ["", f"Protocol: `{json.dumps(res.protocol)}`", ""]
    return "\n".join(lines)


def _plot_scores(res: Results, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    n_t, n_e = len(res.tasks), len(res.encoders)
    fig, ax = plt.subplots(figsize=(min(16.0, max(6.0, 0.35 * n_t * max(1, n_e) + 2)), 5))  # readable, not a strip
    width = 0.8 / max(1, n_e)
    x = np.arange(n_t)
    for k, e in enumerate(res.encoders):
        vals = [res.headline(e.name, t.name) for t in res.tasks]
        ax.bar(x + k * width - 0.4 + width / 2, [100 * (v or 0) for v in vals], width, label=e.name)
    ax.set_xticks(x, [f"{t.name}\n({t.metric})" for t in res.tasks], fontsize=8)
    ax.set_ylabel("test score x100")
    ax.set_title("Probe scores per task (weighted sum of layers)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    _save_fig(fig, path)


def _plot_layers(res: Results, task: str, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
    for e in res.encoders:
        r = res.scores.get(e.name, {}).get(task)
        if r is None:
            continue
        depth = [i / max(1, len(r.weighted_layers) - 1) for i in range(len(r.weighted_layers))]
        if r.headline.layer_weights:
            a1.plot(depth, r.headline.layer_weights, marker="o", label=e.name)
        fits = next(iter(r.per_layer.values()), [])
        d2 = [i / max(1, len(fits) - 1) for i in range(len(fits))]
        a2.plot(d2, [100 * f.test for f in fits], marker="o", label=e.name)
    a1.set(title=f"{task}: learned layer weights", xlabel="relative depth (0 = first layer)", ylabel="weight")
    a2.set(title=f"{task}: single-layer linear probe", xlabel="relative depth", ylabel="test score x100")
    a1.legend(fontsize=7)
    fig.tight_layout()
    _save_fig(fig, path)


def _save_fig(fig, path: Path) -> None:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    _atomic_write(path, buf.getvalue())


def write_report(res: Results, out_dir: str | Path, plots: bool = True) -> dict[str, Path]:
    """Write results.json, report.md and (if ``plots``) plots/*.png under ``out_dir``; return the paths."""
    out = Path(out_dir)
    paths = {"json": out / "results.json", "markdown": out / "report.md"}
    _atomic_write(paths["json"], json.dumps(res.to_dict(), indent=2))
    _atomic_write(paths["markdown"], markdown(res))
    if plots and res.tasks and res.encoders:
        paths["scores_png"] = out / "plots" / "scores.png"
        _plot_scores(res, paths["scores_png"])
        for t in res.tasks:
            p = out / "plots" / f"layers_{t.name}.png"
            _plot_layers(res, t.name, p)
            paths[f"layers_{t.name}"] = p
    return paths
