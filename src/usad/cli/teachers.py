"""`usad teachers`: list known teachers, what they declare, and whether each can load on this machine."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")


def _dims(dims: dict[int, int]) -> str:
    sizes = [dims[l] for l in sorted(dims)]
    return str(sizes[0]) if len(set(sizes)) == 1 else ",".join(map(str, sizes))


def run(args: argparse.Namespace) -> int:
    import json

    from usad.teachers.registry import available_teachers, teacher_info

    rows = []
    for name, ok, why in available_teachers():
        info = teacher_info(name)
        rows.append({"name": name, "ok": ok, "reason": why,
                     "domain": info.domain if info else "?", "sample_rate": info.sample_rate if info else None,
                     "frame_rate": round(info.frame_rate, 3) if info else None,
                     "layers": sorted(info.dims) if info else None, "dims": _dims(info.dims) if info else "?",
                     "licence": info.licence if info else "?"})
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    head = f"{'teacher':<14}{'domain':<8}{'rate':>7}{'fps':>9}  {'layers':<10}{'dims':<12}{'licence':<28}status"
    print(head)
    print("-" * len(head))
    for r in rows:
        layers = f"{r['layers'][0]}..{r['layers'][-1]}" if r["layers"] else "?"
        status = "ok" if r["ok"] else f"unavailable: {r['reason']}"
        print(f"{r['name']:<14}{r['domain']:<8}{r['sample_rate'] or '?':>7}{r['frame_rate'] or '?':>9}  "
              f"{layers:<10}{r['dims']:<12}{r['licence'][:27]:<28}{status}")
    print("\nalso: hf:<local dir or hub id> (transformers audio models; HF_HUB_OFFLINE=1 honoured), "
          "test:<dim>x<layers>@<rate> (random weights, unit tests only)")
    return 0
