"""The device a benchmark ran on and its peak arithmetic rate and memory bandwidth.

GPU peaks come from vendor datasheets (dense, no sparsity). The CPU peak is computed:
cores x clock x FP32 FLOPs per cycle per core, where FLOPs per cycle follow from the instruction
set that lscpu/cpuinfo report (the assumption is written into every result).
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np


@dataclass
class DeviceInfo:
    kind: str  # "cpu" or "gpu"
    name: str
    peak_flops: dict[str, float]  # dtype ("fp32", "fp16") -> FLOP/s
    peak_bandwidth: float | None  # bytes/s, datasheet (GPU) or measured copy (CPU)
    peak_source: str
    bandwidth_source: str
    driver: str | None = None
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    @property
    def slug(self) -> str:
        base = re.sub(r"[^a-z0-9]+", "-", self.name.lower()).strip("-")
        return f"{self.kind}-{base}"[:60]


# name pattern -> (fp16 dense tensor FLOP/s, fp32 FLOP/s, memory bytes/s, source)
GPU_PEAKS: list[tuple[str, float, float, float, str]] = [
    (r"H200", 989.4e12, 66.9e12, 4.8e12,
     "NVIDIA H200 datasheet: same compute as H100 SXM (FP16 tensor 989 TFLOP/s dense, FP32 67 TFLOP/s), "
     "HBM3e 4.8 TB/s"),
    (r"H100.*PCIe", 756.0e12, 51.2e12, 2.0e12,
     "NVIDIA H100 datasheet, PCIe: FP16 tensor 756 TFLOP/s dense, FP32 51 TFLOP/s, 2.0 TB/s"),
    (r"H100.*NVL", 835.0e12, 60.0e12, 3.9e12,
     "NVIDIA H100 datasheet, NVL: FP16 tensor 835 TFLOP/s dense, FP32 60 TFLOP/s, 3.9 TB/s"),
    (r"H100", 989.4e12, 66.9e12, 3.35e12,
     "NVIDIA H100 datasheet, SXM: FP16 tensor 989 TFLOP/s dense, FP32 67 TFLOP/s, HBM3 3.35 TB/s"),
    (r"A100", 312.0e12, 19.5e12, 2.039e12,
     "NVIDIA A100 datasheet (80GB SXM): FP16 tensor 312 TFLOP/s dense, FP32 19.5 TFLOP/s, 2.0 TB/s"),
    (r"L4\b", 121.0e12, 30.3e12, 0.3e12, "NVIDIA L4 datasheet: FP16 tensor 121 TFLOP/s dense, FP32 30.3"),
]


def gpu_device(name: str, driver: str | None = None, details: dict | None = None) -> DeviceInfo:
    for pattern, fp16, fp32, bw, source in GPU_PEAKS:
        if re.search(pattern, name, re.IGNORECASE):
            return DeviceInfo("gpu", name, {"fp16": fp16, "fp32": fp32}, bw, source, source, driver, details or {})
    return DeviceInfo("gpu", name, {}, None, f"no datasheet peak known for {name!r}", "unknown", driver,
                      details or {})


def _lscpu_flags() -> set[str]:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Flags:"):
                return set(line.split(":", 1)[1].split())
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def _cpu_brand_and_clock() -> tuple[str, float | None, dict]:
    brand, hz, extra = platform.processor() or platform.machine(), None, {}
    try:
        import cpuinfo  # py-cpuinfo

        info = cpuinfo.get_cpu_info()
        brand = info.get("brand_raw") or brand
        hz = (info.get("hz_advertised") or info.get("hz_actual") or [None])[0]
        extra = {"vendor": info.get("vendor_id_raw"), "family": info.get("family"), "model": info.get("model")}
    except Exception:  # noqa: BLE001 - py-cpuinfo is optional; /proc/cpuinfo is the fallback
        pass
    if not hz:
        try:
            mhz = [float(line.split(":")[1]) for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.lower().startswith("cpu mhz")]
            hz = max(mhz) * 1e6 if mhz else None
        except OSError:
            pass
    return brand, hz, extra


def fp32_flops_per_cycle(flags: set[str], vendor: str | None = None, family: int | None = None) -> tuple[int, str]:
    """FP32 FLOPs per cycle per core, assuming two FMA pipes, from the vector extensions present."""
    if "avx512f" in flags and "fma" in flags:
        if vendor == "AuthenticAMD" and family == 25:  # Zen 4 executes 512-bit ops as two 256-bit halves
            return 32, "AVX-512 on AMD Zen 4 (double-pumped 256-bit): 2 FMA pipes x 8 lanes x 2"
        return 64, "AVX-512 FMA: assumed 2 x 512-bit FMA pipes x 16 FP32 lanes x 2 FLOPs (Zen 5 / Xeon SP class)"
    if "avx2" in flags and "fma" in flags:
        return 32, "AVX2 FMA: assumed 2 x 256-bit FMA pipes x 8 FP32 lanes x 2 FLOPs"
    if "avx" in flags:
        return 16, "AVX without FMA: 1 add + 1 multiply pipe x 8 lanes"
    return 8, "SSE: 1 add + 1 multiply pipe x 4 lanes"


def measure_copy_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Best-of-N numpy array copy, bytes read + written per second (a STREAM-copy-like measurement)."""
    src = np.ones(megabytes * (1 << 20) // 8, dtype=np.float64)
    dst = np.empty_like(src)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        np.copyto(dst, src)
        best = min(best, time.perf_counter() - t0)
    return 2 * src.nbytes / best


def cpu_device(threads: int | None = None, measure_bandwidth: bool = True) -> DeviceInfo:
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    cores = min(threads, available) if threads else available
    brand, hz, extra = _cpu_brand_and_clock()
    flags = _lscpu_flags()
    per_cycle, why = fp32_flops_per_cycle(flags, extra.get("vendor"), extra.get("family"))
    peak = cores * (hz or 0.0) * per_cycle
    source = (f"computed: {cores} cores x {hz / 1e9 if hz else float('nan'):.3f} GHz (base, cpuinfo) x "
              f"{per_cycle} FP32 FLOPs/cycle/core ({why}); turbo and AVX-512 clock offsets ignored")
    bw = measure_copy_bandwidth() if measure_bandwidth else None
    return DeviceInfo(
        "cpu", f"{brand} ({cores} core{'s' if cores != 1 else ''})", {"fp32": peak} if hz else {}, bw, source,
        "measured: best-of-5 numpy copy of 256 MiB (bytes read + written), not a datasheet figure",
        None, {"flags_used": sorted(flags & {"avx", "avx2", "fma", "avx512f", "avx512_bf16", "avx512_fp16",
                                             "avx_vnni", "amx_tile"}), "clock_hz": hz, **extra,
               "machine": platform.machine(), "logical_cpus": os.cpu_count()},
    )


def machine_facts() -> dict[str, object]:
    """What a benchmark result records about the machine it ran on: CPU model, cores, Python and the
    numeric stack's versions, the platform string."""
    import pandas as pd

    info: dict[str, object] = {
        "python": platform.python_version(), "numpy": np.__version__, "pandas": pd.__version__,
        "cpus": os.cpu_count(), "platform": platform.platform(),
    }
    # the model name alone does not tell two CPU generations apart (one "AMD EPYC" VM moved from Zen 5 to
    # Zen 3 between two recorded runs): family, model number and the vector flags are recorded too
    fields = {"model name": "cpu", "cpu family": "cpu_family", "model": "cpu_model_number", "cpu MHz": "cpu_mhz"}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep:
                if "cpu" in info:
                    break  # the first processor's block is enough
                continue
            if key in fields and fields[key] not in info:
                info[fields[key]] = value.strip()
            elif key == "flags" and "cpu_vector_flags" not in info:
                wanted = ("avx", "avx2", "fma", "avx512f", "avx512_vnni", "amx_tile")
                info["cpu_vector_flags"] = " ".join(f for f in wanted if f in value.split())
    except OSError:
        pass
    return info
