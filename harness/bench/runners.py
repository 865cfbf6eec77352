"""Backends that run one model at one batch size: onnxruntime (CPU, CUDA, TensorRT) and PyTorch CUDA.

Each runner's ``prepare(model_path, batch)`` returns a zero-argument *step* that runs one batch on
device-resident random input and returns only when the device has finished, so wall-clock time
around it is the batch latency. PyTorch and onnx2torch are imported only when their backend is
used: on a machine without them the backend reports itself unavailable with the reason.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from harness.errors import DfiError

Step = Callable[[], None]

ORT_PROVIDERS = {"ort-cpu": "CPUExecutionProvider", "ort-cuda": "CUDAExecutionProvider",
                 "ort-trt": "TensorrtExecutionProvider"}
BACKENDS = (*ORT_PROVIDERS, "torch-cuda")
GPU_BACKENDS = ("ort-cuda", "ort-trt", "torch-cuda")


class BackendUnavailable(DfiError):
    """The backend cannot run on this machine (library or device missing); says which and how to get it."""


class ModelInputError(DfiError):
    """The model's inputs cannot be fed with synthetic data (e.g. a symbolic dimension other than batch)."""


_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(float16)": np.float16, "tensor(double)": np.float64,
                "tensor(uint8)": np.uint8, "tensor(int8)": np.int8, "tensor(int32)": np.int32,
                "tensor(int64)": np.int64, "tensor(bool)": np.bool_}


def input_specs(inputs: list, batch: int) -> list[tuple[str, list[int], type]]:
    """(name, shape, numpy dtype) of each onnxruntime ``NodeArg`` input, the first dimension set to ``batch``."""
    specs = []
    for arg in inputs:
        shape = list(arg.shape)
        if shape and not isinstance(shape[0], int):
            shape[0] = batch
        elif shape and shape[0] != batch:
            raise ModelInputError(f"input {arg.name!r} has a fixed batch of {shape[0]}; cannot run batch {batch}")
        bad = [d for d in shape[1:] if not isinstance(d, int) or d < 1]
        if bad:
            raise ModelInputError(f"input {arg.name!r} has symbolic dimension(s) {bad} besides the batch")
        dtype = _NUMPY_TYPES.get(arg.type)
        if dtype is None:
            raise ModelInputError(f"input {arg.name!r} has unsupported type {arg.type}")
        specs.append((arg.name, shape, dtype))
    return specs


@dataclass(frozen=True)
class GraphInput:
    """What ``input_specs`` needs of an input, read from the ONNX file (no session built)."""

    name: str
    shape: list
    type: str


