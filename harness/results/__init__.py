"""The results table: one row per (probe, vendor). See :mod:`harness.results.schema`."""

from harness.results.schema import COLUMNS, SCHEMA_VERSION, VENDORS, METHODS

__all__ = ["COLUMNS", "SCHEMA_VERSION", "VENDORS", "METHODS"]
