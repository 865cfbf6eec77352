"""Speed of `dfi simulate`'s core at the study's scale: build the world, run the three mock vendors'
behaviour on every probe, and evaluate DD1/DD2/DD3 with two simulated detectors.

Method: the packaged parameters (286 celebrities x 5 gallery photos, 16,096 deepfakes over five
datasets), default seed. Phases are timed separately with wall clock and process CPU time (the
machine is shared; CPU time is the steadier number); median of --repeat runs after one warm-up.

    python benchmarks/bench_simulate.py [--repeat 3] [--json benchmarks/results/simulate.json]

Scaling (``--scaling``): the simulation to results.parquet at N probes x 3 vendors (N = 1e3 ... 1e6;
the packaged datasets scaled), each run in a fresh child process: wall clock, CPU time (user + system)
and peak RSS from ``wait4``. ``--before DIR``: the same beside a git worktree of the code before
streaming (``git worktree add /tmp/wt-sim 8e54dee``), run with ``PYTHONPATH=DIR``, up to ``--before-max``
probes (it keeps every embedding: ~20 KB a probe) under an address-space limit. Writes the JSON and a
log-log figure of the curve beside it.

    python benchmarks/bench_simulate.py --scaling --before /tmp/wt-sim \\
        --json benchmarks/results/simulate_scaling.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace

from harness.bench.device import machine_facts
from harness.simulate.defense import DetectorSetting, defense_study
from harness.simulate.params import SimulationParams
from harness.simulate.run import run_world, vendor_behaviours
from harness.simulate.world import World


def timed(fn):  # noqa: ANN001, ANN201
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def one_run(params: SimulationParams, train) -> dict[str, float]:  # noqa: ANN001
    world, w1, c1 = timed(lambda: World(params))
    sim, w2, c2 = timed(lambda: run_world(world, vendor_behaviours(world)))
    settings = [DetectorSetting("indep", 0.9, 0.1), DetectorSetting("corr", 0.9, 0.1, 0.9)]
    _, w3, c3 = timed(lambda: defense_study(sim, train, settings))
    return {"world_s": w1, "world_cpu_s": c1, "vendors_s": w2, "vendors_cpu_s": c2, "defense_s": w3,
            "defense_cpu_s": c3, "rows": len(sim.results)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=str)
    ap.add_argument("--scaling", action="store_true", help="the N-scaling benchmark (bench_simulate_scaling.py)")
    args, rest = ap.parse_known_args()
    if args.scaling:
        scaling(rest, args.json)
        return
    params = SimulationParams.load()
    small = replace(params.scaled(0.25), seed=params.seed + 1)
    w = World(small)
    train = run_world(w, vendor_behaviours(w))
    one_run(params.scaled(0.05), train)  # warm-up (imports, BLAS)
    runs = [one_run(params, train) for _ in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
           "machine_facts": machine_facts(), "load_average_before": os.getloadavg(),
           "probes": params.total_probes, "celebrities": params.celebrities, "repeat": args.repeat,
           "median": med, "runs": runs}
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


# --- scaling in N -------------------------------------------------------------------------------
CHILD = """
import sys, time
import harness
from harness.simulate.params import SimulationParams
n, out, chunk = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
p = SimulationParams.load()
p = p.scaled(n / p.total_probes)
t = time.perf_counter()
try:
    from harness.simulate.stream import simulate_to_file
except ImportError:  # the code before streaming
    from harness.results.io import write_results
    from harness.simulate.run import simulate
    table = simulate(p).results
    write_results(table, out)
    rows = len(table)
else:
    rows = simulate_to_file(p, out, chunk=chunk).rows
