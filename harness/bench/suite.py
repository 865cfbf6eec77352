"""Run a benchmark suite (models x backends x dtypes x batches, plus the face pipeline) into a results
document: the JSON written under benchmarks/results/."""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.bench.device import DeviceInfo, cpu_device, gpu_device
from harness.bench.engine import BenchConfig, latency_stats, roofline, time_step, usable_cores
from harness.bench.flops import ModelCost, cost_summary, count_cost
from harness.bench.models import BenchModel
from harness.bench.runners import (
    GPU_BACKENDS,
    BackendUnavailable,
    library_versions,
    make_runner,
    nvidia_smi,
)

SCHEMA = "dfi-bench/1"
UNTRAINED_NOTE = ("Reference detectors (meso4, mesoinception4, xception, efficientnet_b4) have RANDOM, UNTRAINED "
                  "weights: only their speed is measured, never their accuracy.")

Log = Callable[[str], None]

@dataclass(frozen=True)
class Combo:
    backend: str
    dtype: str

def detect_device(combos: list[Combo], threads: int | None) -> DeviceInfo:
    if any(c.backend in GPU_BACKENDS for c in combos):
        smi = nvidia_smi()
        if smi:
            return gpu_device(smi["name"], smi["driver"], {"memory": smi["memory"]})
        try:
            import torch

            if torch.cuda.is_available():
                return gpu_device(torch.cuda.get_device_name(0), None, {"source": "torch"})
        except ImportError:
            pass
    return cpu_device(threads)

def run_suite(models: list[BenchModel], combos: list[Combo], config: BenchConfig, *, threads: int | None = None,
              pipeline: bool = False, notes: list[str] | None = None, log: Log = print,
              cuda_graphs: bool = True, torch_compile: bool = False, command: str = "",
              on_result: Callable[[dict], None] | None = None) -> dict:
    started = time.perf_counter()
    device = detect_device(combos, threads)
    doc: dict = {
        "schema": SCHEMA,
        "created_utc": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "command": command,
        "device": device.as_dict(),
        "host": {"python": platform.python_version(), "platform": platform.platform(terse=True),
                 "cpu_threads_used": threads, "cores": usable_cores(threads), "load_average_before": _loadavg()},
        "libraries": library_versions(),
        "config": config.as_dict(),
        "notes": [UNTRAINED_NOTE, *(notes or [])],
        "models": {},
        "backends": {},
        "results": [],
        "complete": False,
    }
    costs: dict[str, ModelCost | None] = {}
    for model in models:
        entry = {"kind": model.kind, "role": model.role, "trained": model.trained,
                 "path": model.path.name if model.path else None, "unavailable": model.unavailable}
        if model.path is not None:
            try:
                cost = count_cost(model.path)
                costs[model.name] = cost
                entry.update(cost_summary(cost))
            except Exception as exc:  # noqa: BLE001 - a model we cannot count is still timed
                costs[model.name] = None
                entry["cost_error"] = f"{type(exc).__name__}: {exc}"
        doc["models"][model.name] = entry

    def over_budget() -> bool:
        return config.budget_seconds is not None and time.perf_counter() - started > config.budget_seconds

    for combo in combos:
        try:
            runner = make_runner(combo.backend, combo.dtype, threads=threads, cuda_graphs=cuda_graphs,
                                 torch_compile=torch_compile)
        except BackendUnavailable as exc:
            log(f"[skip] {combo.backend} {combo.dtype}: {exc}")
            doc["backends"][f"{combo.backend}/{combo.dtype}"] = {"available": False, "reason": str(exc)}
            continue
        doc["backends"][f"{combo.backend}/{combo.dtype}"] = {"available": True, **runner.describe()}
        for model in models:
            seconds_per_image: float | None = None  # from the largest batch timed so far
            for batch in config.batches:
                base = {"model": model.name, "kind": model.kind, "trained": model.trained,
                        "backend": combo.backend, "provider": runner.provider, "dtype": combo.dtype, "batch": batch}
                if model.path is None:
                    doc["results"].append({**base, "status": "skipped", "reason": model.unavailable})
                    break
                if over_budget():
                    doc["results"].append({**base, "status": "skipped", "reason": "suite time budget spent"})
                    continue
                short = _memory_shortfall(costs.get(model.name), batch) if combo.backend == "ort-cpu" else None
                if short:
                    log(f"[skip] {model.name} {combo.backend} b{batch}: {short}")
                    doc["results"].append({**base, "status": "skipped", "reason": short})
                    continue
                predicted = None if seconds_per_image is None else seconds_per_image * batch
                limit = config.max_run_seconds
                if limit is not None and predicted is not None and predicted > limit:
                    why = (f"one run of batch {batch} would take about {predicted:.0f} s (from the batch below it), "
                           f"over the {limit:.0f} s per run this suite allows")
                    log(f"[skip] {model.name} {combo.backend} b{batch}: {why}")
                    doc["results"].append({**base, "status": "skipped", "reason": why})
                    continue
                try:
                    step = runner.prepare(model.path, batch)
                    timed = time_step(step, config)
                except Exception as exc:  # noqa: BLE001 - one failing config must not end the suite
                    reason = f"{type(exc).__name__}: {str(exc).splitlines()[0][:300] if str(exc) else ''}"
                    log(f"[fail] {model.name} {combo.backend} {combo.dtype} b{batch}: {reason}")
                    doc["results"].append({**base, "status": "failed", "reason": reason})
                    _free_device_memory()
                    if "out of memory" in reason.lower():
                        break
                    continue
                stats = latency_stats(timed.latencies, batch)
                seconds_per_image = float(timed.latencies.min()) / batch
                if combo.backend == "ort-cpu":
                    stats["cpu_share"] = timed.cpu_share(usable_cores(threads))
                if getattr(step, "mode", None):
                    base["execution"] = step.mode
                result = {**base, "status": "ok", "warmup_iterations": timed.warmup, **stats,
                          **roofline(costs.get(model.name), device, combo.dtype, batch, stats["images_per_s"])}
                doc["results"].append(result)
                log(_line(result))
                if on_result:
                    on_result(doc)  # partial results survive a later crash or time-out
                del step
        runner.close()
        _free_device_memory()
    if pipeline:
        from harness.bench.pipeline import bench_pipeline  # lazy: it needs cv2 and the face models

        doc["results"] += bench_pipeline(config, log=log, threads=threads, over_budget=over_budget)
    doc["complete"] = True
    doc["wall_seconds"] = round(time.perf_counter() - started, 1)
    doc["host"]["load_average_after"] = _loadavg()
    return doc

