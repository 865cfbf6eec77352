"""The results table: one row per (probe, vendor). See :mod:`harness.results.schema`."""

from harness.results.io import empty_results, read_results, results_from_rows, validate_results, write_results
from harness.results.schema import COLUMNS, METHODS, SCHEMA_VERSION

__all__ = [
    "COLUMNS", "SCHEMA_VERSION", "METHODS",
    "read_results", "write_results", "empty_results", "results_from_rows", "validate_results",
]
