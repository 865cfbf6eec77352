"""Speed of `dfi simulate`'s core at the study's scale: build the world, run the three mock vendors'
behaviour on every probe, and evaluate DD1/DD2/DD3 with two simulated detectors.

Method: the packaged parameters (286 celebrities x 5 gallery photos, 16,096 deepfakes over five
datasets), default seed. Phases are timed separately with wall clock and process CPU time (the
machine is shared; CPU time is the steadier number); median of --repeat runs after one warm-up.

    python benchmarks/bench_simulate.py [--repeat 3] [--json benchmarks/results/simulate.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from dataclasses import replace

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
    args = ap.parse_args()
    params = SimulationParams.load()
    small = replace(params.scaled(0.25), seed=params.seed + 1)
    w = World(small)
    train = run_world(w, vendor_behaviours(w))
    one_run(params.scaled(0.05), train)  # warm-up (imports, BLAS)
    runs = [one_run(params, train) for _ in range(args.repeat)]
    med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out = {"machine": platform.platform(), "cpus": os.cpu_count(), "python": platform.python_version(),
           "probes": params.total_probes, "celebrities": params.celebrities, "repeat": args.repeat,
           "median": med, "runs": runs}
    print(json.dumps(out, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
