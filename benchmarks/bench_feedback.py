"""How soon the slow commands show something, and how long the screen stays still (issue 16, item 7:
first visible output within 1 s, a bar that moves for every step over 2 s).

    python benchmarks/bench_feedback.py            # -> benchmarks/results/feedback.json
    python benchmarks/bench_feedback.py --show     # print the recorded result

Each command runs as a new process under a pseudo-terminal (so rich draws what a user sees), with an
empty demo cache beside the installed models (so ``dfi run`` builds the demo as on a first run).
Measured per command: seconds to the first visible character; the longest stretch with no change
on the screen ("still"); and the whole run. A spinner redraws ~10 times a second, so "still" shows
where nothing at all is drawn (before the first output, or a step with no feedback); a bar that
only moves once per step is read from the transcript's counters ("bar updates"). The load average
and the CPU model are recorded beside the numbers, because other work may share the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import select
import shutil
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.bench.device import machine_facts
from harness.paths import cache_dir, shared_data_dir

RESULTS = Path(__file__).parent / "results"
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
COUNTER = re.compile(r"(\d+)/(\d+)")


def watch(argv: list[str], env: dict[str, str], timeout_s: float) -> dict[str, object]:
    """Run ``argv`` under a pty; time its screen updates."""
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command
        os.environ.update(env)
        os.execvp(argv[0], argv)
    first: float | None = None
    last = t0
    still = 0.0
    counters: set[str] = set()
    while time.perf_counter() - t0 < timeout_s:
        ready, _, _ = select.select([fd], [], [], 0.25)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        text = ANSI.sub("", chunk.decode(errors="replace"))
        if not text.strip():
            continue
        now = time.perf_counter()
        first = now - t0 if first is None else first
        still = max(still, now - last)
        last = now
        counters.update(f"{a}/{b}" for a, b in COUNTER.findall(text))
    else:
        os.kill(pid, 9)
    _, status = os.waitpid(pid, 0)
    end = time.perf_counter()
    return {"command": " ".join(argv[1:]), "exit": os.waitstatus_to_exitcode(status),
            "first_output_s": round(first, 2) if first is not None else None,
            "longest_still_s": round(max(still, end - last if first is None else 0.0), 2),
            "total_s": round(end - t0, 1), "bar_updates": len(counters)}


def measure(timeout_s: float) -> dict[str, object]:
    shared = shared_data_dir()
    runs: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        cache.mkdir()
        for part in ("models", "demo"):  # installed models and demo photos; no built demo dataset
            if (cache_dir() / part).exists():
                shutil.copytree(cache_dir() / part, cache / part)
        env = {"DFI_CACHE_DIR": str(cache), "COLUMNS": "120", "TERM": "xterm"}
        dfi = [sys.executable, "-m", "harness"]
        commands = [[*dfi, "--help"], [*dfi, "run", "--out", f"{tmp}/run"],
                    [*dfi, "simulate", "--scale", "0.25", "--no-sensitivity", "--out", f"{tmp}/sim"],
                    [*dfi, "sweep", f"{tmp}/run/results.csv", "--out-dir", f"{tmp}/sweep"]]
        if shared is not None:
            commands.append([*dfi, "calibrate", str(shared / "paper-results"), "--vendor", "ms",
                             "-o", f"{tmp}/ms.yaml"])
        for argv in commands:
            runs.append(watch(argv, env, timeout_s))
    return {"machine": machine_facts(), "load_average": os.getloadavg(), "runs": runs,
            "goal": "first output <= 1 s; no still stretch over 2 s"}


def show(result: dict[str, object]) -> None:
    machine = result["machine"]
    assert isinstance(machine, dict)
    table = Table(title=f"feedback on {machine.get('cpu', '?')} (load {result['load_average']})")
    for col in ("command", "exit", "first output s", "longest still s", "bar updates", "total s"):
        table.add_column(col, justify="left" if col == "command" else "right")
    for r in result["runs"]:  # type: ignore[union-attr]
        table.add_row(str(r["command"])[:60], str(r["exit"]), str(r["first_output_s"]), str(r["longest_still_s"]),
                      str(r["bar_updates"]), str(r["total_s"]))
    Console(width=140).print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--show", action="store_true", help="print the recorded result and stop")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per command before it is killed")
    args = parser.parse_args()
    path = RESULTS / "feedback.json"
    if args.show:
        show(json.loads(path.read_text()))
        return
    result = measure(args.timeout)
    path.write_text(json.dumps(result, indent=1) + "\n")
    show(result)


if __name__ == "__main__":
    main()
