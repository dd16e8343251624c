"""Compare variants of a distillation recipe at one budget: train each, probe them together beside their controls
and the teachers, and rank them on the *validation* splits (choose on valid; test is reported, not used).

    python benchmarks/recipe_trials.py --out runs/trials --steps 300 \\
        --variant "raw=loss.target_norm=none" --variant "std=" \\
        --variant "fbank=teachers.3={name: fbank, domain: any, mapping: '1:1'}"

A variant is ``NAME=OVERRIDES`` with overrides separated by ``;`` (values are YAML and may contain commas). The
budget is either ``--steps`` (the LR decays over the steps; results do not depend on how busy the machine is) or
``--minutes`` (a wall-clock budget, as the main job uses). Writes ``OUT/trials.json`` and ``OUT/trials.md``: per
variant the validation domain averages (what a choice may use), the test domain averages with 95% intervals and
the verdict against the random-init control, and the final loss of each teacher beside its floor.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from stage1_runs import add_run_arguments, final_losses, load_runs, train_and_probe
from usad.encoders import parse_spec


def parse_variant(text: str) -> tuple[str, list[str]]:
    name, sep, rest = text.partition("=")
    if not sep or not name:
        raise SystemExit(f"--variant takes NAME=OVERRIDES (overrides separated by ';'), got {text!r}")
    return name, [o.strip() for o in rest.split(";") if o.strip()]


def valid_domain_averages(res, name: str) -> dict[str, float]:
    out = {}
    for d in res.domains() + ["all"]:
        vals = [res.scores[name][t.name].headline.valid for t in res.tasks if d == "all" or t.domain == d]
        out[d] = float(np.mean(vals))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--variant", action="append", required=True, type=parse_variant)
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--minutes", type=float, default=None)
    p.add_argument("--baseline", action="append", default=[], metavar="NAME=SPEC",
                   help="an encoder probed beside the variants, each variant compared with it per domain (e.g. "
                        "the stage-1 student a stage-2 variant starts from: before=student:runs/x/student)")
    add_run_arguments(p, out="runs/trials")
    args = p.parse_args(argv)
    if (args.steps is None) == (args.minutes is None):
        raise SystemExit("give exactly one of --steps and --minutes")
    budget = ([f"train.max_steps={args.steps}", "train.max_minutes=null", "optim.decay_over=steps"]
              if args.steps else [f"train.max_minutes={args.minutes}"])
    out = Path(args.out)
    configs = load_runs(args, {n: budget + o for n, o in args.variant})
    baselines = dict(b.split("=", 1) for b in args.baseline)
    res = train_and_probe(args, configs, extra=baselines)
    rows = {}
    for n, c in configs.items():
        done = json.loads((Path(c.train.out_dir) / "done.json").read_text())
        controls = res.controls_of(n)
        random_init = next((x for x in controls if parse_spec(res.entry(x).spec).kind == "random"), None)
        rows[n] = {"overrides": dict(args.variant)[n], "steps": done["step"], "seconds": done.get("seconds"),
                   "valid": valid_domain_averages(res, n),
                   "test": {d: {"score": res.domain_averages()[n][d], "ci95": res.domain_ci(n, d)}
                            for d in res.domains() + ["all"]},
                   "vs_random_init": {d: res.compare(n, random_init, d) for d in res.domains() + ["all"]}
                   if random_init else {},
                   "sequence_tasks_vs_random_init": {t.name: res.compare_task(n, random_init, t.name)
                                                     for t in res.tasks if t.embedding_type == "sequence"}
                   if random_init else {},   # error-rate tasks (PER) on their own
                   "vs_baselines": {b: {d: res.compare(n, b, d) for d in res.domains() + ["all"]}
                                    for b in baselines},
                   "ratio": res.relative_to_specialists()[n], "losses": final_losses(Path(c.train.out_dir))}
    others = {e.name: {"valid": valid_domain_averages(res, e.name),
                       "test": {d: {"score": res.domain_averages()[e.name][d], "ci95": res.domain_ci(e.name, d)}
                                for d in res.domains() + ["all"]}}
              for e in res.encoders if e.name not in configs}
    data = {"recipe": args.recipe, "budget": budget, "variants": rows, "references": others,
            "domains": res.domains() + ["all"]}
    (out / "trials.json").write_text(json.dumps(data, indent=1))
    (out / "trials.md").write_text(markdown(data))
    print(markdown(data))
    return 0


def _s(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _ci(x) -> str:
    return _s(x["score"]) + ("" if not x.get("ci95") else f" [{_s(x['ci95'][0])}, {_s(x['ci95'][1])}]")


def _diff(c: dict) -> str:
    """A paired comparison: difference x100, its 95% interval and the verdict."""
    return (f"{100 * c['diff']:+.1f} [{100 * c['diff_ci95'][0]:+.1f}, {100 * c['diff_ci95'][1]:+.1f}] "
            f"{c['verdict']}")


def markdown(data: dict) -> str:
    doms = data["domains"]
    lines = [f"Recipe `{data['recipe']}`, budget `{' '.join(data['budget'])}`.", "",
             "Validation domain averages (x100; the basis of any choice):", "",
             "| variant | steps | " + " | ".join(doms) + " |", "|" + "---|" * (len(doms) + 2)]
    for n, r in data["variants"].items():
        lines.append(f"| {n} | {r['steps']} | " + " | ".join(_s(r["valid"][d]) for d in doms) + " |")
    for n, r in data["references"].items():
        lines.append(f"| {n} | - | " + " | ".join(_s(r["valid"][d]) for d in doms) + " |")
    lines += ["", "Test domain averages (x100, 95% intervals) and the difference to the random-init control:", "",
              "| variant | " + " | ".join(doms) + " | vs random-init (all tasks) |", "|" + "---|" * (len(doms) + 2)]
    for n, r in data["variants"].items():
        c = r["vs_random_init"].get("all")
        vs = _diff(c) if c else "-"
        lines.append(f"| {n} | " + " | ".join(_ci(r["test"][d]) for d in doms) + f" | {vs} |")
    for n, r in data["references"].items():
        lines.append(f"| {n} | " + " | ".join(_ci(r["test"][d]) for d in doms) + " | |")
    lines += ["", "Per domain against the random-init control (paired 95% interval of the difference) and as a "
              "fraction of the best specialist:", ""]
    for n, r in data["variants"].items():
        lines.append(f"- {n}: " + "; ".join(
            f"{d} {_diff(c)}" + (f", {r['ratio'][d]:.2f} of the specialist" if r.get("ratio", {}).get(d) else "")
            for d, c in r["vs_random_init"].items() if c))
        for t, c in r.get("sequence_tasks_vs_random_init", {}).items():   # error rates enter as 1 - rate
            if c:
                lines.append(f"  - {t} (1 - error rate): {_diff(c)}")
    for n, r in data["variants"].items():
        for b, by in r.get("vs_baselines", {}).items():
            lines.append(f"- {n} vs {b}: " + "; ".join(
                f"{d} {_diff(c)}" for d, c in by.items() if c))
    lines += ["", "Final training loss per teacher (floor = loss of predicting the mean frame):", ""]
    for n, r in data["variants"].items():
        lines.append(f"- {n} (`{'; '.join(r['overrides']) or 'recipe as is'}`): " + ", ".join(
            f"{t} {v['loss']:.3f}" + (f" (floor {v['floor']:.3f})" if v.get("floor") else "")
            for t, v in r["losses"].items()))
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
