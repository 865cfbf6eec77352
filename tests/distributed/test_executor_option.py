"""``--executor``: its values, and the one-line install hint when ray is not installed (runs without ray)."""

from __future__ import annotations

import sys

import pytest
from click.testing import CliRunner

from harness.distributed.cluster import RaySettings, RayUnavailableError, parse_executor, require_ray
from harness.errors import DfiError


def test_executor_values():
    assert parse_executor("local") == ("local", None)
    assert parse_executor("ray") == ("ray", RaySettings())
    assert parse_executor("ray=10.0.0.5:6379") == ("ray", RaySettings(address="10.0.0.5:6379"))
    for bad in ("spark", "ray=", "local=x"):
        with pytest.raises(DfiError):
            parse_executor(bad)
    with pytest.raises(DfiError):
        RaySettings(workers=0)


def test_without_ray_the_executor_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError, as when it is not installed
    with pytest.raises(RayUnavailableError, match=r"pip install 'dfi\[ray\]'"):
        require_ray()
    from harness.cli import cli

    for args in (["run", "--executor", "ray", "--no-progress"], ["simulate", "--executor", "ray"]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code != 0
        assert isinstance(result.exception, RayUnavailableError)
        message = str(result.exception)
        assert "\n" not in message and "pip install 'dfi[ray]'" in message
