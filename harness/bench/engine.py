"""The benchmark loop: warm-up excluded, iterations chosen by a time budget, percentiles, roofline."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from harness.bench.device import DeviceInfo
from harness.bench.flops import ModelCost


def usable_cores(threads: int | None) -> int:
    """CPU cores a run may use: those this process is allowed on, capped at ``threads`` when given."""
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return min(threads, available) if threads else available


@dataclass(frozen=True)
class BenchConfig:
    """How long each (model, batch) is measured.

    After ``warmup`` untimed runs, timed runs go on until at least ``min_iters`` runs AND
    ``min_seconds`` have passed; they stop early once ``max_seconds`` have passed, provided
    ``floor_iters`` runs are in. The counts actually done are written into every result.
    """

    batches: tuple[int, ...] = (1, 8, 32, 128)
    warmup: int = 1
    min_iters: int = 10
    min_seconds: float = 1.0
    max_seconds: float = 8.0
    floor_iters: int = 3
    budget_seconds: float | None = None  # for the whole suite: later measurements are skipped past it
    # a batch whose one run is predicted (per-image time of the batch below it) to take longer is skipped
    max_run_seconds: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


QUICK = BenchConfig(batches=(1, 4), warmup=1, min_iters=2, min_seconds=0.0, max_seconds=0.5, floor_iters=2)
# On 2 cores one Xception/EfficientNet batch of 128 takes 30-60 s: with its warm-up, three runs of that one
# configuration were a third of the suite for one more point on a flat curve. A batch predicted over 20 s per
# run is skipped, with the reason in the results.
CPU_FULL = BenchConfig(batches=(1, 8, 32, 128), warmup=1, min_iters=10, min_seconds=1.0, max_seconds=5.0,
                       floor_iters=2, max_run_seconds=20.0)
GPU_FULL = BenchConfig(batches=(1, 8, 32, 128, 256), warmup=3, min_iters=20, min_seconds=0.5,
                       max_seconds=2.0, floor_iters=5)


@dataclass
class TimedRuns:
    latencies: np.ndarray  # seconds per timed run
    warmup: int
    process_cpu_seconds: float  # CPU time of this process (all its threads) during the timed runs
    wall_seconds: float

    def cpu_share(self, cores: int) -> float:
        """Share of ``cores`` this process had while timed runs went on; well below 1 means others took the CPU
        (or the work did not parallelise)."""
        return self.process_cpu_seconds / (self.wall_seconds * cores) if self.wall_seconds > 0 else float("nan")


def time_step(step: Callable[[], object], config: BenchConfig) -> TimedRuns:
    """Warm-up runs of ``step`` (untimed), then timed runs until the config's stopping rule holds."""
    for _ in range(config.warmup):
        step()
    latencies: list[float] = []
    cpu0 = time.process_time()
    start = time.perf_counter()
    while True:
        t0 = time.perf_counter()
        step()
        latencies.append(time.perf_counter() - t0)
        elapsed = time.perf_counter() - start
        n = len(latencies)
        if n >= config.min_iters and elapsed >= config.min_seconds:
            break
        if elapsed >= config.max_seconds and n >= config.floor_iters:
            break
    return TimedRuns(np.asarray(latencies), config.warmup, time.process_time() - cpu0, time.perf_counter() - start)


def latency_stats(latencies: np.ndarray, batch: int) -> dict:
    total = float(latencies.sum())
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    return {
        "iterations": int(len(latencies)),
        "timed_seconds": round(total, 4),
        "images_per_s": batch * len(latencies) / total,
        "latency_ms": {"p50": p50 * 1e3, "p95": p95 * 1e3, "p99": p99 * 1e3, "mean": latencies.mean() * 1e3,
                       "min": latencies.min() * 1e3, "max": latencies.max() * 1e3},
        # with fewer than 100 runs, p99 (and with fewer than 20, p95) is interpolated towards the max
        "percentile_note": None if len(latencies) >= 100 else
        f"{len(latencies)} timed runs: p95/p99 interpolated (numpy linear) from few samples",
    }


def roofline(cost: ModelCost | None, device: DeviceInfo, dtype: str, batch: int, images_per_s: float) -> dict:
    """Achieved FLOP/s and its share of the device peak; for memory-bound models, bandwidth too."""
    if cost is None or cost.flops_per_image == 0:
        return {}
    dtype_bytes = 2 if dtype == "fp16" else 4
    achieved = cost.flops_per_image * images_per_s
    peak = device.peak_flops.get(dtype)
    out: dict = {"achieved_tflops": achieved / 1e12, "peak_tflops": peak / 1e12 if peak else None,
                 "fraction_of_peak": achieved / peak if peak else None}
    bytes_per_image = cost.bytes_per_image(batch, dtype_bytes)
    intensity = cost.flops_per_image / bytes_per_image
    out.update(bytes_per_image_est=bytes_per_image, arithmetic_intensity=intensity)
    if peak and device.peak_bandwidth:
        ridge = peak / device.peak_bandwidth
        out["ridge_intensity"] = ridge
        out["bound"] = "memory" if intensity < ridge else "compute"
        if intensity < ridge:
            bw = bytes_per_image * images_per_s
            out["achieved_bandwidth_gbs"] = bw / 1e9
            out["fraction_of_bandwidth"] = bw / device.peak_bandwidth
    return out
