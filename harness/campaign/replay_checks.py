"""What a journal record must look like before a resumed campaign trusts it.

A record that fails is quarantined (:meth:`harness.campaign.journal.Journal.quarantine`) and the
call or row it stood for is made again: a damaged or edited journal costs some repeated work, never
a wrong number in the results and never a resume that fails until ``--fresh``."""

from __future__ import annotations

import math
from typing import Any

from harness.results.io import SCORE_COLUMNS, TEXT_COLUMNS
from harness.vendors import registry

_OPERATIONS = ("recognize", "similarity")


def _score_problem(value: Any, what: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{what} {value!r} is not a number"
    if not math.isfinite(value) or not 0.0 <= value <= 100.0:
        return f"{what} {value!r} is outside the 0-100 scale"
    return None


def call_problem(record: dict[str, Any]) -> str | None:
    """Why a ``{"k": "c"}`` record (one vendor answer) cannot be replayed; None when it can."""
    if record.get("v") not in registry.names():
        return f"unknown vendor {record.get('v')!r}"
    if record.get("o") not in _OPERATIONS:
        return f"unknown operation {record.get('o')!r}"
    if not isinstance(record.get("h"), str) or not record["h"]:
        return "no image key"
    if record.get("n") is not None and not isinstance(record["n"], str):
        return f"name {record['n']!r} is not text"
    if not isinstance(record.get("e", ""), str):
        return f"error {record['e']!r} is not text"
    return _score_problem(record.get("c"), "confidence") or _score_problem(record.get("s"), "similarity")


def row_problem(record: dict[str, Any]) -> str | None:
    """Why a ``{"k": "r"}`` record (one finished results row) cannot be replayed; None when it can."""
    row = record.get("row")
    if not isinstance(row, dict):
        return "no row"
    if row.get("vendor") not in registry.names():
        return f"unknown vendor {row.get('vendor')!r}"
    if not isinstance(row.get("probe_id"), str) or not row["probe_id"]:
        return "no probe_id"
    for column in TEXT_COLUMNS:
        if row.get(column) is not None and not isinstance(row[column], str):
            return f"{column} {row[column]!r} is not text"
    for column in SCORE_COLUMNS:
        problem = _score_problem(row.get(column), column)
        if problem:
            return problem
    return None
