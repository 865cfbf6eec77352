"""Speed of ``dfi study`` on the study's eight recorded files (goal: the whole command under 30 s).

    python benchmarks/bench_study.py              # 5 runs -> benchmarks/results/study.json
    python benchmarks/bench_study.py --show       # print the recorded result

What is timed (wall clock, ``time.perf_counter``; best and median of ``--repeats`` runs, because other
work may share the CPU; the load average and the CPU model are recorded beside the numbers):

* ``command``: ``python -m harness study ../shared/data/paper-results -o <tmp>`` as a new process,
  interpreter start and imports included -- what a user waits for;
* ``run_study``: the library call in this process, and its stages (reading the files, each table
  family, writing the CSV, Markdown and the figure), from :attr:`StudyOutputs.seconds`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.bench.device import machine_facts
from harness.jobs.study import run_study
from harness.paths import shared_data_dir

RESULTS = Path(__file__).parent / "results"
GOAL_S = 30.0


def measure(repeats: int) -> dict[str, object]:
    shared = shared_data_dir()
    if shared is None:
        raise SystemExit("../shared/data is absent: nothing to time")
    paper = shared / "paper-results"
    result: dict[str, object] = {"machine": machine_facts(), "load_average_before": os.getloadavg(),
                                 "files": sorted(p.name for p in paper.glob("*.csv")), "goal_s": GOAL_S}
    command: list[float] = []
    library: list[float] = []
    stages: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(repeats):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "harness", "study", str(paper), "-o", f"{tmp}/cmd{i}"],
                           check=True, capture_output=True)
            command.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            out = run_study([paper], Path(tmp) / f"lib{i}")
            library.append(time.perf_counter() - t0)
            stages.append(dict(out.seconds))
        result["probes"] = len(out.data.table)
    result["command_s"] = {"runs": command, "best": min(command), "median": statistics.median(command)}
    result["run_study_s"] = {"runs": library, "best": min(library), "median": statistics.median(library)}
    result["stages_median_s"] = {k: statistics.median(s[k] for s in stages) for k in stages[0]}
    result["load_average_after"] = os.getloadavg()
    result["recorded_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    return result


def show(result: dict, console: Console) -> None:
    m = result["machine"]
    console.print(f"{m.get('cpu', '?')} ({m['cpus']} cores), Python {m['python']}, recorded {result['recorded_at']}; "
                  f"load average {result['load_average_before'][0]:.1f} before, "
                  f"{result['load_average_after'][0]:.1f} after; {result['probes']} probes from "
                  f"{len(result['files'])} files")
    t = Table(title=f"dfi study on the study's files (goal < {result['goal_s']:g} s)", title_style="bold")
    for col in ("measurement", "best", "median", "runs"):
        t.add_column(col, justify="left" if col == "measurement" else "right")
    for key, label in (("command_s", "whole command (new process)"), ("run_study_s", "run_study (library call)")):
        r = result[key]
        t.add_row(label, f"{r['best']:.2f} s", f"{r['median']:.2f} s", str(len(r["runs"])))
    for stage, s in result["stages_median_s"].items():
        t.add_row(f"  stage: {stage}", "", f"{s:.2f} s", "")
    console.print(t)
    verdict = "met" if result["command_s"]["median"] < result["goal_s"] else "NOT met"
    console.print(f"goal (whole command under {result['goal_s']:g} s, median): {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=RESULTS / "study.json")
    parser.add_argument("--show", action="store_true", help="print the recorded result, run nothing")
    args = parser.parse_args()
    console = Console(width=110)
    if args.show:
        show(json.loads(args.out.read_text()), console)
        return
    result = measure(args.repeats)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    show(result, console)


if __name__ == "__main__":
    main()