print(harness.__file__, p.total_probes, rows, time.perf_counter() - t)
"""


def _spawn(n: int, pythonpath: str | None, limit_gb: float, chunk: int, tmp: str) -> dict[str, object]:
    """One simulation of ``n`` probes in a fresh interpreter: its wall, CPU and peak RSS (``os.wait4``:
    the child's own rusage); ``limit_gb`` caps its address space (a MemoryError then says "exceeded")."""
    import resource
    import subprocess
    import sys

    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    limit = int(limit_gb * 2**30)

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    load = os.getloadavg()
    t = time.perf_counter()
    with open(tmp + ".out", "w") as so, open(tmp + ".err", "w") as se:
        proc = subprocess.Popen([sys.executable, "-c", CHILD, str(n), tmp, str(chunk)], env=env,
                                preexec_fn=cap, stdout=so, stderr=se, cwd="/tmp")  # not the checkout: '' on sys.path
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = open(tmp + ".err").read()
    exceeded = proc.returncode != 0 and "MemoryError" in err
    return {"n": n, "ok": proc.returncode == 0, "exceeded_memory_limit": exceeded,
            "child": open(tmp + ".out").read().strip(), "error_tail": err.strip()[-300:] if proc.returncode else "",
            "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "user_s": usage.ru_utime,
            "peak_rss_mb": usage.ru_maxrss / 1024, "load_before": load, "load_after": os.getloadavg()}


def scaling(argv: list[str], json_path: str | None) -> None:
    ap = argparse.ArgumentParser(prog="bench_simulate.py --scaling")
    ap.add_argument("--sizes", default="1000,10000,100000,1000000")
    ap.add_argument("--runs", default="3,3,2,1", help="runs per size (one number or one per size)")
    ap.add_argument("--before", help="a worktree of the code before streaming (PYTHONPATH for its runs)")
    ap.add_argument("--before-max", type=int, default=100_000)
    ap.add_argument("--limit-gb", type=float, default=8.0, help="address-space limit of every child")
    ap.add_argument("--chunk", type=int, default=8192)
    args = ap.parse_args(argv)
    sizes = [int(float(x)) for x in args.sizes.split(",")]
    reps = [int(x) for x in args.runs.split(",")]
    reps = reps * len(sizes) if len(reps) == 1 else reps
    tmp = "/tmp/bench-simulate-results.parquet"
    impls = [("streamed", None)] + ([("before", args.before)] if args.before else [])
    result: dict[str, object] = {"machine": machine_facts(), "load_average_before": os.getloadavg(),
                                 "code": {"streamed": _commit("."), **({"before": _commit(args.before)}
                                                                      if args.before else {})},
                                 "chunk": args.chunk, "limit_gb": args.limit_gb, "runs": [], "summary": []}
    runs: list[dict[str, object]] = result["runs"]  # type: ignore[assignment]
    for n, r in zip(sizes, reps, strict=True):
        for name, path in impls:
            if name == "before" and n > args.before_max:
                runs.append({"impl": name, "n": n, "ok": False, "skipped": f"not run: above --before-max "
                             f"{args.before_max} (it needs ~20 KB a probe: {n * 20 / 1e6:.0f} GB)"})
                continue
            for i in range(r):
                run = {"impl": name, "repeat": i, **_spawn(n, path, args.limit_gb, args.chunk, tmp)}
                runs.append(run)
                print(json.dumps(run), flush=True)
                if json_path:
                    _write(result, json_path)
    result["summary"] = summarise(runs)
    result["load_average_after"] = os.getloadavg()
    print(json.dumps(result["summary"], indent=1))
    if json_path:
        _write(result, json_path)
        plot_scaling(result["summary"], json_path.removesuffix(".json") + ".png")


def _commit(where: str) -> str:
    import subprocess

    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", where, *a], capture_output=True, text=True).stdout.strip()

    return git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if git("status", "--porcelain",
                                                                                      "--", "harness") else "")


def _write(result: dict[str, object], path: str) -> None:
    with open(path, "w") as f:
        json.dump(result, f, indent=1)


def summarise(runs: list[dict]) -> list[dict[str, object]]:
    out = []
    for key in dict.fromkeys((r["impl"], r["n"]) for r in runs):
        ok = [r for r in runs if (r["impl"], r["n"]) == key and r.get("ok")]
        row: dict[str, object] = {"impl": key[0], "n": key[1], "runs": len(ok)}
        for m in ("wall_s", "cpu_s", "peak_rss_mb"):
            vals = [float(r[m]) for r in ok]
            row[f"{m}_min"] = min(vals) if vals else None
            row[f"{m}_median"] = statistics.median(vals) if vals else None
        if not ok:
            bad = [r for r in runs if (r["impl"], r["n"]) == key]
            row["note"] = bad[0].get("skipped") or ("exceeded the memory limit" if any(
                r.get("exceeded_memory_limit") for r in bad) else "failed")
        out.append(row)
    return out


def plot_scaling(summary: list[dict], path: str) -> None:
    from pathlib import Path

    from harness.plotstyle import FIGSIZE_SINGLE, figure

    with figure(Path(path), (FIGSIZE_SINGLE[0] * 2, FIGSIZE_SINGLE[1]), ncols=2, layout="constrained") as (_, ax):
        for impl, marker in (("streamed", "o"), ("before", "s")):
            rows = [r for r in summary if r["impl"] == impl and r["runs"]]
            if not rows:
                continue
            n = [r["n"] for r in rows]
            ax[0, 0].plot(n, [r["cpu_s_median"] for r in rows], marker=marker, label=f"{impl}: CPU")
            ax[0, 0].plot(n, [r["wall_s_median"] for r in rows], marker=marker, ls="--", label=f"{impl}: wall")
            ax[0, 1].plot(n, [r["peak_rss_mb_median"] for r in rows], marker=marker, label=impl)
        for a, label in ((ax[0, 0], "seconds (median)"), (ax[0, 1], "peak RSS, MB (median)")):
            a.set_xscale("log")
            a.set_yscale("log")
            a.set_xlabel("probes (x 3 vendors)")
            a.set_ylabel(label)
            a.legend()
        ax[0, 0].set_title("dfi simulate core: time")
        ax[0, 1].set_title("peak memory")


if __name__ == "__main__":
    main()
