"""Start-up of a `dfi serve` subprocess: the endpoints it prints."""

from __future__ import annotations

import re
import subprocess
import time


def wait_for_endpoints(proc: subprocess.Popen, timeout: float = 120) -> dict[str, str]:
    out, deadline = "", time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                break
            continue
        out += line
        if "Ctrl-C stops" in line:
            return dict(re.findall(r"(DFI_\w+)=(http://[\d.:]+)", out))
    raise AssertionError(f"dfi serve did not start:\n{out}\n{proc.stderr.read() if proc.stderr else ''}")
