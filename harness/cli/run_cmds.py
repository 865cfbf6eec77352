"""Deprecated alias of the old module name, kept for callers not yet updated (tests outside the CLI's
own): ``dfi run`` lives in :mod:`harness.cli.run`, the demo gallery in :mod:`harness.jobs.run`."""

from __future__ import annotations

from harness.cli.run import run_cmd
from harness.jobs.run import demo_gallery as _demo_gallery

__all__ = ["_demo_gallery", "run_cmd"]