def graph_inputs(model_path: Path) -> list[GraphInput]:
    model = onnx.load(str(model_path), load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    out = []
    for inp in model.graph.input:
        if inp.name in inits:
            continue
        t = inp.type.tensor_type
        shape = [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in t.shape.dim]
        np_type = onnx.helper.tensor_dtype_to_np_dtype(t.elem_type)
        type_name = next((k for k, v in _NUMPY_TYPES.items() if np.dtype(v) == np_type), f"tensor({np_type})")
        out.append(GraphInput(inp.name, shape, type_name))
    return out


def synthetic_inputs(inputs: list, batch: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Random host arrays for the model's inputs (uniform -1..1 for floats)."""
    rng = np.random.default_rng(seed)
    feeds: dict[str, np.ndarray] = {}
    for name, shape, dtype in input_specs(inputs, batch):
        if np.issubdtype(dtype, np.floating):
            feeds[name] = (rng.random(shape, dtype=np.float32) * 2 - 1).astype(dtype, copy=False)
        elif dtype == np.bool_:
            feeds[name] = rng.integers(0, 2, shape).astype(bool)
        else:
            feeds[name] = rng.integers(0, 127, shape).astype(dtype)
    return feeds


def library_versions() -> dict[str, str | None]:
    names = ["numpy", "onnx", "onnxscript", "onnxruntime", "onnxruntime-gpu", "torch", "onnx2torch"]
    out: dict[str, str | None] = {}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def nvidia_smi() -> dict | None:
    """Name, driver and memory of GPU 0 from nvidia-smi, or None without one."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
            capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0 or not out.stdout.strip():
        return None
    name, driver, memory = [v.strip() for v in out.stdout.strip().splitlines()[0].split(",")[:3]]
    return {"name": name, "driver": driver, "memory": memory}


def backend_status(backend: str) -> str | None:
    """None when ``backend`` can run here, else the reason it cannot."""
    if backend in ORT_PROVIDERS:
        provider = ORT_PROVIDERS[backend]
        if provider not in ort.get_available_providers():
            return (f"onnxruntime {ort.__version__} here has no {provider} "
                    f"(install onnxruntime-gpu for CUDA/TensorRT; have: {', '.join(ort.get_available_providers())})")
        if backend != "ort-cpu" and nvidia_smi() is None:
            return f"{provider} is installed but no NVIDIA GPU answers nvidia-smi"
        return None
    if backend == "torch-cuda":
        try:
            import torch
        except ImportError:
            return "PyTorch is not installed here (the torch-cuda backend needs PyTorch with CUDA and onnx2torch)"
        if not torch.cuda.is_available():
            return f"PyTorch {torch.__version__} sees no CUDA device"
        try:
            import onnx2torch  # noqa: F401
        except ImportError:
            return ("onnx2torch is not installed (pip install onnx2torch, or carry the wheel that "
                    "benchmarks/prepare_gpu_carry.sh downloads)")
        return None
    return f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}"


@dataclass
class OrtRunner:
    """onnxruntime with one execution provider. GPU providers use I/O binding on device memory."""

    backend: str = "ort-cpu"
    dtype: str = "fp32"
    threads: int | None = None
    cache_dir: Path | None = None  # TensorRT engine cache
    _sessions: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.backend not in ORT_PROVIDERS:
            raise BackendUnavailable(f"not an onnxruntime backend: {self.backend}")
        if self.dtype == "fp16" and self.backend == "ort-cpu":
            raise BackendUnavailable("fp16 is not benchmarked on the CPU provider (no fp16 kernels for most ops)")
        reason = backend_status(self.backend)
        if reason:
            raise BackendUnavailable(reason)

    @property
    def provider(self) -> str:
        return ORT_PROVIDERS[self.backend]

    def describe(self) -> dict:
        return {"backend": self.backend, "provider": self.provider, "dtype": self.dtype, "threads": self.threads,
                "onnxruntime": ort.__version__, "cpu_mem_arena": self.backend != "ort-cpu",
                "fp16_method": None if self.dtype == "fp32" else (
                    "TensorRT builder flag trt_fp16_enable" if self.backend == "ort-trt" else
                    "graph converted with onnxruntime.transformers.float16 (inputs/outputs kept fp32)")}

    def _session(self, model_path: Path, batch: int) -> ort.InferenceSession:
        key = (str(model_path), batch if self.backend == "ort-trt" else None)
        if key in self._sessions:
            return self._sessions[key]
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        if self.threads:
            opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.backend == "ort-cpu":
            # the CPU arena grows in powers of two: at batch 128 it doubled peak memory (Xception 2.9 vs 1.5 GB
            # at batch 32), which a shared 24 GB machine cannot spare; plain allocation costs little here
            opts.enable_cpu_mem_arena = False
        model: str | bytes = str(model_path)
        providers: list = [self.provider]
        if self.backend == "ort-cuda":
            if self.dtype == "fp16":
                from onnxruntime.transformers.float16 import convert_float_to_float16

                model = convert_float_to_float16(onnx.load(str(model_path)), keep_io_types=True).SerializeToString()
            providers = [(self.provider, {"cudnn_conv_algo_search": "EXHAUSTIVE"}), "CPUExecutionProvider"]
        elif self.backend == "ort-trt":
            shapes = self._trt_profile(model_path, batch)
            trt_opts = {"trt_fp16_enable": self.dtype == "fp16", "trt_profile_min_shapes": shapes,
                        "trt_profile_opt_shapes": shapes, "trt_profile_max_shapes": shapes}
            if self.cache_dir:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                trt_opts.update(trt_engine_cache_enable=True, trt_engine_cache_path=str(self.cache_dir))
            providers = [(self.provider, trt_opts), "CUDAExecutionProvider", "CPUExecutionProvider"]
        sess = ort.InferenceSession(model, opts, providers=providers)
        if sess.get_providers()[0] != self.provider:
            raise BackendUnavailable(f"onnxruntime fell back to {sess.get_providers()[0]} for {model_path.name}")
        self._sessions[key] = sess
        return sess

    @staticmethod
    def _trt_profile(model_path: Path, batch: int) -> str:
        parts = []
        for inp in graph_inputs(model_path):
            dims = [d if isinstance(d, int) and d > 0 else batch for d in inp.shape]
            dims[0] = batch
            parts.append(f"{inp.name}:{'x'.join(map(str, dims))}")
        return ",".join(parts)

    def prepare(self, model_path: Path, batch: int) -> Step:
        sess = self._session(model_path, batch)
        feeds = synthetic_inputs(sess.get_inputs(), batch)
        if self.backend == "ort-cpu":
            def run_on_cpu() -> None:
                sess.run(None, feeds)

            return run_on_cpu
        binding = sess.io_binding()
        for name, array in feeds.items():
            binding.bind_ortvalue_input(name, ort.OrtValue.ortvalue_from_numpy(array, "cuda", 0))
        for out in sess.get_outputs():
            binding.bind_output(out.name, "cuda", 0)

        def step() -> None:
            sess.run_with_iobinding(binding)
            binding.synchronize_outputs()

        return step

    def close(self) -> None:
        self._sessions.clear()


@dataclass
class TorchCudaRunner:
    """ONNX -> PyTorch (onnx2torch) on CUDA, channels-last, optional CUDA graphs or torch.compile."""

    dtype: str = "fp16"
    cuda_graphs: bool = True
    compile: bool = False
    backend: str = "torch-cuda"
    # "cpu" runs the same conversion and step code without CUDA (eager, no graphs): for tests only
    device: str = "cuda"
    _modules: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.device == "cuda":
            reason = backend_status("torch-cuda")
            if reason:
                raise BackendUnavailable(reason)
        import torch

        torch.backends.cudnn.benchmark = True
        # "fp32" means FP32 arithmetic, compared against the FP32 peak: no TF32 tensor cores
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False

    @property
    def provider(self) -> str:
        return "onnx2torch+cuda-graphs" if self.cuda_graphs and not self.compile else (
            "onnx2torch+torch.compile" if self.compile else "onnx2torch")

    def describe(self) -> dict:
        import onnx2torch
        import torch

        return {"backend": self.backend, "provider": self.provider, "dtype": self.dtype,
                "torch": torch.__version__, "cuda": torch.version.cuda,
                "cudnn": torch.backends.cudnn.version(), "onnx2torch": getattr(onnx2torch, "__version__", None),
                "cuda_graphs": self.cuda_graphs, "torch_compile": self.compile, "channels_last": True,
                "tf32": False, "fp16_method": "module.half() after conversion" if self.dtype == "fp16" else None}

    def _module(self, model_path: Path, batch: int):
        """The converted module, cached per file (per batch too when the graph reads shapes at run time)."""
        import torch
        from onnx2torch import convert

        from harness.bench.convert import reads_shapes_at_run_time, torch_ready_model

        per_batch = reads_shapes_at_run_time(onnx.load(str(model_path), load_external_data=False))
        key = (str(model_path), batch if per_batch else None)
        if isinstance(self._modules.get(key), Exception):
            raise self._modules[key]  # conversion failed once: do not retry it for every batch size
        if key not in self._modules:
            try:
                module = convert(torch_ready_model(model_path, batch if per_batch else None)).eval()
            except Exception as exc:
                self._modules[key] = exc
                raise
            module = module.to(self.device)
            if self.dtype == "fp16":
                module = module.half()
            # integer constants (shapes, axes) stay on the host: reading them then costs no device sync
            for sub in module.modules():
                for name, buf in list(sub._buffers.items()):
                    if buf is not None and not buf.is_floating_point():
                        sub._buffers[name] = buf.cpu()
            module = module.to(memory_format=torch.channels_last)
            if self.compile:
                module = torch.compile(module, mode="max-autotune-no-cudagraphs", dynamic=False)
            self._modules[key] = module
        return self._modules[key]

    def prepare(self, model_path: Path, batch: int) -> Step:
        """A step replaying a CUDA graph of the module (eager when capture fails: ``step.mode`` says which)."""
        import torch

        module = self._module(model_path, batch)
        sess_inputs = graph_inputs(model_path)
        dtype = torch.float16 if self.dtype == "fp16" else torch.float32
        xs = []
        generator = torch.Generator(device=self.device).manual_seed(0)
        on_cuda = self.device == "cuda"
        sync = torch.cuda.synchronize if on_cuda else (lambda: None)
        for _, shape, np_dtype in input_specs(sess_inputs, batch):
            if np.issubdtype(np_dtype, np.floating):  # made on the device: no host generation or copy
                t = torch.rand(shape, device=self.device, dtype=dtype, generator=generator) * 2 - 1
            else:
                t = torch.from_numpy(np.zeros(shape, dtype=np_dtype)).to(self.device)
            if t.dim() == 4:
                t = t.contiguous(memory_format=torch.channels_last)
            xs.append(t)

        def eager() -> None:
            with torch.no_grad():
                eager.outputs = module(*xs)  # type: ignore[attr-defined]
            sync()

        eager.mode = "torch.compile" if self.compile else "eager"  # type: ignore[attr-defined]
        eager.inputs = xs  # type: ignore[attr-defined]
        eager()  # cudnn autotuning for this shape happens here, outside any timing
        if not self.cuda_graphs or self.compile or not on_cuda:
            return eager
        try:
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side), torch.no_grad():
                for _ in range(2):
                    module(*xs)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.no_grad(), torch.cuda.graph(graph):
                module(*xs)
        except Exception as exc:  # noqa: BLE001 - e.g. a converted op that syncs with the host
            torch.cuda.synchronize()
            eager.mode = f"eager (CUDA graph capture failed: {type(exc).__name__})"  # type: ignore[attr-defined]
            return eager

        def replay() -> None:
            graph.replay()
            torch.cuda.synchronize()

        replay.mode = "cuda-graph"  # type: ignore[attr-defined]
        # keeps the graph and its memory pool alive as long as the step
        replay.graph = graph  # type: ignore[attr-defined]
        return replay

    def close(self) -> None:
        self._modules.clear()
        try:
            import torch

            torch.cuda.empty_cache()
        except ImportError:
            pass


def make_runner(backend: str, dtype: str, *, threads: int | None = None, cuda_graphs: bool = True,
                torch_compile: bool = False, cache_dir: Path | None = None):
    if backend in ORT_PROVIDERS:
        return OrtRunner(backend, dtype, threads, cache_dir)
    if backend == "torch-cuda":
        return TorchCudaRunner(dtype, cuda_graphs, torch_compile)
    raise BackendUnavailable(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
