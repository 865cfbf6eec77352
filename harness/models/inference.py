"""One dedicated thread per process runs the CPU face models, with denormal floats flushed to zero.

Denormal (subnormal) float32 activations make x86 CPUs take a slow path in every multiply that
meets one: measured on an Intel Xeon, the embedder ran 1.8x faster with denormals-as-zero (DAZ) and
flush-to-zero (FTZ); on AMD Zen 3 about 8% faster per CPU-second. onnxruntime can switch them on
(``session.set_denormal_as_zero``), but it does so on the thread that creates the first session of
the process (once per process: a ``std::call_once``), and the mode then stays on that thread: numpy
and every other float computation on it would silently flush too (hypothesis and the metrics rely on
denormals). So the first session of the process is made here, on a thread that does nothing but run
models: that thread, and the intra-op worker threads of the sessions that ask for DAZ, compute with
denormals flushed; no other thread's floating-point mode changes.

:func:`harness.models.runtime.inference_session` makes a session whose ``run`` executes on that
thread (callers block for the answer). The thread also serialises model calls: with both cores
given to each call (intra-op threads), concurrent callers queue instead of oversubscribing them.
:func:`inference_facts` says whether the thread really flushes denormals (checked on it).
``DFI_INFERENCE_THREAD=0`` turns all of this off: sessions run on their callers' threads, no DAZ;
by default (``auto``) it is on for Intel CPUs only, where it was measured to pay (:func:`enabled`).
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

import numpy as np

ENV = "DFI_INFERENCE_THREAD"
THREAD_NAME = "dfi-inference"


def cpu_vendor() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def enabled() -> bool:
    """``DFI_INFERENCE_THREAD``: 1 on, 0 off; unset or ``auto``: on for Intel CPUs only. Measured: on an
    Intel Xeon flushing denormals made the embedder 1.8x faster; on AMD Zen 3 it changed nothing
    measurable and the thread hop cost 5-8% (benchmarks/results/pipeline_peak.json, run_inprocess.json)."""
    value = os.environ.get(ENV, "auto").strip().lower()
    if value in ("", "auto"):
        return cpu_vendor() == "GenuineIntel"
    return value not in ("0", "false", "no", "off")


class _InferenceThread:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Future]] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
        self._thread.start()
        self.flushes_denormals: bool = bool(self.call(_claim_denormal_mode))

    def _loop(self) -> None:
        while True:
            fn, fut = self._jobs.get()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                fut.set_result(fn())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                fut.set_exception(exc)

    def on_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def call(self, fn: Callable[[], Any]) -> Any:
        # a forked child inherits this object but not the thread: it runs the call itself
        if self.on_thread() or os.getpid() != self.pid:
            return fn()
        fut: Future = Future()
        self._jobs.put((fn, fut))
        return fut.result()


def _claim_denormal_mode() -> bool:
    """Create the process's first onnxruntime session here, with DAZ on, and report whether this thread
    now flushes denormals (a denormal times one is zero only under DAZ/FTZ)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph([helper.make_node("Identity", ["x"], ["y"])], "claim",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.add_session_config_entry("session.set_denormal_as_zero", "1")
    opts.log_severity_level = 3
    ort.InferenceSession(model.SerializeToString(), sess_options=opts, providers=["CPUExecutionProvider"])
    tiny = np.array([1e-39], np.float32)
    return bool((tiny * np.float32(1.0))[0] == 0.0)


_lock = threading.Lock()
_instance: _InferenceThread | None = None


def inference_thread() -> _InferenceThread | None:
    """The process's inference thread (started on first use), or None when turned off."""
    global _instance
    if not enabled():
        return None
    with _lock:
        if _instance is None:
            _instance = _InferenceThread()
        return _instance


def claim_before_first_session() -> None:
    """Called before any onnxruntime session is made, so the first one is the inference thread's."""
    inference_thread()


class ThreadBoundSession:
    """An onnxruntime session whose ``run`` executes on the inference thread (other methods delegate)."""

    def __init__(self, session: Any, worker: _InferenceThread):
        self._session = session
        self._worker = worker

    def run(self, output_names: Sequence[str] | None, feeds: dict[str, Any], *args: Any) -> list[np.ndarray]:
        return self._worker.call(lambda: self._session.run(output_names, feeds, *args))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def inference_facts() -> dict[str, object]:
    """For benchmark records: whether model calls run on the inference thread and flush denormals there."""
    worker = inference_thread()
    return {"inference_thread": worker is not None,
            "denormals_flushed_on_inference_thread": bool(worker and worker.flushes_denormals),
            "calling_thread_keeps_denormals": bool(np.float32(1e-39) * np.float32(1.0) != 0)}
