"""The demo's verdict: the student against the best specialist teacher per domain and against its controls,
measured with 95% bootstrap intervals, not assumed."""
from __future__ import annotations

from usad.encoders import parse_spec
from usad.eval.results import Results

GOAL_FRACTION = 0.9   # the student keeps at least 90% of the best specialist in every domain


def _score(res: Results, name: str, domain: str) -> dict:
    return {"score": res.domain_averages()[name][domain], "ci95": res.domain_ci(name, domain)}


def goal_summary(results: Results, student: str = "student") -> dict:
    """Per domain: the student's average with its interval, the best specialist's, their ratio (with interval) and
    whether it meets the goal; the student against each control; overall: the student's all-task average against
    every teacher's; per task: every encoder's score and interval; teacher recovery."""
    res = results
    avg, best = res.domain_averages(), res.best_specialists()
    teachers = [e.name for e in res.encoders if e.kind == "teacher"]
    controls = res.controls_of(student)
    kinds = {c: parse_spec(res.entry(c).spec).kind for c in controls}
    random_init = next((c for c in controls if kinds[c] == "random"), None)
    spectral = next((c for c in controls if kinds[c] == "spectral"), None)
    domains = {}
    for d in res.domains():
        ref = best[d]
        mine, theirs = avg[student][d], (avg[ref][d] if ref else None)
        ratio = None if (mine is None or not theirs) else mine / theirs
        domains[d] = {"student": mine, "student_ci95": res.domain_ci(student, d), "best_specialist": ref,
                      "specialist_score": theirs, "specialist_ci95": res.domain_ci(ref, d) if ref else None,
                      "ratio": ratio, "ratio_ci95": res.ratio_ci(student, d),
                      "meets_goal": None if ratio is None else ratio >= GOAL_FRACTION,
                      "vs_random_init": res.compare(student, random_init, d) if random_init else None,
                      "vs_spectral": res.compare(student, spectral, d) if spectral else None}
    teacher_all = {t: avg[t]["all"] for t in teachers}
    best_teacher = max((t for t in teachers if teacher_all[t] is not None), key=lambda t: teacher_all[t],
                       default=None)
    student_all = avg[student]["all"]
    beats_all = None
    if student_all is not None and best_teacher is not None:
        beats_all = student_all > teacher_all[best_teacher]
    tasks = res.task_table()
    per_tasks = [t.name for t in res.tasks if t.metric == "per"]
    vs_random_tasks = {t: res.compare_task(student, random_init, t) for t in per_tasks} if random_init else {}
    goals = {
        "beats_random_init_every_domain": None if not random_init else all(
            (domains[d]["vs_random_init"] or {}).get("verdict") == "higher" for d in domains),
        "beats_random_init_on_per": None if not (random_init and per_tasks) else all(
            (vs_random_tasks[t] or {}).get("verdict") == "higher" for t in per_tasks),
        "keeps_fraction_every_domain": None if any(domains[d]["ratio"] is None for d in domains) else all(
            domains[d]["meets_goal"] for d in domains),
        "beats_every_teacher_all_tasks": beats_all,
    }
    recovery: dict[str, dict[str, dict[str, float]]] = {}
    for r in res.recovery:
        recovery.setdefault(r["encoder"], {}).setdefault(r["teacher"], {}).setdefault(r["task"], []).append(r["r2"])
    recovery = {e: {t: {task: sum(v) / len(v) for task, v in by.items()} for t, by in ts.items()}
                for e, ts in recovery.items()}
    return {"goal_fraction": GOAL_FRACTION, "domains": domains, "student_all": student_all,
            "student_all_ci95": res.domain_ci(student, "all"),
            "teacher_all": teacher_all, "best_teacher_all": best_teacher, "beats_every_teacher": beats_all,
            "encoders_all": {e.name: avg[e.name]["all"] for e in res.encoders},
            "encoders_all_ci95": {e.name: res.domain_ci(e.name, "all") for e in res.encoders},
            "controls": {c: {"domains": {d: _score(res, c, d) for d in res.domains()}, "all": _score(res, c, "all")}
                         for c in controls},
            "per_vs_random_init": vs_random_tasks, "goals": goals, "tasks": tasks,
            "recovery_r2": recovery}


def _f(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _ci(ci) -> str:
    return "" if not ci else f" [{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def format_summary(summary: dict) -> str:
    """A plain-text table for the console: scores with 95% intervals, verdicts only where intervals allow."""
    lines = ["domain   student (95% CI)        best specialist (95% CI)             ratio (95% CI)      "
             "goal (>= 0.90)  vs random-init              vs spectral stats"]
    for d, r in summary["domains"].items():
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        if r["ratio_ci95"]:
            ratio += f" [{r['ratio_ci95'][0]:.2f}, {r['ratio_ci95'][1]:.2f}]"
        goal = {True: "met", False: "NOT met", None: "n/a (no specialist)"}[r["meets_goal"]]
        vs = []
        for key in ("vs_random_init", "vs_spectral"):
            c = r.get(key)
            vs.append("-" if not c else f"{100 * c['diff']:+.1f} {c['verdict']}")
        spec = f"{r['best_specialist']} {_f(r['specialist_score'])}{_ci(r['specialist_ci95'])}"
        lines.append(f"{d:<8} {_f(r['student']) + _ci(r['student_ci95']):<23} {spec:<36} {ratio:<19} {goal:<15} "
                     f"{vs[0]:<26} {vs[1]}")
    lines.append("")
    lines.append("all-task average (95% CI): " + ", ".join(
        f"{k} {_f(v)}{_ci(summary['encoders_all_ci95'].get(k))}" for k, v in summary["encoders_all"].items()))
    verdict = {True: "higher than every teacher", False: "NOT higher than every teacher", None: "n/a"}
    lines.append(f"student vs best single teacher ({summary['best_teacher_all']}): "
                 f"{verdict[summary['beats_every_teacher']]} (point estimates)")
    for t, c in summary.get("per_vs_random_init", {}).items():
        if c:
            # scores are 1 - PER, so the student's PER minus the control's is -diff
            lines.append(f"{t} vs random-init: PER {-100 * c['diff']:+.1f} points, "
                         f"{c['verdict'].replace('higher', 'better').replace('lower', 'worse')}")
    lines.append("goals: " + ", ".join(f"{k}={v}" for k, v in summary["goals"].items()))
    return "\n".join(lines)
