"""Threshold sensitivity: the metrics over a grid of beta, gamma and the vendor reporting threshold tau.

* DHC over beta (study basis: share of NA successes; all: share of valid probes);
* DHS over gamma (study: share of NA failures with a similarity score; all: of probes with a score);
* NA, TA, DHF and SIC over tau, the vendor's reporting threshold: what the study would have found
  had the vendor reported a name only from confidence tau (AWS reports from about 55, MS from
  0.70; NAV always names someone). An answer below tau becomes "no celebrity" -- on the deepfake
  *and* on the real reference images, since the vendor would have reported neither. So a probe
  stays a TA success at tau iff tau <= min(fake confidence, confidence of the matching real answer).
  DHF at tau is DHF and fake confidence >= tau (exact: a reference answer can only drop out below
  tau when its confidence is under tau, and then the fake's, being lower, drops out first).
  Denominators (valid probes, distinct targets) do not depend on tau.

Two views built on the same counts:

* :func:`deception_grid`: DHC(beta) *or* DHS(gamma) over the beta x gamma plane, as a share of the
  valid probes -- the share of probes on which one of the vendor's two calls gives the attacker a
  high score: recognition names someone with confidence > beta, or (recognition named no one but)
  similarity to the real target > gamma. The two events are disjoint (NA vs not NA), so the count at
  (beta, gamma) is the DHC numerator at beta plus the DHS numerator at gamma. Vendors without a
  similarity call are left out (DHS is undefined for them, not 0).
* :func:`moving_range` / :func:`zoom_grid`: where a curve actually changes, and a fine grid there
  (linear steps plus steps that get finer towards 100, where Azure's confidences pile up).

Each curve is computed in one pass over the scores: every score is placed on the sorted grid
with ``np.searchsorted``, ``np.bincount`` makes a (group x grid) histogram, and a reversed
cumulative sum turns it into "how many scores lie above each grid point" for all grid points at
once. The cost is O(rows x log(grid)), not O(rows x grid).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from harness.metrics.compute import DEFAULT_BY, rate_table
from harness.metrics.probes import ProbeArrays

DEFAULT_GRID = np.arange(0.0, 101.0, 1.0)
# a grid point costs a row per group and metric in sweep.csv and a point in every curve (0:100:0.05 fits;
# the zoomed views refine the grid by themselves where a curve moves)
MAX_GRID_POINTS = 2_001
SWEEP_CURVES: tuple[tuple[str, str], ...] = (
    ("beta", "DHC"), ("gamma", "DHS"), ("tau", "NA"), ("tau", "TA"), ("tau", "DHF"), ("tau", "SIC"),
)
STUDY_VALUES = {"beta": 90.0, "gamma": 80.0}
POOLED = "all datasets"  # the dataset label of curves pooled over every dataset
SWEEP_COLUMNS = ("parameter", "threshold", "metric", "basis", "value", "numerator", "denominator", "ci_low", "ci_high")
STEEPEST_COLUMNS = ("from_threshold", "to_threshold", "from_value", "to_value", "change", "half_at")


def parse_grid(text: str) -> np.ndarray:
    """``"start:stop:step"`` (stop included) or a comma-separated list -> sorted unique grid."""
    try:
        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise ValueError(f"a range needs three parts, start:stop:step (e.g. 0:100:1), not {len(parts)}")
            start, stop, step = (float(x) for x in parts)
            if not step > 0:
                raise ValueError("step must be positive")
            if not (math.isfinite(start) and math.isfinite(stop)):
                raise ValueError("start and stop must be finite numbers")
            points = math.floor((stop - start) / step + 0.5) + 1
            if points > MAX_GRID_POINTS:  # checked before the array exists: 0:100:1e-7 would be 1e9 points
                raise ValueError(f"{points:,} points; at most {MAX_GRID_POINTS:,} (use a larger step)")
            grid = np.arange(start, stop + step / 2, step)
        else:
            grid = np.array([float(x) for x in text.split(",") if x.strip()])
            if grid.size > MAX_GRID_POINTS:
                raise ValueError(f"{grid.size:,} points; at most {MAX_GRID_POINTS:,}")
    except ValueError as exc:
        raise ValueError(f"bad grid {text!r}: {exc}; use start:stop:step or a,b,c") from exc
    if not np.isfinite(grid).all():  # NaN would pass every range check and match no score
        raise ValueError(f"bad grid {text!r}: thresholds must be finite numbers")
    grid = np.unique(np.round(grid, 10))
    if grid.size == 0:
        raise ValueError(f"bad grid {text!r}: no points")
    return grid


def _with_rates(block: pd.DataFrame, num: np.ndarray, den: np.ndarray) -> pd.DataFrame:
    """``block`` with the rate columns of ``num / den``: value (percent), numerator, denominator and
    the Wilson interval."""
    rates = rate_table(num, den)
    block["value"] = rates["value"]
    block["numerator"] = num.astype(np.int64)
    block["denominator"] = den.astype(np.int64)
    block["ci_low"] = rates["ci_low"]
    block["ci_high"] = rates["ci_high"]
    return block


def counts_above(group: np.ndarray, values: np.ndarray, n_groups: int, grid: np.ndarray, strict: bool) -> np.ndarray:
    """(n_groups, len(grid)) counts of ``values > grid[j]`` (``>=`` when not strict) per group."""
    m = len(grid)
    # number of grid points below the value (strict) or at/below it: the value clears grid[j] iff j < slot
    slot = np.searchsorted(grid, values, side="left" if strict else "right")
    hist = np.bincount(group * (m + 1) + slot, minlength=n_groups * (m + 1)).reshape(n_groups, m + 1)
    at_or_after = np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]
    return at_or_after[:, 1:].astype(np.int64)


def _pair_max(probes: ProbeArrays, mask: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Largest ``values`` per (group, target) among ``mask`` rows -> (group of each pair, max)."""
    n_targets = max(probes.n_targets, 1)
    pair = probes.group_target[mask]
    uniq, inverse = np.unique(pair, return_inverse=True)
    best = np.full(len(uniq), -np.inf)
    np.maximum.at(best, inverse, values[mask])
    return uniq // n_targets, best


