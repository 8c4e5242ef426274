"""Tables for bench/advisor.md from the JSON lines of bench/advisor_bench.py and bench/forecast_demos.py.

    python bench/advisor_table.py RESULTS.jsonl [...]
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict


def kendall_tau(a: list[float], b: list[float]) -> float:
    pairs = [(i, j) for i in range(len(a)) for j in range(i + 1, len(a))]
    sign = lambda x: (x > 0) - (x < 0)  # noqa: E731
    return sum(sign(a[i] - a[j]) * sign(b[i] - b[j]) for i, j in pairs) / len(pairs)


def main(paths: list[str]) -> None:
    rows = [json.loads(line) for path in paths for line in open(path) if line.strip()]
    seen, unique = set(), []
    for row in rows:
        key = (row["dataset"], row["model"], row.get("fine_tuned") is not None)
        if key not in seen:
            seen.add(key)
            unique.append(row)
    tuned = [r for r in unique if r.get("fine_tuned") is not None]
    if tuned:
        print("| dataset | model | kNN | linear | LogME | probe s | fine-tuned F1 | run s | forecast s | forecast error |")
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in tuned:
            error = f"{100 * (r['forecast_seconds'] / r['run_seconds'] - 1):+.0f}%" if r.get("forecast_seconds") else "-"
            print(f"| {r['dataset']} | {r['model']} | {r['knn']:.1%} | {r['linear']:.1%} | {r['logme']:.3f} | "
                  f"{r['probe_seconds']:.0f} | {r['fine_tuned']:.1%} | {r['run_seconds']:.0f} | "
                  f"{r.get('forecast_seconds') or 0:.0f} | {error} |")
        by = defaultdict(list)
        for r in tuned:
            by[r["dataset"]].append(r)
        print("\n| dataset | models | Kendall tau (probe) | Kendall tau (LogME) | probe cost / one fine-tuning run |")
        print("| --- | --- | --- | --- | --- |")
        for name, group in by.items():
            if len(group) < 2:
                continue
            fine = [r["fine_tuned"] for r in group]
            cost = sum(r["probe_seconds"] for r in group) / len(group) / (sum(r["run_seconds"] for r in group) / len(group))
            print(f"| {name} | {len(group)} | {kendall_tau([r['probe'] for r in group], fine):+.2f} | "
                  f"{kendall_tau([r['logme'] for r in group], fine):+.2f} | {cost:.0%} |")
    curves = [r for r in unique if "curve_low" in r and r.get("fine_tuned") is None] or [r for r in unique if "curve_low" in r]
    if curves:
        print("\n| dataset | model | fitted on | checked at | band | reached | inside |")
        print("| --- | --- | --- | --- | --- | --- | --- |")
        inside = 0
        for r in curves:
            ok = r["curve_low"] <= r["curve_reached"] <= r["curve_high"]
            inside += ok
            print(f"| {r['dataset']} | {r['model']} | {', '.join(map(str, r['curve_fit_on']))} | {r['curve_sizes'][-1]} | "
                  f"{r['curve_low']:.1%}-{r['curve_high']:.1%} | {r['curve_reached']:.1%} | {'yes' if ok else 'no'} |")
        print(f"\nThe band held the score reached in {inside} of {len(curves)} cases.")


if __name__ == "__main__":
    main(sys.argv[1:])
