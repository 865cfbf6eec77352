"""Shared fixtures: the study's data in ../shared/data and the installed face models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from harness.paths import shared_data_dir

# hypothesis's timing checks (a per-example deadline, "data generation is too slow") fail on a loaded
# shared machine without saying anything about behaviour; speed is measured in benchmarks/, not here.
settings.register_profile("dfi", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI runs the same examples every time (a failure there is reproducible, never a lucky draw);
# locally hypothesis explores new examples on each run.
settings.register_profile("ci", parent=settings.get_profile("dfi"), derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dfi")

if os.environ.get("PYTEST_XDIST_WORKER"):
    # one xdist worker per CPU: each worker (and the commands it starts, which inherit the variable)
    # runs its models and products on one thread, instead of every worker spreading over every core
    from threadpoolctl import threadpool_limits

    from harness.models.runtime import THREADS_ENV

    os.environ.setdefault(THREADS_ENV, "1")
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    threadpool_limits(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    p = shared_data_dir()
    if p is None:
        pytest.skip("../shared/data is absent (set DFI_SHARED_DATA to its location to run this test)")
    return p


@pytest.fixture(scope="session")
def models():
    """The default face pipeline (faceplugin models); skips when `dfi models fetch` has not been run."""
    from harness.models import ModelsNotInstalledError

    try:
        from harness.faces import default_pipeline

        return default_pipeline()
    except ModelsNotInstalledError as exc:
        pytest.skip(f"face models not installed ({exc})")


@pytest.fixture(scope="session")
def output_dir() -> Path:
    """tests/output/: artefacts a person should look at (plots, contact sheets). Git-ignored."""
    p = Path(__file__).parent / "output"
    p.mkdir(exist_ok=True)
    return p


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``--dist loadgroup``, set in pyproject.toml) a test module stays on one
    worker, so its module fixtures (servers, galleries, models) are built once; every Ray test shares
    one group, so only one local Ray instance runs at a time on a small machine."""
    for item in items:
        module = item.path.relative_to(config.rootpath).as_posix()
        group = "ray" if module.startswith("tests/distributed/") else module
        item.add_marker(pytest.mark.xdist_group(group))