MEMORY_FACTOR = 1.5  # onnxruntime CPU peak / planned live activations, measured 1.05-1.9 on these models


def available_memory() -> int | None:
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _memory_shortfall(cost: ModelCost | None, batch: int) -> str | None:
    """Why a CPU run would not fit in the free memory (an out-of-memory kill would end the whole suite)."""
    available = available_memory()
    if cost is None or available is None:
        return None
    need = MEMORY_FACTOR * batch * cost.peak_live_bytes_per_image + 2 * cost.weight_bytes
    if need > available - (1 << 30):
        return (f"not enough free memory: needs about {need / 1e9:.1f} GB ({MEMORY_FACTOR} x {batch} x "
                f"{cost.peak_live_bytes_per_image / 1e6:.0f} MB of live activations per image, plus weights), "
                f"{available / 1e9:.1f} GB available on this shared machine")
    return None


def _loadavg() -> list[float] | None:
    """1/5/15-minute load averages: other processes sharing the CPU show up here."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (OSError, AttributeError):
        return None


def _free_device_memory() -> None:
    gc.collect()
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()

def _line(r: dict) -> str:
    frac = r.get("fraction_of_peak")
    extra = f"  {100 * frac:5.1f}% of peak" if frac is not None else ""
    if r.get("bound") == "memory" and r.get("achieved_bandwidth_gbs"):
        extra += f", memory-bound {r['achieved_bandwidth_gbs']:.0f} GB/s"
    return (f"{r['model']:<16} {r['backend']:<10} {r['dtype']:<4} b{r['batch']:<4} "
            f"{r['images_per_s']:10.1f} img/s  p50 {r['latency_ms']['p50']:9.2f} ms  "
            f"p99 {r['latency_ms']['p99']:9.2f} ms  ({r['iterations']} runs){extra}")


__all__ = ["Combo", "SCHEMA", "run_suite"]
