"""Every metric per group of celebrities sharing an attribute (region, gender, ...) from a user's file.

The study grouped its celebrities by attributes it labelled by inspection; the harness ships no
labels, so the grouping is whatever the user's file says.

Attribute file format
---------------------
A CSV file in UTF-8 (a byte-order mark is allowed) with a header row. The column ``celebrity``
holds the celebrity's name exactly as the datasets label the deepfake's target (the ``target``
column of the results table, e.g. ``Emma Watson``); every other column is one attribute, its cells
the celebrity's value of it::

    celebrity,region,gender
    Emma Watson,Europe,female
    Bae Suzy,East Asia,female
    Tom Hanks,North America,

* at least one attribute column besides ``celebrity``; column names must be distinct and non-empty;
* at least one celebrity row; each celebrity on one row only, and no row without a name;
* a blank cell is the group ``(unlabelled)``; surrounding spaces in names and values are ignored;
* a deepfake whose target celebrity is not in the file counts in the group ``(not in file)``.

Rows are grouped by the deepfake's target celebrity (``target``), so a blend counts under its
first blended celebrity and a CelebFOM reenactment under the impersonated person, not the driver.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

from harness.errors import InputFileError
from harness.metrics.compute import RECORD_COLUMNS, compute_metrics
from harness.study.data import ALL_DATASETS, dataset_order
from harness.study.definitions import StudyDefinitions

CELEBRITY = "celebrity"
UNLABELLED = "(unlabelled)"
NOT_IN_FILE = "(not in file)"
SPECIAL_GROUPS: tuple[str, ...] = (UNLABELLED, NOT_IN_FILE)  # listed after the file's own values
KEY_COLUMNS: tuple[str, ...] = ("attribute", "group", "dataset", "vendor", "celebrities")
ATTRIBUTE_METRIC_COLUMNS: tuple[str, ...] = KEY_COLUMNS + RECORD_COLUMNS


def read_attributes(path: str | Path) -> pd.DataFrame:
    """The attribute file (see the module notes) as a frame: ``celebrity`` then each attribute, all text.

    Raises :class:`~harness.errors.InputFileError` naming the file (and row or column) when it is
    missing, unreadable, or breaks the format.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.reader(handle)]
    except FileNotFoundError:
        raise InputFileError(str(path), "no such attribute file") from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputFileError(str(path), f"cannot be read as a UTF-8 CSV file: {exc}") from None
    numbered = [(i, [cell.strip() for cell in row]) for i, row in enumerate(rows, start=1)
                if any(cell.strip() for cell in row)]
    if not numbered:
        raise InputFileError(str(path), f"is empty; expected a header row with a {CELEBRITY!r} column")
    _, header = numbered[0]
    _check_header(path, header)
    width = len(header)
    records = []
    seen: dict[str, int] = {}
    for line, cells in numbered[1:]:
        if len(cells) > width:
            raise InputFileError(str(path), f"{len(cells)} cells, more than the header's {width}", row=line)
        cells = cells + [""] * (width - len(cells))
        record = dict(zip(header, cells))
        name = record[CELEBRITY]
        if not name:
            raise InputFileError(str(path), "no celebrity name", row=line, column=CELEBRITY)
        if name in seen:
            raise InputFileError(str(path), f"{name!r} is listed twice (also row {seen[name]})", row=line,
                                 column=CELEBRITY)
        seen[name] = line
        records.append(record)
    if not records:
        raise InputFileError(str(path), "has a header but no celebrity rows")
    attributes = [c for c in header if c != CELEBRITY]
    out = pd.DataFrame(records, columns=[CELEBRITY, *attributes], dtype=object)
    out[attributes] = out[attributes].replace("", UNLABELLED)
    return out


def _check_header(path: Path, header: list[str]) -> None:
    if CELEBRITY not in header:
        raise InputFileError(str(path), f"no {CELEBRITY!r} column in the header ({', '.join(header)})", row=1)
    if "" in header:
        raise InputFileError(str(path), f"column {header.index('') + 1} of the header has no name", row=1)
    repeated = sorted({c for c in header if header.count(c) > 1})
    if repeated:
        raise InputFileError(str(path), f"column {repeated[0]!r} appears more than once in the header", row=1)
    if len(header) < 2:
        raise InputFileError(str(path), f"no attribute column besides {CELEBRITY!r}", row=1)


def attribute_metrics(table: pd.DataFrame, attributes: pd.DataFrame, definitions: StudyDefinitions) -> pd.DataFrame:
    """The six metrics of :func:`~harness.metrics.compute.compute_metrics` per attribute value.

    For every attribute column of ``attributes`` (as :func:`read_attributes` returns it) and every
    value of it, per (dataset, vendor) and per vendor pooled over datasets (``ALL_DATASETS``):
    columns :data:`ATTRIBUTE_METRIC_COLUMNS` -- ``attribute``, ``group`` (the value,
    ``(unlabelled)`` or ``(not in file)``), ``dataset``, ``vendor``, ``celebrities`` (distinct
    target celebrities of the group's rows), then the compute_metrics record columns under
    ``definitions.beta`` / ``gamma``. A group appears for a (dataset, vendor) where it has rows.
    Order: attributes as in the file, groups by name (the two special groups last), datasets in the
    study's order, vendors, then compute_metrics' metric order.
    """
    names = [c for c in attributes.columns if c != CELEBRITY]
    pooled = pd.concat([table, table.assign(dataset=ALL_DATASETS)], ignore_index=True)
    targets = pooled["target"].fillna("").astype(str)
    by = ["group", "dataset", "vendor"]
    parts = []
    for name in names:
        lookup = pd.Series(attributes[name].to_numpy(), index=attributes[CELEBRITY].astype(str).to_numpy())
        known = targets.isin(lookup.index).to_numpy()
        groups = np.where(known, targets.map(lookup).to_numpy(dtype=object), NOT_IN_FILE).astype(str)
        frame = pooled.assign(group=groups)
        records = compute_metrics(frame, definitions.beta, definitions.gamma, by=by)
        celebrities = frame.groupby(by, sort=False)["target"].nunique().rename("celebrities").reset_index()
        records = records.merge(celebrities, on=by, how="left").assign(attribute=name)
        parts.append(_ordered(records))
    if not parts:
        return pd.DataFrame(columns=list(ATTRIBUTE_METRIC_COLUMNS))
    out = pd.concat(parts, ignore_index=True)
    out["celebrities"] = out["celebrities"].astype(np.int64)
    return out[list(ATTRIBUTE_METRIC_COLUMNS)]


def _ordered(records: pd.DataFrame) -> pd.DataFrame:
    datasets = {d: i for i, d in enumerate(dataset_order(list(records["dataset"])))}
    groups = records["group"].astype(str)
    special = groups.map(lambda g: SPECIAL_GROUPS.index(g) + 1 if g in SPECIAL_GROUPS else 0)
    keyed = records.assign(_special=special, _dataset=records["dataset"].map(datasets),
                           _row=np.arange(len(records)))
    # _row keeps compute_metrics' metric and basis order inside each group
    keyed = keyed.sort_values(["_special", "group", "_dataset", "vendor", "_row"], kind="stable")
    return keyed.drop(columns=["_special", "_dataset", "_row"]).reset_index(drop=True)
