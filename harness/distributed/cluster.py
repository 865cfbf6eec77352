"""Where the work runs: a Ray cluster at an address, or a local one started on demand.

``import ray`` happens here and only when a cluster is asked for, so the rest of the harness imports
without the optional ``ray`` extra; without it, :func:`require_ray` says in one line how to install it.
A local instance is limited to this machine's CPUs (``os.cpu_count()``, or fewer when asked), and
is shut down when the job ends; a cluster that was already connected (a test's module-wide
instance, a notebook's) is used as it is and left running.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType

from harness.errors import DfiError

INSTALL_HINT = "pip install 'dfi[ray]'  (or: pip install 'ray>=2.9,<3')"
NAMESPACE = "dfi"  # named actors (the shared rate limiters) live here, so every dfi job on a cluster shares them


class RayUnavailableError(DfiError):
    """Ray is not installed, or the cluster cannot be reached."""


@dataclass(frozen=True)
class RaySettings:
    """``address``: a running cluster (``ray://host:10001``, ``host:6379``, ``auto``); None: start a
    local instance. ``cpus``: the local instance's CPUs (default: all of this machine's).
    ``workers``: shards run at once (default: the cluster's CPUs)."""

    address: str | None = None
    cpus: int | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        for name in ("cpus", "workers"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise DfiError(f"ray {name} must be at least 1, not {value}")


def parse_executor(text: str) -> tuple[str, RaySettings | None]:
    """``local`` -> ("local", None); ``ray`` / ``ray=ADDRESS`` -> ("ray", settings)."""
    name, sep, address = text.partition("=")
    name = name.strip().lower()
    if name == "local" and not sep:
        return "local", None
    if name == "ray":
        if sep and not address.strip():
            raise DfiError("--executor ray=ADDRESS needs an address (or plain `ray` for a local instance)")
        return "ray", RaySettings(address=address.strip() or None)
    raise DfiError(f"unknown executor {text!r}; choose local, ray or ray=ADDRESS")


def require_ray() -> ModuleType:
    try:
        import ray
    except ImportError:
        raise RayUnavailableError(f"--executor ray needs Ray, which is not installed: {INSTALL_HINT}") from None
    return ray


@contextmanager
def ray_cluster(settings: RaySettings | None = None) -> Iterator[ModuleType]:
    """The ``ray`` module, connected: to ``settings.address``, or to a local instance started here."""
    settings = settings or RaySettings()
    ray = require_ray()
    if ray.is_initialized():
        yield ray
        return
    try:
        if settings.address:
            ray.init(address=settings.address, namespace=NAMESPACE, log_to_driver=False)
        else:
            cpus = min(settings.cpus or os.cpu_count() or 1, os.cpu_count() or 1)
            ray.init(num_cpus=cpus, namespace=NAMESPACE, include_dashboard=False, log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = settings.address or "a local instance"
        raise RayUnavailableError(f"cannot start or reach the Ray cluster ({where}): {exc}") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def quiet_ray_data(ray: ModuleType) -> None:
    """Ray Data as a batch stage of a dfi command: no progress bars or per-dataset log lines of its own
    on the terminal (dfi prints what the stage did; warnings and errors still show)."""
    import logging

    import ray.data

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False
    context.print_on_execution_start = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)


def cluster_cpus(ray: ModuleType) -> int:
    """CPUs the connected cluster offers (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))
