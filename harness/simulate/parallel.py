"""How the simulation uses the machine's cores: its tasks (building a chunk of the world, one vendor's
answers on a chunk) run on threads, each with one BLAS thread.

numpy releases the GIL in the random draws, the elementwise arithmetic and the gallery products, so
tasks on separate threads run on separate cores. Holding BLAS to one thread per product also makes
the answers independent of the machine's core count: a float32 product's rounding depends on how
OpenBLAS splits it between threads, and before this a 16-core machine named a different celebrity
now and then than a 2-core one on the same seed.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

from harness.simulate.params import SimulationError


def default_workers() -> int:
    """The CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def worker_count(workers: int | None) -> int:
    if workers is None:
        return default_workers()
    if workers < 1:
        raise SimulationError(f"the simulation needs at least one worker thread, not {workers}")
    return workers


@contextmanager
def single_blas_thread() -> Iterator[None]:
    """BLAS held to one thread per call while open (process-wide: OpenBLAS has one setting)."""
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@contextmanager
def task_pool(workers: int | None = None) -> Iterator[ThreadPoolExecutor]:
    """``workers`` threads (default :func:`default_workers`) with one BLAS thread per call."""
    with single_blas_thread(), ThreadPoolExecutor(worker_count(workers),
                                                  thread_name_prefix="dfi-simulate") as pool:
        yield pool
