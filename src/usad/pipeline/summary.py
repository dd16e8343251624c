"""The demo's verdict: the student's score against the best specialist teacher per domain, measured, not assumed."""
from __future__ import annotations

from usad.eval.results import Results

GOAL_FRACTION = 0.9   # issue 7: at least 90% of the best specialist in every domain


def goal_summary(results: Results, student: str = "student") -> dict:
    """Per domain: the student's average, the best specialist's, their ratio and whether it meets the goal;
    overall: the student's all-domain average against every teacher's."""
    avg, best = results.domain_averages(), results.best_specialists()
    teachers = [e.name for e in results.encoders if e.kind == "teacher"]
    domains = {}
    for d in results.domains():
        ref = best[d]
        mine, theirs = avg[student][d], (avg[ref][d] if ref else None)
        ratio = None if (mine is None or not theirs) else mine / theirs
        domains[d] = {"student": mine, "best_specialist": ref, "specialist_score": theirs, "ratio": ratio,
                      "meets_goal": None if ratio is None else ratio >= GOAL_FRACTION}
    teacher_all = {t: avg[t]["all"] for t in teachers}
    best_teacher = max((t for t in teachers if teacher_all[t] is not None), key=lambda t: teacher_all[t],
                       default=None)
    student_all = avg[student]["all"]
    beats_all = None
    if student_all is not None and best_teacher is not None:
        beats_all = student_all > teacher_all[best_teacher]
    return {"goal_fraction": GOAL_FRACTION, "domains": domains, "student_all": student_all,
            "teacher_all": teacher_all, "best_teacher_all": best_teacher, "beats_every_teacher": beats_all,
            "encoders_all": {e.name: avg[e.name]["all"] for e in results.encoders}}


def format_summary(summary: dict) -> str:
    """A plain-text table for the console."""
    f = lambda v: "-" if v is None else f"{100 * v:.1f}"
    lines = ["domain   student  best specialist            specialist  student/specialist  goal (>= 0.90)"]
    for d, r in summary["domains"].items():
        ratio = "-" if r["ratio"] is None else f"{r['ratio']:.2f}"
        goal = {True: "met", False: "NOT met", None: "n/a (no specialist)"}[r["meets_goal"]]
        lines.append(f"{d:<8} {f(r['student']):>7}  {str(r['best_specialist']):<26} {f(r['specialist_score']):>10}"
                     f"  {ratio:>18}  {goal}")
    lines.append("")
    lines.append("all-domain average: " + ", ".join(f"{k} {f(v)}" for k, v in summary["encoders_all"].items()))
    verdict = {True: "higher than every teacher", False: "NOT higher than every teacher", None: "n/a"}
    lines.append(f"student vs best single teacher ({summary['best_teacher_all']}): "
                 f"{verdict[summary['beats_every_teacher']]}")
    return "\n".join(lines)
