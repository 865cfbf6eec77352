"""Deprecated alias of the old module name, kept for callers not yet updated (tests outside the CLI's
own): ``dfi defend`` lives in :mod:`harness.cli.defend`, ``dfi simulate`` in :mod:`harness.cli.simulate`."""

from __future__ import annotations

from harness.cli.defend import defend_cmd
from harness.cli.simulate import simulate_cmd

__all__ = ["defend_cmd", "simulate_cmd"]
