"""The fixed choices the command line offers (``--by``, ``--crop``), in a module free of numpy and
pandas so that ``dfi`` builds its options without importing the jobs (first output stays fast).

``CROPPERS`` mirrors :data:`harness.campaign.prepare.CROPPERS`, which validates the choice (a test
keeps the two equal)."""

from __future__ import annotations

# a grouping name -> the result columns the metrics are grouped on
GROUPINGS: dict[str, tuple[str, ...]] = {"dataset": ("dataset", "vendor"), "source": ("dataset", "vendor", "source")}
CROPPERS: tuple[str, ...] = ("faceplugin", "mtcnn")
