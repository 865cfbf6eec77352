"""The speed goals' table, regenerated from the result files: each goal with the figure before this
work ("today": a worktree of the older commit) and after it, measured side by side in one run on one
machine, and the same figures as a short paragraph in the top-level README.

    python benchmarks/speed_goals.py            # rewrite both marked sections from benchmarks/results/*.json

Nothing between the markers is edited by hand. A goal whose result file is missing says so.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
BEGIN, END = "<!-- speed-goals: begin -->", "<!-- speed-goals: end -->"
README_BEGIN, README_END = "<!-- speed-claims: begin -->", "<!-- speed-claims: end -->"

Row = tuple[str, str, str, str, str, str]  # goal, target, today, now, met, source


def _load(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.is_file() else None


def _cpu(doc: dict) -> str:
    m = doc.get("machine") or {}
    cpu = m.get("cpu") or doc.get("cpu") or "?"
    fam = m.get("cpu_family")
    flags = m.get("cpu_vector_flags")
    return f"{cpu} (family {fam}{', ' + flags if flags else ''})" if fam else str(cpu)


def pipeline_row() -> tuple[Row, str]:
    doc = _load("pipeline_peak.json")
    goal = "1. Face pipeline, one-face 640x480 photos, best batch"
    if doc is None:
        return (goal, ">= 35% of peak", "not measured", "not measured", "–", "pipeline_peak.json"), ""
    s = doc["summary"]

    def best(name: str) -> tuple[str, dict]:
        b, v = max(s[name]["batches"].items(), key=lambda kv: kv[1]["images_per_s_best"])
        return b, v

    tb, today = best("today")
    nb, now = best("inference-thread")
    diff = s["inference-thread"]["max_abs_embedding_difference_from_reference"]
    row = (goal, ">= 35% of peak",
           f"{today['images_per_s_best']} images/s (b{tb}) = {today['pct_of_peak_best']}%",
           f"{now['images_per_s_best']} images/s (b{nb}) = {now['pct_of_peak_best']}%; embeddings differ by "
           f"at most {diff:.1e}",
           "yes" if now["pct_of_peak_best"] >= 35 else "no",
           f"`pipeline_peak.json`, {_cpu(doc)}")
    claim = (f"the face pipeline {now['images_per_s_best']} one-face images/s "
             f"({now['pct_of_peak_best']}% of this CPU's fp32 peak; before: {today['images_per_s_best']})")
    return row, claim


def run_row() -> tuple[Row, str]:
    doc = _load("run_inprocess.json")
    goal = "2. `dfi run`, in-process mocks, study scale (17,700 images, extrapolated)"
    if doc is None:
        return (goal, ">= 4x today", "not measured", "not measured", "–", "run_inprocess.json"), ""
    trees = list(doc["summary"].values())
    today, now = trees[0], trees[-1]
    speedup = doc.get("speedup_median", 0.0)
    row = (goal, ">= 4x today",
           f"{today['images_per_s_median']} images/s, {today['study_scale_min_median']} min, CPU/wall "
           f"{today['cpu_per_wall_median']}",
           f"{now['images_per_s_median']} images/s, {now['study_scale_min_median']} min, CPU/wall "
           f"{now['cpu_per_wall_median']}; {speedup}x (median), {doc.get('speedup_best')}x (best)",
           "yes" if speedup >= 4 else "no", f"`run_inprocess.json`, {_cpu(doc)}")
    claim = (f"`dfi run` on the in-process mocks {now['images_per_s_median']} images/s (about "
             f"{now['study_scale_min_median']} min for the study's 17,700 images; {speedup}x the previous code)")
    return row, claim


Reader = Callable[[dict], tuple[str, str, bool, str]]  # result file -> today, now, met, README claim


def generic_row(name: str, goal: str, target: str, read: Reader) -> tuple[Row, str]:
    doc = _load(name)
    if doc is None:
        return (goal, target, "not measured", "not measured", "–", name), ""
    today, now, met, claim = read(doc)
    return (goal, target, today, now, "yes" if met else "no", f"`{name}`, {_cpu(doc)}"), claim


def rows(extra: list[tuple[Row, str]]) -> list[tuple[Row, str]]:
    return [pipeline_row(), run_row(), *extra]


def table(items: list[tuple[Row, str]]) -> str:
    lines = ["| Goal | Target | Today (before) | Now | Met? | Source |", "|---|---|---|---|---|---|"]
    lines += ["| " + " | ".join(r) + " |" for r, _ in items]
    return "\n".join(lines)


def _replace(text: str, begin: str, end: str, body: str) -> str:
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    block = f"{begin}\n{body}\n{end}"
    if not pattern.search(text):
        raise SystemExit(f"markers {begin} ... {end} not found")
    return pattern.sub(lambda _m: block, text)


def extra_rows() -> list[tuple[Row, str]]:
    from speed_goal_readers import READERS  # the other goals' result files, one reader each

    return [generic_row(*r) for r in READERS]


def main() -> int:
    sys.path.insert(0, str(HERE))
    items = rows(extra_rows())
    body = ("Generated by `python benchmarks/speed_goals.py` from the result files named in the last column; "
            "each row's two figures come from one run on one machine (\"today\": a git worktree of the commit "
            "before this work, 8e54dee).\n\n" + table(items))
    readme = HERE / "README.md"
    readme.write_text(_replace(readme.read_text(), BEGIN, END, body))
    claims = [c for _, c in items if c]
    top = HERE.parent / "README.md"
    para = ("Measured on a shared 2-core AMD EPYC (figures and method: [benchmarks/README.md]"
            "(benchmarks/README.md), generated from its result files): " + "; ".join(claims) + ".")
    top.write_text(_replace(top.read_text(), README_BEGIN, README_END, para))
    print(table(items))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
