"""`dfi run --executor ray` on 1 and 2 workers against the single-process run, with the face models
running, and what a million-image campaign would take on N nodes.

What is timed: a campaign of ``--probes`` probes (every image its own file, as in bench_run.py:
variants of the demo's and the study's images, every four probes sharing a target photo) against the
three in-process mocks, with the study's face crop, from an empty output folder to the last row
folded into the campaign's journal: in this process (``local``, ``CampaignRunner.run``) and on a
local Ray instance of 1 and of 2 CPUs (``run_sharded``: one worker process per CPU, each building its
own models once), with the faces analysed first by the Ray Data stage (harness/distributed/analysis.py,
whose actors load their models on every run) and, as ``ray-2-shards-only``, by the shards themselves.
The Ray instance is started, and its workers warmed up on a small campaign (model
sessions, gallery), before the clock starts; both costs are recorded beside the runs. A campaign's
CPU seconds are the whole machine's (/proc/stat), since the face stage's actors exit before they could
be read one by one: true only on an otherwise idle machine, which the recorded load average tells;
the simulations' are those of this process and every process under it (Ray's raylet and workers).
Each configuration runs ``--repeat`` times, one configuration after the other; the load average is
recorded around each run (the machine may be shared), and the JSON keeps every run with min and median.

``--simulate-repeat``: the study-scale simulation's ``simulate_to_file`` in this process and on Ray
(one task per dataset), as ``dfi simulate --executor ray`` runs it.

The million-image estimate is arithmetic on the measured numbers, written into the JSON with its
assumptions: mocks are bound by model CPU time (measured CPU-seconds per image, divided over the
nodes' cores, times the measured parallel efficiency); real vendors by their per-account quotas
(harness/ratelimit.py's published rates), which no number of nodes changes.

    python benchmarks/bench_ray.py --probes 60 --repeat 3 --json benchmarks/results/ray_workers.json
    python benchmarks/bench_ray.py --tables   # the Markdown tables of docs/running-on-a-cluster.md, from the file
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
MILLION = 1_000_000
NODE_CORES = (16, 64)  # the per-node core counts the estimate is written for
NODES = (1, 4, 16, 64)
WARM_PROBES = 8
SHARDS_ONLY = "-shards-only"  # the face analysis in the shards themselves (run_sharded(face_stage=False))
CONFIGS = ("local", "ray-1", "ray-2", "ray-1" + SHARDS_ONLY, "ray-2" + SHARDS_ONLY)


def tree_cpu_s() -> float:
    """CPU seconds of this process and of every live process under it (their reaped children included)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid = int(fields[1])
        cpu = sum(int(x) for x in fields[11:15]) / tick  # utime stime cutime cstime
        stats[int(entry.name)] = (ppid, cpu)
    mine, todo = {os.getpid()}, [os.getpid()]
    while todo:
        parent = todo.pop()
        for pid, (ppid, _) in stats.items():
            if ppid == parent and pid not in mine:
                mine.add(pid)
                todo.append(pid)
    return sum(stats[p][1] for p in mine if p in stats)


def _probes(manifest: Path) -> list[Any]:
    from harness.datasets.manifest import read_manifest

    return read_manifest(manifest)


def _images(probes: list[Any]) -> int:
    return len({p.deepfake for p in probes} | {r for p in probes for r in p.target_images})


