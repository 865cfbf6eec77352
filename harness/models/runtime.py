"""onnxruntime sessions: execution-provider choice by name with fallback, threads, no spinning."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import onnxruntime as ort

from harness.errors import DfiError
from harness.models.inference import ThreadBoundSession, claim_before_first_session, inference_thread

log = logging.getLogger(__name__)

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
    "trt": "TensorrtExecutionProvider",
}
THREADS_ENV = "DFI_ORT_THREADS"
PROVIDERS_ENV = "DFI_ORT_PROVIDERS"


class ProviderError(DfiError):
    """None of the requested execution providers is usable."""


def resolve_providers(requested: Sequence[str] | str | None) -> list[str]:
    """Map names like ``"cuda,cpu"`` to available onnxruntime providers, keeping the order.

    Unavailable ones are dropped with a log line; CPU is always the last resort.
    ``None`` means ``$DFI_ORT_PROVIDERS`` or CPU only.
    """
    if requested is None:
        requested = os.environ.get(PROVIDERS_ENV, "cpu")
    if isinstance(requested, str):
        requested = [p.strip() for p in requested.split(",") if p.strip()]
    available = set(ort.get_available_providers())
    chosen: list[str] = []
    for name in requested:
        full = PROVIDER_ALIASES.get(name.lower(), name)
        if full not in available:
            log.warning("onnxruntime provider %s is not available here (have: %s); skipping it",
                        full, ", ".join(sorted(available)))
            continue
        if full not in chosen:
            chosen.append(full)
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    return chosen


def session_options(
    threads: int | None = None, spinning: bool = False, denormal_as_zero: bool = False
) -> ort.SessionOptions:
    opts = ort.SessionOptions()
    if threads is None and os.environ.get(THREADS_ENV):
        threads = int(os.environ[THREADS_ENV])
    if threads:
        opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # Busy-waiting worker threads steal the only other core on small machines.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    opts.add_session_config_entry("session.inter_op.allow_spinning", "1" if spinning else "0")
    # Off by default: the face models ask for it and run on the inference thread, whose session is the
    # process's first, so only that thread's mode changes (harness.models.inference); the prepared graphs
    # have their denormal weights flushed too.
    opts.add_session_config_entry("session.set_denormal_as_zero", "1" if denormal_as_zero else "0")
    opts.log_severity_level = 3
    return opts


def make_session(
    model: Path | bytes,
    providers: Sequence[str] | str | None = None,
    threads: int | None = None,
    spinning: bool = False,
    denormal_as_zero: bool = False,
) -> ort.InferenceSession:
    claim_before_first_session()  # the process's first session must be the inference thread's (DAZ there only)
    chosen = resolve_providers(providers)
    src = model if isinstance(model, bytes) else str(model)
    options = session_options(threads, spinning, denormal_as_zero)
    sess = ort.InferenceSession(src, sess_options=options, providers=chosen)
    used = sess.get_providers()
    name = Path(model).name if not isinstance(model, bytes) else "<in-memory model>"
    log.info("%s runs on %s", name, used[0])
    return sess


def inference_session(model: Path | bytes, providers: Sequence[str] | str | None = None,
                      threads: int | None = None) -> ort.InferenceSession | ThreadBoundSession:
    """A session of ``model`` whose ``run`` executes on the inference thread with denormals flushed
    (:mod:`harness.models.inference`), or a plain session when that thread is turned off or the session
    runs on a GPU."""
    worker = inference_thread()
    if worker is None:
        return make_session(model, providers, threads)
    session = worker.call(lambda: make_session(model, providers, threads, denormal_as_zero=True))
    if session.get_providers()[0] != "CPUExecutionProvider":
        return session
    return ThreadBoundSession(session, worker)
