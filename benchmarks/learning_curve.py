"""Learning curve of stage 1: probe scores (with 95% intervals), PER and teacher recovery against the training
budget, the students beside their random-init control, the spectral statistics and the teachers.

    python benchmarks/learning_curve.py --budgets 3,10,30,90 --out runs/curve          # ~2.5 h on 2 CPU cores
    python benchmarks/learning_curve.py --steps 30,100,300,600 --out runs/curve        # budgets in steps
    python benchmarks/learning_curve.py --budgets 3,10 --set loss.target_norm=none --out runs/curve-raw

Each budget is its own stage-1 run of the recipe (default: the main job's ``cpu-stage1``) with
``train.max_minutes`` (or, with ``--steps``, ``train.max_steps``) set to it, so the learning rate decays over that
budget as it would in a real run of that length; a run folder that already holds a finished run is reused. The corpus and teacher caches are the main job's (``usad demo`` builds them; so does this script). All
students and controls are probed in one suite run (teacher features are computed once). Writes
``OUT/curve.json``, ``OUT/curve.md`` (tables) and ``OUT/curve.png`` (domain averages and PER against minutes,
with intervals), and per layer what each student holds relative to the random init.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from stage1_runs import add_run_arguments, final_losses, load_runs, train_and_probe
from usad.cli import comma_list
from usad.encoders import parse_spec
from usad.eval.metrics import display_value


def _label(budget: float, unit: str) -> str:
    return f"student {budget:g} {unit}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--budgets", type=comma_list(float), default=None,
                   help="stage-1 minutes per point (default 3,10,30,90)")
    p.add_argument("--steps", type=comma_list(int), default=None,
                   help="stage-1 optimiser steps per point instead of minutes (independent of machine load)")
    p.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    add_run_arguments(p, out="runs/curve")
    args = p.parse_args(argv)
    if args.budgets and args.steps:
        raise SystemExit("give --budgets (minutes) or --steps, not both")
    out = Path(args.out)
    if args.steps:
        unit, budgets = "steps", [float(n) for n in args.steps]
        runs = load_runs(args, {f"stage1-{n}steps": [f"train.max_steps={n}", "train.max_minutes=null",
                                                      "optim.decay_over=steps"] + args.overrides
                                for n in args.steps})
    else:
        unit, budgets = "min", args.budgets or [3.0, 10.0, 30.0, 90.0]
        runs = load_runs(args, {f"stage1-{m:g}min": [f"train.max_minutes={m}"] + args.overrides for m in budgets})
    labels = {n: _label(b, unit) for n, b in zip(runs, budgets)}
    res = train_and_probe(args, runs, labels=labels)
    done = {labels[n]: json.loads((Path(c.train.out_dir) / "done.json").read_text()) for n, c in runs.items()}
    curve = _curve(res, {labels[n]: b for n, b in zip(runs, budgets)}, done, unit)
    curve["losses"] = {labels[n]: final_losses(Path(c.train.out_dir)) for n, c in runs.items()}
    (out / "curve.json").write_text(json.dumps(curve, indent=1))
    (out / "curve.md").write_text(_markdown(curve))
    _plot(curve, out / "curve.png")
    print(_markdown(curve))
    return 0


def _curve(res, budgets: dict[str, float], done: dict[str, dict], unit: str) -> dict:
    doms = res.domains() + ["all"]
    per_tasks = [t.name for t in res.tasks if t.metric == "per"]
    rows = []
    names = [e.name for e in res.encoders]
    for e in names:
        row = {"encoder": e, "kind": res.entry(e).kind,
               "domains": {d: {"score": res.domain_averages()[e][d], "ci95": res.domain_ci(e, d)} for d in doms},
               "per": {t: {"score": display_value("per", res.headline(e, t)),
                           "ci95": sorted(display_value("per", v) for v in res.task_ci(e, t))} for t in per_tasks},
               "ratio": {d: res.relative_to_specialists()[e].get(d) for d in res.domains()}}
        rec = [r["r2"] for r in res.recovery if r["encoder"] == e]
        row["recovery_r2"] = {t: float(np.mean([r["r2"] for r in res.recovery if r["encoder"] == e
                                                and r["teacher"] == t])) for t in
                              sorted({r["teacher"] for r in res.recovery})} if rec else {}
        if e in budgets:
            secs = done[e].get("seconds")
            row.update(budget=budgets[e], steps=done[e]["step"],
                       minutes=round(secs / 60, 1) if secs is not None else None)
        rows.append(row)
    control = next((e.name for e in res.encoders if parse_spec(e.spec).kind == "random"), None)
    layers = {}
    if control:
        for s in budgets:
            layers[s] = {t.name: [round(100 * (display_value(t.metric, a.test) - display_value(t.metric, b.test)), 1)
                                  for a, b in zip(res.scores[s][t.name].per_layer["linear"],
                                                  res.scores[control][t.name].per_layer["linear"])]
                         for t in res.tasks}
    return {"rows": rows, "domains": doms, "per_tasks": per_tasks, "random_init": control, "unit": unit,
            "layer_minus_random_init": layers,
            "verdicts": {s: {d: res.compare(s, control, d) for d in doms} for s in budgets} if control else {}}


def _fmt(s) -> str:
    if s["score"] is None:
        return "-"
    ci = s.get("ci95")
    return f"{100 * s['score']:.1f}" + (f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]" if ci else "")


def _markdown(curve: dict) -> str:
    doms, per = curve["domains"], curve["per_tasks"]
    head = ["encoder", "steps", "minutes"] + doms + [f"{t} PER" for t in per] + ["recovery R2 (per teacher)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in curve["rows"]:
        rec = ", ".join(f"{t} {100 * v:.0f}" for t, v in r["recovery_r2"].items()) or "-"
        lines.append("| " + " | ".join([r["encoder"], str(r.get("steps", "-")), str(r.get("minutes") or "-")]
                                       + [_fmt(r["domains"][d]) for d in doms]
                                       + [_fmt(r["per"][t]) for t in per] + [rec]) + " |")
    if curve["verdicts"]:
        lines += ["", f"Student vs {curve['random_init']} (difference of domain averages, paired 95% interval):", ""]
        for s, by in curve["verdicts"].items():
            lines.append(f"- {s}: " + "; ".join(
                f"{d} {100 * c['diff']:+.1f} [{100 * c['diff_ci95'][0]:+.1f}, {100 * c['diff_ci95'][1]:+.1f}] "
                f"{c['verdict']}" for d, c in by.items() if c))
    if curve.get("losses"):
        lines += ["", "Final training loss per teacher (floor = loss of predicting the mean frame):", ""]
        for s, by in curve["losses"].items():
            lines.append(f"- {s}: " + ", ".join(f"{t} {v['loss']:.3f}" + (f" (floor {v['floor']:.3f})"
                                                                           if v.get("floor") else "")
                                                for t, v in by.items()))
    if curve["layer_minus_random_init"]:
        lines += ["", "Single-layer linear probe, student minus random init (x100, layer 0 = front end):", ""]
        for s, by in curve["layer_minus_random_init"].items():
            lines.append(f"- {s}: " + "; ".join(f"{t} {v}" for t, v in by.items()))
    return "\n".join(lines) + "\n"


def _plot(curve: dict, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = curve["domains"] + [f"{t} PER" for t in curve["per_tasks"]]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.4 * len(panels), 3.3), squeeze=False)
    students = [r for r in curve["rows"] if "budget" in r]
    others = [r for r in curve["rows"] if "budget" not in r]
    cmap = matplotlib.colormaps["tab10"]
    for ax, panel in zip(axes[0], panels):
        key = ("per", panel[:-4]) if panel.endswith(" PER") else ("domains", panel)
        xs = [r["budget"] for r in students]
        ys = [100 * r[key[0]][key[1]]["score"] for r in students]
        lo = [100 * r[key[0]][key[1]]["ci95"][0] for r in students]
        hi = [100 * r[key[0]][key[1]]["ci95"][1] for r in students]
        ax.plot(xs, ys, "o-", color="k", label="student")
        ax.fill_between(xs, lo, hi, color="k", alpha=0.15)
        for i, r in enumerate(others):
            s = r[key[0]][key[1]]
            if s["score"] is None:
                continue
            ax.axhline(100 * s["score"], color=cmap(i), ls="--", lw=1, label=r["encoder"])
            ax.axhspan(100 * s["ci95"][0], 100 * s["ci95"][1], color=cmap(i), alpha=0.08)
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{x:g}" for x in xs])
        ax.minorticks_off()
        xlabel = "stage-1 steps" if curve["unit"] == "steps" else "stage-1 minutes (2 CPU cores)"
        ax.set(title=panel, xlabel=xlabel, ylabel="x100")
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


if __name__ == "__main__":
    sys.exit(main())