def machine_cpu_s() -> float:
    """CPU seconds every process of the machine has used (/proc/stat: user, nice, system, irq, softirq)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    return sum(int(x) for x in fields[:3] + fields[5:7]) / os.sysconf("SC_CLK_TCK")


def _measure(fn: Any) -> dict[str, Any]:
    load_before = os.getloadavg()
    w, c = time.perf_counter(), machine_cpu_s()
    summary = fn()
    wall, cpu = time.perf_counter() - w, machine_cpu_s() - c
    return {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "load_avg_before": [round(x, 2) for x in load_before],
            "load_avg_after": [round(x, 2) for x in os.getloadavg()], "vendor_calls": summary.vendor_calls,
            "rows": summary.rows}


def run_local(probes: list[Any], vendors: dict[str, Any], out: Path) -> dict[str, Any]:
    from harness.campaign import CampaignOptions, CampaignRunner

    runner = CampaignRunner(probes, vendors, out, CampaignOptions(crop=True))
    result = _measure(runner.run)
    result["rows_list"] = runner.ordered_rows()
    return result


def run_ray(probes: list[Any], vendors: dict[str, Any], out: Path, workers: int, face_stage: bool = True
            ) -> dict[str, Any]:
    from harness.campaign import CampaignOptions, CampaignRunner
    from harness.distributed.backend import BackendRecipe
    from harness.distributed.campaign import run_sharded
    from harness.distributed.cluster import RaySettings

    runner = CampaignRunner(probes, vendors, out, CampaignOptions(crop=True))
    recipe = BackendRecipe("mock", ("aws", "ms", "nav"), {})
    stages: list[Any] = []
    result = _measure(lambda: run_sharded(runner, recipe, RaySettings(workers=workers), face_stage=face_stage,
                                          on_stage=stages.append))
    result["rows_list"] = runner.ordered_rows()
    if stages:
        s = stages[0]
        result["face_stage"] = {"images": s.images, "analysed": s.analysed, "wall_s": round(s.seconds, 3),
                                "analysed_in_shards": s.analysed_in_shards}
    return result


def _stats(runs: list[dict[str, Any]], key: str) -> dict[str, float]:
    values = [r[key] for r in runs]
    return {"min": round(min(values), 3), "median": round(statistics.median(values), 3)}


def campaigns(probes_n: int, repeat: int, root: Path) -> dict[str, Any]:
    import ray
    from bench_run import build_manifest

    from harness.backends import make_backend

    # one slice of distinct images per repetition (the mocks remember the embeddings of images they saw),
    # the same slices for every configuration, and a last slice for the workers' warm-up
    everything = _probes(build_manifest(root / "data", probes_n * repeat + WARM_PROBES))
    slices = [everything[i * probes_n:(i + 1) * probes_n] for i in range(repeat)]
    warm = everything[probes_n * repeat:]
    images = _images(slices[0])
    out: dict[str, Any] = {"probes": probes_n, "images": images, "configs": {},
                           "note": "each repetition runs its own images (a slice), the same slices in every "
                                   "configuration; the local runs get a fresh backend each (model set-up untimed)"}
    references: dict[int, list[dict[str, Any]]] = {}
    driver = make_backend("mock", ["aws", "ms", "nav"]).vendors  # the Ray driver's: names only, never called
    for config in CONFIGS:
        entry: dict[str, Any] = {"runs": []}
        if config != "local":
            workers = int(config.split("-")[1])
            face_stage = not config.endswith(SHARDS_ONLY)
            t = time.perf_counter()
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, namespace="dfi")
            entry["ray_init_s"] = round(time.perf_counter() - t, 2)
            t = time.perf_counter()
            run_ray(warm, driver, root / f"warm-{config}", workers, face_stage)  # model sessions in every worker
            entry["warm_up_s"] = round(time.perf_counter() - t, 2)
        for i, probes in enumerate(slices):
            target = root / f"{config}-{i}"
            if config == "local":
                r = run_local(probes, make_backend("mock", ["aws", "ms", "nav"]).vendors, target)
            else:
                r = run_ray(probes, driver, target, workers, face_stage)
            rows = r.pop("rows_list")
            references.setdefault(i, rows)
            r["rows_identical_to_local"] = rows == references[i]
            if not r["rows_identical_to_local"]:  # what differs, for whoever looks into it
                r["row_differences"] = [
                    {"probe_id": a["probe_id"], "vendor": a["vendor"],
                     **{k: [a[k], b.get(k)] for k in a if a[k] != b.get(k)}}
                    for a, b in zip(references[i], rows) if a != b][:10]
            entry["runs"].append(r)
            print(config, i, r, flush=True)
        if config != "local":
            ray.shutdown()
        entry["wall_s"] = _stats(entry["runs"], "wall_s")
        entry["cpu_s"] = _stats(entry["runs"], "cpu_s")
        entry["images_per_s_at_median"] = round(images / entry["wall_s"]["median"], 2)
        out["configs"][config] = entry
    c = out["configs"]
    out["speedup_2_vs_1_workers"] = round(c["ray-1"]["wall_s"]["median"] / c["ray-2"]["wall_s"]["median"], 2)
    out["speedup_2_vs_1_workers_shards_only"] = round(
        c["ray-1" + SHARDS_ONLY]["wall_s"]["median"] / c["ray-2" + SHARDS_ONLY]["wall_s"]["median"], 2)
    out["ray_1_vs_local"] = round(c["ray-1"]["wall_s"]["median"] / c["local"]["wall_s"]["median"], 2)
    out["cpu_s_per_image"] = {k: round(v["cpu_s"]["min"] / images, 3) for k, v in c.items()}
    out["calls_per_image"] = round(c["local"]["runs"][0]["vendor_calls"] / images, 3)
    out["rows_identical"] = all(r["rows_identical_to_local"] for v in c.values() for r in v["runs"])
    return out


def simulations(repeat: int, root: Path) -> dict[str, Any]:
    import ray

    from harness.distributed.cluster import RaySettings
    from harness.distributed.simulate import simulate_to_file_on_ray
    from harness.simulate.params import SimulationParams
    from harness.simulate.stream import simulate_to_file

    params = SimulationParams.load(None)
    runs: dict[str, list[dict[str, Any]]] = {"local": [], "ray-2": []}
    for i in range(repeat):
        for config in runs:
            path = root / f"sim-{config}-{i}.parquet"
            load = os.getloadavg()
            w, c = time.perf_counter(), tree_cpu_s()
            if config == "local":
                simulate_to_file(params, path)
            else:  # as `dfi simulate --executor ray` does: start a local instance, simulate, stop it
                ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, namespace="dfi")
                simulate_to_file_on_ray(params, path, settings=RaySettings(cpus=2))
            cpu = tree_cpu_s() - c  # before the workers exit with the instance
            if config != "local":
                ray.shutdown()
            runs[config].append({"wall_s": round(time.perf_counter() - w, 3), "cpu_s": round(cpu, 3),
                                 "load_avg_before": [round(x, 2) for x in load]})
            print("simulate", config, i, runs[config][-1], flush=True)
    return {"probes": params.total_probes, "datasets": len(params.datasets),
            "largest_dataset": max(d.probes for d in params.datasets),
            "note": "ray-2 includes starting and stopping the local Ray instance (what `dfi simulate --executor ray` "
                    "does)", "configs": {k: {"runs": v, "wall_s": _stats(v, "wall_s"), "cpu_s": _stats(v, "cpu_s")}
                                         for k, v in runs.items()}}


def estimate(c: dict[str, Any]) -> dict[str, Any]:
    """A million images on N nodes, from the measured costs (see the module notes)."""
    from harness.ratelimit import PUBLISHED_RATES

    cpu_per_image = c["cpu_s_per_image"]["ray-2" + SHARDS_ONLY]  # warm workers: no start-up in it
    efficiency = round(min(1.0, c["speedup_2_vs_1_workers_shards_only"] / 2), 2)
    mock = {f"{n} nodes x {cores} cores": [round(MILLION * cpu_per_image / (n * cores) / 3600, 2),
                                            round(MILLION * cpu_per_image / (n * cores * efficiency) / 3600, 2)]
            for cores in NODE_CORES for n in NODES}
    calls = c["calls_per_image"]
    vendor_h = {v: round(MILLION * calls / 3 / rate.per_second / 3600, 1) for v, rate in PUBLISHED_RATES.items()}
    return {
        "mock_hours": mock,
        "mock_hours_columns": ["every core busy (CPU-bound)", f"at the efficiency measured here ({efficiency})"],
        "mock_assumptions": f"{cpu_per_image} CPU-s per image (measured on Ray, 2 warm workers analysing the faces "
                            "in the shards: crop, 3 recognizers, journal; the face stage's start-up, its actors "
                            "loading their models once per run, is a fixed cost a million images amortise) "
                            "spread over every core of every node, either perfectly or at the parallel "
                            f"efficiency measured here from 1 to 2 warm workers without the stage ({efficiency}, "
                            "on a 2-core machine whose driver and raylet share those cores: a lower bound); the "
                            "driver's fold and reading the images from a shared filesystem are assumed not to limit",
        "real_vendor_hours_per_account": vendor_h,
        "real_vendor_assumptions": f"{round(calls / 3, 3)} calls per image per vendor (measured), at each "
                                   "vendor's published default quota (harness/ratelimit.py PUBLISHED_RATES); "
                                   "independent of the number of nodes: the shared limiter holds the account's rate",
    }


RESULT = HERE / "results" / "ray_workers.json"


def _hours(h: float) -> str:
    return f"{h * 60:.0f} min" if h < 1 else f"{h:,.1f} h" if h < 48 else f"{h / 24:,.0f} days"


def tables(path: Path = RESULT) -> str:
    """The result file as the Markdown the cluster page shows (docs/regenerate.py runs this)."""
    r = json.loads(path.read_text())
    c, m = r["campaign"], r["million_images"]
    runs = [run for name, e in c["configs"].items() if name != "local" for run in e["runs"]]
    same = sum(bool(run["rows_identical_to_local"]) for run in runs)
    out = [f"Measured on {r['cpu']} ({r['machine'].get('cpus')} logical CPUs; load "
           f"average {r['load_avg_start'][0]:g} at the start, {r['load_avg_end'][0]:g} at the end), "
           f"{c['probes']} probes ({c['images']} images) x 3 in-process mocks with the face crop, "
           f"{r['repeat']} runs each on distinct images; rows identical to the single-process run's in "
           f"{same} of {len(runs)} Ray runs" + ("" if same == len(runs) else " (what differs: `row_differences` in "
                                            "the result file)") + ".", "",
           "| executor | wall s (min / median) | CPU s (min / median) | images/s (median) | load avg (1 min) | "
           "start-up |", "|---|---|---|---|---|---|"]
    for name, e in c["configs"].items():
        loads = [run["load_avg_before"][0] for run in e["runs"]]
        start = ("-" if name == "local" else f"Ray {e['ray_init_s']:g} s + workers' models {e['warm_up_s']:g} s")
        out.append(f"| {name} | {e['wall_s']['min']:g} / {e['wall_s']['median']:g} | {e['cpu_s']['min']:g} / "
                   f"{e['cpu_s']['median']:g} | {e['images_per_s_at_median']:g} | {min(loads):g}-{max(loads):g} | "
                   f"{start} |")
    staged = {name: [run["face_stage"] for run in e["runs"] if "face_stage" in run] for name, e in c["configs"].items()}
    staged = {name: runs for name, runs in staged.items() if runs}
    if staged:
        out += ["", "The face stage (Ray Data actors started, models loaded and every image cropped and analysed; "
                "part of the wall time above), median: " + "; ".join(
                    f"{name} {statistics.median(s['wall_s'] for s in runs):g} s, {runs[0]['analysed']} of "
                    f"{runs[0]['images']} images analysed, {max(s['analysed_in_shards'] for s in runs)} analysed "
                    "again in the shards" for name, runs in staged.items()) + "."]
    out += ["", f"2 workers vs 1: {c['speedup_2_vs_1_workers']:g}x with the face stage, "
            f"{c['speedup_2_vs_1_workers_shards_only']:g}x without it; 1 Ray worker vs the single process: "
            f"{c['ray_1_vs_local']:g}x the wall time. CPU seconds per image: "
            + ", ".join(f"{k} {v:g}" for k, v in c["cpu_s_per_image"].items()) + "."]
    if "simulate" in r:
        sim = r["simulate"]
        out += ["", f"`dfi simulate`'s study-scale world ({sim['probes']:,} deepfakes in {sim['datasets']} datasets, "
                f"the largest {sim['largest_dataset']:,}), {len(sim['configs']['local']['runs'])} runs each:", "",
                "| executor | wall s (min / median) | CPU s (min / median) |", "|---|---|---|"]
        for name, e in sim["configs"].items():
            out.append(f"| {name} | {e['wall_s']['min']:g} / {e['wall_s']['median']:g} | "
                       f"{e['cpu_s']['min']:g} / {e['cpu_s']['median']:g} |")
        out += ["", f"({sim['note']}.)"]
    out += ["", "A million images, estimated from these numbers:", "",
            f"| in-process mocks: nodes x cores | {' | '.join(m['mock_hours_columns'])} |", "|---|---|---|"]
    out += [f"| {k} | {_hours(v[0])} | {_hours(v[1])} |" for k, v in m["mock_hours"].items()]
    out += ["", f"Assumptions: {m['mock_assumptions']}.", "",
            "| real vendor, one account | time at the published quota |", "|---|---|"]
    out += [f"| {v} | {_hours(h)} |" for v, h in m["real_vendor_hours_per_account"].items()]
    out += ["", f"Assumptions: {m['real_vendor_assumptions']}."]
    return "\n".join(out)


def main() -> None:
    from harness.bench.device import machine_facts

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--probes", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--simulate-repeat", type=int, default=2)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--tables", nargs="?", const=RESULT, type=Path, metavar="JSON",
                    help="print the Markdown tables of a result file (default: the committed one) and stop")
    args = ap.parse_args()
    if args.tables:
        print(tables(args.tables))
        return
    facts = machine_facts()
    result: dict[str, Any] = {"benchmark": "dfi run --executor ray: 1 vs 2 workers, in-process mocks, face models "
                                           "running; dfi simulate --executor ray",
                              "machine": facts, "cpu": facts.get("cpu"), "repeat": args.repeat,
                              "load_avg_start": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="dfi-bench-ray-") as tmp:
        result["campaign"] = campaigns(args.probes, args.repeat, Path(tmp))
        result["million_images"] = estimate(result["campaign"])
        if args.simulate_repeat:
            result["simulate"] = simulations(args.simulate_repeat, Path(tmp))
    result["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    text = json.dumps(result, indent=1) + "\n"
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
