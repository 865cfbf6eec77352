"""Benchmarks: FLOPs from ONNX graphs, device peaks, timing runners (onnxruntime CPU/CUDA/TensorRT,
PyTorch CUDA via onnx2torch), results JSON and the Markdown tables generated from it."""

from harness.bench.device import DeviceInfo, cpu_device, gpu_device
from harness.bench.engine import CPU_FULL, GPU_FULL, QUICK, BenchConfig
from harness.bench.flops import FLOPS_METHOD, ModelCost, count_cost
from harness.bench.models import BenchModel, resolve_models
from harness.bench.runners import BACKENDS, BackendUnavailable, backend_status, make_runner
from harness.bench.suite import Combo, run_suite

__all__ = [
    "BACKENDS", "CPU_FULL", "FLOPS_METHOD", "GPU_FULL", "QUICK", "BackendUnavailable", "BenchConfig", "BenchModel",
    "Combo", "DeviceInfo", "ModelCost", "backend_status", "count_cost", "cpu_device", "gpu_device", "make_runner",
    "resolve_models", "run_suite",
]
