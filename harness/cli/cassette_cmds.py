"""Deprecated alias of the old module name, kept for callers not yet updated (tests outside the CLI's
own): the commands live in :mod:`harness.cli.cassettes`, :mod:`harness.cli.compare` and
:mod:`harness.cli.calibrate`."""

from __future__ import annotations

from harness.cli.calibrate import calibrate_cmd
from harness.cli.cassettes import cassettes_group
from harness.cli.compare import compare_group

__all__ = ["calibrate_cmd", "cassettes_group", "compare_group"]
