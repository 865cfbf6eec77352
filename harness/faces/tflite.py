"""TFLite models of the face backends (ai-edge-litert): shared, locked interpreters, batch by resizing.

A TFLite interpreter is not safe to call from two threads, while the face pipeline promises thread
safety (its onnxruntime sessions are). Each model file therefore gets one ``TfliteModel`` per thread
count for the whole process, and every call holds its lock.

Resizing an interpreter's input re-plans the XNNPACK graph: 10-100 ms for MobileFaceNet, up to
hundreds of ms for P-Net's large inputs, often more than the inference itself. So each input shape
gets its own interpreter, made once, and a batch is split into ``max_batch`` chunks plus a remainder
in powers of two (13 = 8 + 4 + 1): a handful of shapes, none padded.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from harness.models.runtime import THREADS_ENV


def resolve_threads(threads: int | None) -> int:
    """The onnxruntime models' thread option, for TFLite: explicit, else $DFI_ORT_THREADS, else every
    core, as onnxruntime does (TFLite's own default is one thread: 2 cores measured 1.3-1.8x faster)."""
    if threads is None and os.environ.get(THREADS_ENV):
        threads = int(os.environ[THREADS_ENV])
    return threads if threads and threads > 0 else (os.cpu_count() or 1)


def batch_sizes(n: int, max_batch: int) -> list[int]:
    """Split n rows into full ``max_batch`` chunks, then the remainder's binary digits, largest first."""
    sizes = [max_batch] * (n // max_batch)
    rest = n % max_batch
    bit = 1 << max(rest.bit_length() - 1, 0)
    while rest:
        if rest & bit:
            sizes.append(bit)
            rest -= bit
        bit >>= 1
    return sizes


class TfliteModel:
    """One model with a single float input: any batch, outputs by tensor name."""

    def __init__(self, content: bytes, threads: int, label: str, max_batch: int):
        self.label = label
        self.max_batch = max_batch
        self._content = content
        self._threads = threads
        self._lock = threading.Lock()
        self._by_shape: dict[tuple[int, ...], Interpreter] = {}
        probe = Interpreter(model_content=content, num_threads=threads)  # details only: not allocated
        (inp,) = probe.get_input_details()
        self._input = int(inp["index"])
        self.input_shape: tuple[int, ...] = tuple(int(v) for v in inp["shape"])
        self.outputs: dict[str, int] = {d["name"]: int(d["index"]) for d in probe.get_output_details()}

    def _interpreter(self, shape: tuple[int, ...]) -> Interpreter:
        interp = self._by_shape.get(shape)
        if interp is None:
            interp = Interpreter(model_content=self._content, num_threads=self._threads)
            interp.resize_tensor_input(self._input, list(shape))
            with _without_xnnpack_notice():
                interp.allocate_tensors()
            self._by_shape[shape] = interp
        return interp

    def run(self, x: np.ndarray) -> dict[str, np.ndarray]:
        """Outputs by tensor name for the float32 batch ``x`` (N >= 1)."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        if len(x) == 0:
            raise ValueError(f"{self.label}: empty batch")
        parts: list[dict[str, np.ndarray]] = []
        start = 0
        with self._lock:
            for n in batch_sizes(len(x), self.max_batch):
                interp = self._interpreter((n, *x.shape[1:]))
                interp.set_tensor(self._input, x[start : start + n])
                interp.invoke()
                parts.append({name: interp.get_tensor(i) for name, i in self.outputs.items()})
                start += n
        if len(parts) == 1:
            return parts[0]
        return {name: np.concatenate([p[name] for p in parts]) for name in self.outputs}


def load_tflite(path: Path, threads: int | None = None, *, max_batch: int = 8,
                transform: Callable[[bytes], bytes] | None = None) -> TfliteModel:
    """The process-wide model for ``path`` (optionally rewritten in memory by ``transform``)."""
    return _load(path, resolve_threads(threads), max_batch, transform)


@functools.cache
def _load(path: Path, threads: int, max_batch: int,
          transform: Callable[[bytes], bytes] | None) -> TfliteModel:
    content = path.read_bytes()
    return TfliteModel(transform(content) if transform else content, threads, path.name, max_batch)



_XNNPACK_NOTICE = b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU."
_notice_lock = threading.Lock()


@contextlib.contextmanager
def _without_xnnpack_notice() -> Iterator[None]:
    """Swallow the one-line notice TFLite's C++ core writes to stderr when it first applies its default
    XNNPACK delegate (in ``allocate_tensors``; it would land in every command's output); anything else
    written to stderr meanwhile is passed on."""
    with _notice_lock, tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            rest = b"\n".join(line for line in captured.read().splitlines() if line.strip() != _XNNPACK_NOTICE)
            if rest:
                sys.stderr.buffer.write(rest + b"\n")
                sys.stderr.flush()