def sweep_counts(probes: ProbeArrays, grid: np.ndarray) -> dict[tuple[str, str, str], tuple[np.ndarray, np.ndarray]]:
    """(parameter, metric, basis) -> (numerators, denominators), each shaped (groups, grid)."""
    g = probes.n_groups
    m = len(grid)
    full = lambda counts: np.broadcast_to(counts[:, None], (g, m))  # noqa: E731
    valid, named = probes.valid, probes.named
    n_valid = probes.count(valid)
    with_sim = valid & probes.has_similarity
    missed = with_sim & ~named

    dhc = counts_above(probes.group[named], probes.fake_conf[named], g, grid, strict=True)
    dhs = counts_above(probes.group[missed], probes.similarity[missed], g, grid, strict=True)
    na = counts_above(probes.group[named], probes.fake_conf[named], g, grid, strict=False)
    ta = counts_above(probes.group[probes.ta], probes.match_conf[probes.ta], g, grid, strict=False)
    dhf_rows = probes.dhf
    dhf = counts_above(probes.group[dhf_rows], probes.fake_conf[dhf_rows], g, grid, strict=False)
    pair_group, pair_margin = _pair_max(probes, probes.ta, probes.match_conf)
    sic = counts_above(pair_group, pair_margin, g, grid, strict=False)
    targets = full(probes.distinct_targets(valid))

    out = {
        ("beta", "DHC", "study"): (dhc, full(probes.count(named))),
        ("beta", "DHC", "all"): (dhc, full(n_valid)),
        ("gamma", "DHS", "study"): (dhs, full(probes.count(missed))),
        ("gamma", "DHS", "all"): (dhs, full(probes.count(with_sim))),
    }
    for metric, num in (("NA", na), ("TA", ta), ("DHF", dhf)):
        out[("tau", metric, "study")] = out[("tau", metric, "all")] = (num, full(n_valid))
    out[("tau", "SIC", "study")] = out[("tau", "SIC", "all")] = (sic, targets)
    return out


def sweep_probes(probes: ProbeArrays, grid: np.ndarray = DEFAULT_GRID) -> pd.DataFrame:
    grid = np.asarray(grid, dtype=np.float64)
    if np.any(np.diff(grid) <= 0):
        raise ValueError("the grid must be strictly increasing")
    counts = sweep_counts(probes, grid)
    g, m = probes.n_groups, len(grid)
    blocks = []
    for (parameter, metric, basis), (num, den) in counts.items():
        num = np.asarray(num).reshape(-1)
        den = np.asarray(den).reshape(-1)
        block = probes.keys.loc[np.repeat(np.arange(g), m)].reset_index(drop=True)
        block["parameter"] = parameter
        block["threshold"] = np.tile(grid, g)
        block["metric"] = metric
        block["basis"] = basis
        blocks.append(_with_rates(block, num, den))
    if not blocks:
        return pd.DataFrame(columns=[*probes.keys.columns, *SWEEP_COLUMNS])
    return pd.concat(blocks, ignore_index=True)


