"""One local Ray instance of 2 CPUs for every Ray test of the session (they share one xdist group,
tests/conftest.py), started on first use: Ray takes 10-20 s to start here."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(scope="session")
def local_ray() -> Iterator[object]:
    pytest.importorskip("ray", reason="the ray extra is not installed (pip install 'dfi[ray]')")
    from ray_doubles import start_local_ray

    yield from start_local_ray()
