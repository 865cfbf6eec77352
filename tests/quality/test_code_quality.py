"""The project's habits, checked with the test command: ruff and mypy clean (configured in
pyproject.toml), and the layer rules (import-linter contracts in pyproject.toml) kept."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_ruff_is_clean():
    res = _run(sys.executable, "-m", "ruff", "check", "--output-format", "concise", ".")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_mypy_is_clean():
    res = _run(sys.executable, "-m", "mypy", "--no-error-summary")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]


def test_layer_contracts_are_kept():
    exe = shutil.which("lint-imports")
    if exe is None:
        pytest.fail("lint-imports (import-linter) is not installed: it is in the test extra")
    res = _run(exe, "--no-cache")
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in res.stdout