def sweep(df: pd.DataFrame, grid: np.ndarray = DEFAULT_GRID, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """Long-form sweep table: ``by`` columns, parameter, threshold, metric, basis, value (percent),
    numerator, denominator, ci_low, ci_high (95% Wilson, percent)."""
    return sweep_probes(ProbeArrays.from_frame(df, by), grid)


def steepest_changes(table: pd.DataFrame, by: Sequence[str] = DEFAULT_BY, basis: str = "study") -> pd.DataFrame:
    """For every curve, the grid step where the value changes most (largest absolute difference).

    Columns: ``by``, parameter, metric, from_threshold, to_threshold, from_value, to_value, change,
    and ``half_at``: the first threshold where the curve is at or below half its value at the
    first grid point (NaN if it never gets there). Curves undefined throughout, or flat, are left out.
    """
    by = list(by)
    curves = table[table["basis"] == basis].sort_values([*by, "parameter", "metric", "threshold"], kind="stable")
    keys = [*by, "parameter", "metric"]
    if curves.empty:
        return pd.DataFrame(columns=[*keys, *STEEPEST_COLUMNS])
    same_curve = (curves[keys].shift() == curves[keys]).all(axis=1).to_numpy()
    change = curves["value"].diff().to_numpy().copy()
    change[~same_curve] = np.nan
    work = curves.assign(change=change, abs_change=np.abs(change),
                         from_threshold=curves["threshold"].shift(), from_value=curves["value"].shift())
    work = work[np.isfinite(work["abs_change"]) & (work["abs_change"] > 0)]
    best = work.sort_values("abs_change", ascending=False, kind="stable").drop_duplicates(keys)
    best = best.rename(columns={"threshold": "to_threshold", "value": "to_value"})
    start = curves.groupby(keys, sort=False, dropna=False)["value"].transform("first")
    halved = curves[curves["value"] <= start / 2].groupby(keys, sort=False, dropna=False)["threshold"].first()
    best = best.join(halved.rename("half_at"), on=keys)
    order = {curve: i for i, curve in enumerate(SWEEP_CURVES)}
    rank = [order.get(curve, len(order)) for curve in zip(best["parameter"], best["metric"])]
    best = best.assign(_p=rank).sort_values([*by, "_p", "parameter", "metric"], kind="stable")
    return best[[*keys, *STEEPEST_COLUMNS]].reset_index(drop=True)


DECEPTION_COLUMNS = ("beta", "gamma", "value", "numerator", "denominator", "ci_low", "ci_high")


def with_pooled_keys(table: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """A table grouped by vendor alone, given the other ``by`` columns: ``dataset`` = :data:`POOLED`,
    any other key empty."""
    missing = {k: (POOLED if k == "dataset" else "") for k in by if k not in table.columns}
    return table.assign(**missing)


def pooled_sweep(df: pd.DataFrame, grid: np.ndarray = DEFAULT_GRID, by: Sequence[str] = DEFAULT_BY) -> pd.DataFrame:
    """:func:`sweep` per vendor with every dataset (and source) pooled, in ``by``'s columns."""
    table = sweep_probes(ProbeArrays.from_frame(df, ("vendor",)), grid)
    return with_pooled_keys(table, by)[[*by, *SWEEP_COLUMNS]]


def deception_grid(probes: ProbeArrays, betas: np.ndarray, gammas: np.ndarray) -> pd.DataFrame:
    """DHC(beta) or DHS(gamma), % of valid probes, for every (beta, gamma): the ``probes.keys`` columns
    then :data:`DECEPTION_COLUMNS`. Groups with no similarity score are left out."""
    betas = np.asarray(betas, dtype=np.float64)
    gammas = np.asarray(gammas, dtype=np.float64)
    g = probes.n_groups
    valid, named = probes.valid, probes.named
    missed = valid & probes.has_similarity & ~named
    dhc = counts_above(probes.group[named], probes.fake_conf[named], g, betas, strict=True)
    dhs = counts_above(probes.group[missed], probes.similarity[missed], g, gammas, strict=True)
    n_valid = probes.count(valid)
    scored = np.flatnonzero(probes.count(valid & probes.has_similarity) > 0)
    nb, ng = len(betas), len(gammas)
    blocks = []
    for group in scored:
        num = (dhc[group][:, None] + dhs[group][None, :]).reshape(-1)
        den = np.full(num.shape, n_valid[group])
        block = probes.keys.loc[np.repeat(group, nb * ng)].reset_index(drop=True)
        block["beta"] = np.repeat(betas, ng)
        block["gamma"] = np.tile(gammas, nb)
        blocks.append(_with_rates(block, num, den))
    if not blocks:
        return pd.DataFrame(columns=[*probes.keys.columns, *DECEPTION_COLUMNS])
    return pd.concat(blocks, ignore_index=True)


def moving_range(thresholds: np.ndarray, values: np.ndarray, low: float = 0.01, high: float = 0.99
                 ) -> tuple[float, float] | None:
    """The thresholds between which a curve makes the middle ``high - low`` of its total change:
    from the start of the step where the cumulative absolute change first exceeds ``low`` of the
    total to the end of the step where it reaches ``high``. None for a flat or undefined curve."""
    x = np.asarray(thresholds, dtype=np.float64)
    y = np.asarray(values, dtype=np.float64)
    keep = np.isfinite(y)
    x, y = x[keep], y[keep]
    if len(x) < 2:
        return None
    steps = np.abs(np.diff(y))
    total = steps.sum()
    if total <= 0:
        return None
    cumulative = np.cumsum(steps) / total
    first = int(np.searchsorted(cumulative, low, side="right"))
    last = int(np.searchsorted(cumulative, high - 1e-12, side="left"))
    return float(x[first]), float(x[min(last + 1, len(x) - 1)])


CLOSEST_TO_TOP = 1e-3  # the zoom grid's finest step below 100: 100 - 0.001


def zoom_grid(start: float, stop: float, points: int = 201) -> np.ndarray:
    """A grid on [start, stop]: ``points`` even steps, and ``points`` steps evenly spaced in
    log(100 - threshold), which resolve scores crowding just under 100 (99.9, 99.99, ...)."""
    even = np.linspace(start, stop, points)
    near_top = 100.0 - np.logspace(np.log10(max(100.0 - start, CLOSEST_TO_TOP)), np.log10(CLOSEST_TO_TOP), points)
    grid = np.unique(np.round(np.concatenate([even, near_top]), 10))
    return grid[(grid >= start) & (grid <= stop)]


def vendor_zoom(df: pd.DataFrame, curves: pd.DataFrame, by: Sequence[str] = DEFAULT_BY, basis: str = "study",
                points: int = 201) -> pd.DataFrame:
    """Per vendor and parameter, its curves recomputed on a :func:`zoom_grid` spanning the union of
    the :func:`moving_range` of its curves in ``curves`` (basis ``basis``): per ``by`` group and pooled
    over every dataset (``dataset`` = :data:`POOLED`). Columns as :func:`sweep`'s."""
    by = list(by)
    line_keys = [k for k in by if k != "vendor"]
    sel = curves[curves["basis"] == basis]
    blocks = []
    for (vendor, parameter), part in sel.groupby(["vendor", "parameter"], sort=False):
        ranges = [r for _, line in part.groupby([*line_keys, "metric"], sort=False)
                  if (r := moving_range(line["threshold"].to_numpy(), line["value"].to_numpy())) is not None]
        if not ranges:
            continue
        grid = zoom_grid(min(r[0] for r in ranges), max(r[1] for r in ranges), points)
        if len(grid) < 2:
            continue
        rows = df[df["vendor"] == vendor]
        for keys in (by, ["vendor"]):
            fine = sweep_probes(ProbeArrays.from_frame(rows, keys), grid)
            fine = fine[(fine["parameter"] == parameter) & (fine["basis"] == basis)]
            blocks.append(with_pooled_keys(fine, by) if keys == ["vendor"] else fine)
    if not blocks:
        return pd.DataFrame(columns=[*by, *SWEEP_COLUMNS])
    return pd.concat(blocks, ignore_index=True)[[*by, *SWEEP_COLUMNS]]
