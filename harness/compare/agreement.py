"""Cross-vendor agreement: how often two vendors are fooled by the same deepfakes.

For every pair of vendors (registry order, :func:`harness.vendors.registry.names`; vendors the
registry does not know come after, sorted) and every group of the ``by`` columns,
:func:`agreement` pairs the two vendors' rows of the same probe (same ``dataset`` and
``probe_id``) and counts, over the *joint* probes (deepfake answered without error by both):

* the 2x2 table of "names a celebrity on the deepfake": both, only the first, only the second,
  neither;
* ``same_name``: of the both-name probes, those where the two names are equal. Names are compared
  as given (exact string equality: no case folding, accent or spelling normalisation), so the
  same person spelled differently by two vendors counts as two names; in the study's FCelebDF
  files AWS writes "Im Yoon-ah" and "Sofía Vergara" where Azure writes "Im Yoona" and
  "Sofia Vergara";
* ``both_target``: both are targeted (TA) successes, each by its own definition
  (:mod:`harness.metrics.probes`: the deepfake's name equals that vendor's own answer on the
  real reference image), so spelling differences between vendors do not matter here.

A probe with a failed deepfake call (``fake_error``) on either side is left out of the joint
probes and counted (``errored1``, ``errored2``, ``errored``): an error is never "no celebrity".
The target columns count only joint probes whose real-reference calls (``target_error``,
``target2_error``) succeeded on both sides. A pair of probe sets that share no probe in a group
gives no row for it. The group key is read from the first vendor's row (the ``by`` columns are
meant to describe the probe, as ``dataset``, ``method`` or ``target`` do; ``vendor`` cannot be
one). A vendor with the same (dataset, probe_id) twice makes the pairing ambiguous: an error.

Columns, one row per (group, vendor pair); percentages are 0-100 with 95% Wilson intervals
(``*_low``, ``*_high``; NaN where the denominator is 0):

=====================  ========================================================================
``<by columns>``       the group
``vendor1, vendor2``   the pair, in registry order
``shared``             probes both vendors have a row for
``errored1/2``         shared probes whose deepfake call failed for vendor 1 / vendor 2
``errored``            shared probes with a failed deepfake call on either side (left out)
``joint``              ``shared - errored``: the denominator of the four cells
``both``               joint probes where both vendors name someone
``only1``, ``only2``   only vendor 1 / only vendor 2 names someone
``neither``            neither names anyone (``both + only1 + only2 + neither == joint``)
``<cell>_pct``         each cell as a share of ``joint``, with ``<cell>_low``, ``<cell>_high``
``same_name``          both-name probes where the two names are equal (as given)
``same_name_pct``      its share of ``both``, with ``same_name_low``, ``same_name_high``
``both_expected_pct``  ``both_pct`` if the two vendors named independently at their own rates
                       (``100 * (both + only1) * (both + only2) / joint**2``)
``kappa``              Cohen's kappa of the two "names someone" answers (1: always agree, 0: as
                       often as independent answers would); NaN when a vendor names on every
                       joint probe or on none (NAV always names: its pairs have no kappa)
``target_probes``      joint probes whose real-reference calls succeeded on both sides; <NA>
                       when the table has no ``target_name`` column
``both_target``        of those, probes where both vendors are TA successes (<NA> likewise)
``both_target_pct``    its share of ``target_probes``, with ``both_target_low``, ``both_target_high``
=====================  ========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.errors import DfiError
from harness.metrics.compute import rate_table
from harness.metrics.probes import ProbeArrays, group_codes
from harness.vendors import registry

KEY: tuple[str, ...] = ("dataset", "probe_id")
CELLS: tuple[str, ...] = ("both", "only1", "only2", "neither")


def _rate_columns(name: str) -> tuple[str, ...]:
    return (f"{name}_pct", f"{name}_low", f"{name}_high")


AGREEMENT_COLUMNS: tuple[str, ...] = (
    "vendor1", "vendor2", "shared", "errored1", "errored2", "errored", "joint", *CELLS,
    *(c for cell in CELLS for c in _rate_columns(cell)), "same_name", *_rate_columns("same_name"),
    "both_expected_pct", "kappa", "target_probes", "both_target", *_rate_columns("both_target"),
)
"""The columns after the ``by`` columns, in order."""


class AmbiguousPairingError(DfiError):
    """A vendor has several rows for one probe, so which answer to pair is not defined."""


def vendor_order(vendors: Sequence[str]) -> list[str]:
    """``vendors`` (distinct) in registry order; unregistered names after, sorted."""
    known = registry.names()
    present = set(vendors)
    return [v for v in known if v in present] + sorted(present - set(known))


def _text(table: pd.DataFrame, column: str) -> np.ndarray:
    if column not in table.columns:
        return np.full(len(table), "", dtype=object)
    return table[column].fillna("").astype(str).to_numpy(dtype=object)


def _outcomes(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """One compact row per input row: key, group, vendor and the per-call outcomes."""
    probes = ProbeArrays.from_frame(table, by=())
    name = _text(table, "fake_name")
    frame = {c: table[c].to_numpy() for c in dict.fromkeys((*KEY, *by))}
    # underscored names cannot meet a ``by`` column of the results schema in the merge
    frame.update(_vendor=_text(table, "vendor"), _name=name, _named=name != "", _fake_err=probes.fake_error,
                 _ref_err=probes.target_error, _ta=probes.ta)
    return pd.DataFrame(frame)


def _pair_rows(left: pd.DataFrame, right: pd.DataFrame, by: Sequence[str], with_target: bool) -> pd.DataFrame:
    right = right[[*KEY, "_name", "_named", "_fake_err", "_ref_err", "_ta"]]
    m = left.merge(right, on=list(KEY), how="inner", suffixes=("1", "2"), sort=False)
    if m.empty:
        return pd.DataFrame()
    group, keys = group_codes(m, by)
    n = len(keys)

    def count(mask: np.ndarray) -> np.ndarray:
        return np.bincount(group[mask], minlength=n).astype(np.int64)

    err1, err2 = m["_fake_err1"].to_numpy(bool), m["_fake_err2"].to_numpy(bool)
    ok = ~(err1 | err2)
    n1, n2 = m["_named1"].to_numpy(bool), m["_named2"].to_numpy(bool)
    both = ok & n1 & n2
    same = both & (m["_name1"].to_numpy(dtype=object) == m["_name2"].to_numpy(dtype=object))
    ref_ok = ok & ~m["_ref_err1"].to_numpy(bool) & ~m["_ref_err2"].to_numpy(bool)
    both_ta = ref_ok & m["_ta1"].to_numpy(bool) & m["_ta2"].to_numpy(bool)

    out = keys.reset_index(drop=True)
    out["shared"] = count(np.ones(len(m), dtype=bool))
    out["errored1"], out["errored2"] = count(err1), count(err2)
    out["errored"] = count(~ok)
    joint = count(ok)
    out["joint"] = joint
    cells = {"both": count(both), "only1": count(ok & n1 & ~n2), "only2": count(ok & ~n1 & n2),
             "neither": count(ok & ~n1 & ~n2)}
    for cell, k in cells.items():
        out[cell] = k
    for cell, k in cells.items():
        rates = rate_table(k, joint)
        out[f"{cell}_pct"], out[f"{cell}_low"], out[f"{cell}_high"] = rates["value"], rates["ci_low"], rates["ci_high"]
    out["same_name"] = count(same)
    rates = rate_table(out["same_name"].to_numpy(), cells["both"])
    out["same_name_pct"], out["same_name_low"], out["same_name_high"] = (
        rates["value"], rates["ci_low"], rates["ci_high"])

    with np.errstate(divide="ignore", invalid="ignore"):
        p1 = (cells["both"] + cells["only1"]) / joint
        p2 = (cells["both"] + cells["only2"]) / joint
        observed = (cells["both"] + cells["neither"]) / joint
        chance = p1 * p2 + (1 - p1) * (1 - p2)
        out["both_expected_pct"] = np.where(joint > 0, 100.0 * p1 * p2, np.nan)
        varies = (p1 > 0) & (p1 < 1) & (p2 > 0) & (p2 < 1)
        out["kappa"] = np.where(varies, (observed - chance) / (1 - chance), np.nan)

    if with_target:
        target_probes, both_target = count(ref_ok), count(both_ta)
        rates = rate_table(both_target, target_probes)
        out["target_probes"] = pd.array(target_probes, dtype="Int64")
        out["both_target"] = pd.array(both_target, dtype="Int64")
        out["both_target_pct"], out["both_target_low"], out["both_target_high"] = (
            rates["value"], rates["ci_low"], rates["ci_high"])
    else:
        out["target_probes"] = out["both_target"] = pd.array([pd.NA] * n, dtype="Int64")
        out["both_target_pct"] = out["both_target_low"] = out["both_target_high"] = np.nan
    return out


def empty_agreement(by: Sequence[str] = ("dataset",)) -> pd.DataFrame:
    return pd.DataFrame(columns=[*by, *AGREEMENT_COLUMNS])


def agreement(table: pd.DataFrame, by: Sequence[str] = ("dataset",)) -> pd.DataFrame:
    """The agreement of every vendor pair per group of ``by`` (see the module notes for the columns).

    ``table`` is a results table (:mod:`harness.results.schema`); it needs ``dataset``,
    ``probe_id``, ``vendor``, ``fake_name`` and the ``by`` columns. Rows are sorted by group, then
    pair. Raises :class:`AmbiguousPairingError` when a vendor has two rows for one probe.
    """
    by = list(dict.fromkeys(by))
    if "vendor" in by:
        raise ValueError("agreement pairs vendors: 'vendor' cannot be a group column")
    for column in (*KEY, "vendor", "fake_name", *by):
        if column not in table.columns:
            raise ValueError(f"agreement needs the column {column!r}")
    rows = _outcomes(table, by)
    repeated = rows.duplicated([*KEY, "_vendor"])
    if repeated.any():
        first = rows[repeated].iloc[0]
        raise AmbiguousPairingError(
            f"vendor {first['_vendor']} has more than one row for probe {first['probe_id']!r} of "
            f"{first['dataset']!r} ({int(repeated.sum())} repeated row(s) in all): which answer to pair is ambiguous")
    with_target = "target_name" in table.columns
    by_vendor = {str(v): part.drop(columns="_vendor") for v, part in rows.groupby("_vendor", sort=False)}
    order = vendor_order(list(by_vendor))
    frames = []
    pair_index = 0
    for i, first in enumerate(order):
        for second in order[i + 1:]:
            part = _pair_rows(by_vendor[first], by_vendor[second], by, with_target)
            if not part.empty:
                part.insert(len(by), "vendor1", first)
                part.insert(len(by) + 1, "vendor2", second)
                frames.append(part.assign(_pair=pair_index))
            pair_index += 1
    if not frames:
        return empty_agreement(by)
    out = pd.concat(frames, ignore_index=True)
    out = out.sort_values([*by, "_pair"], kind="stable").drop(columns="_pair").reset_index(drop=True)
    return out[[*by, *AGREEMENT_COLUMNS]]


def stack_agreements(tables: dict[str, pd.DataFrame], by: Sequence[str] = ("dataset",)) -> pd.DataFrame:
    """Agreement frames (of the same ``by``) in one, each row labelled by a leading ``table`` column
    (its key in ``tables``, e.g. "recorded" and "mock"): the layout of ``dfi compare tables``'
    agreement.csv."""
    frames = [t.assign(table=name) for name, t in tables.items() if not t.empty]
    columns = ["table", *by, *AGREEMENT_COLUMNS]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)[columns]
