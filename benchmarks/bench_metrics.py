"""Speed of the six metrics and of the threshold sweeps, against plain pandas versions.

    python benchmarks/bench_metrics.py                      # the recorded configuration
    python benchmarks/bench_metrics.py --rows 1000000 --sweep-rows 200000 --repeats 2   # quick look

What is timed (wall clock, ``time.perf_counter``; best and median of ``--repeats`` runs, because
other processes may share the CPU; the load average is recorded beside the numbers):

* ``metrics``: ``harness.metrics.compute_metrics`` on ``--rows`` synthetic rows
  (``harness.results.synthetic``: 5 datasets x 3 vendors, 300 targets, 1% failed calls), all six
  metrics on both bases with Wilson intervals;
* ``metrics_pandas_groupby``: a straightforward pandas version on the same table:
  ``df.groupby(["dataset", "vendor"]).apply(f)`` where ``f`` computes the metrics of one group
  with pandas Series operations and ``scipy.stats.binomtest(...).proportion_ci("wilson")``;
* ``metrics_pandas_row_apply``: the per-probe definitions transcribed row by row
  (``groupby(...).apply(lambda g: g.apply(probe_outcomes, axis=1).sum())``), run on the first
  ``--row-apply-rows`` rows of the same table and scaled linearly to ``--rows`` (its cost is per
  row; the scaling is stated in the output);
* ``sweep``: ``harness.sweep.sweep`` -- DHC over beta, DHS over gamma, NA/TA/DHF/SIC over tau on a
  101-point grid -- on ``--sweep-rows`` rows;
* ``sweep_recompute``: the same curves by recomputing the metrics at each of the 101 grid points
  (``compute_metrics(df, beta=t, gamma=t)`` plus ``compute_metrics`` of the table with every
  answer below tau blanked), i.e. the vectorised metrics called once per grid point.

Every baseline's counts are checked against the vectorised result before its time is reported.
Writes ``benchmarks/results/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table
from scipy.stats import binomtest

from harness.bench.device import machine_facts
from harness.metrics import compute_metrics
from harness.results.synthetic import synthetic_results
from harness.sweep import DEFAULT_GRID, sweep

RESULTS = Path(__file__).parent / "results"
BY = ["dataset", "vendor"]


def timed(fn: Callable[[], object], repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return times, out


# ------------------------------------------------------------------ baselines
def _wilson(num: int, den: int) -> tuple[float, float]:
    if den == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(num), int(den)).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * ci.low, 100 * ci.high


def pandas_group_metrics(g: pd.DataFrame, beta: float = 90.0, gamma: float = 80.0) -> pd.DataFrame:
    valid = g[(g["fake_error"] == "") & (g["target_error"] == "") & (g["target2_error"] == "")]
    na = valid["fake_name"] != ""
    m1 = (valid["fake_name"] == valid["target_name"]) & (valid["target_name"] != "")
    m2 = (valid["fake_name"] == valid["target2_name"]) & (valid["target2_name"] != "")
    ta = na & (m1 | m2)
    t1 = valid["target_conf"].where(valid["target_name"] != "", 0.0).fillna(0.0)
    t2 = valid["target2_conf"].where(valid["target2_name"] != "", 0.0).fillna(0.0)
    fc = valid["fake_conf"].fillna(0.0)
    dhf = na & (fc > np.maximum(t1, t2))
    dhc = na & (fc > beta)
    has_sim = valid["similarity"].notna() & (valid["similarity_error"] == "")
    missed = has_sim & ~na
    dhs = missed & (valid["similarity"] > gamma)
    n, n_na = len(valid), int(na.sum())
    targets, hit = valid["target"].nunique(), valid.loc[ta, "target"].nunique()
    counts = [
        ("TA", "study", ta.sum(), n),
        ("TA", "all", ta.sum(), n),
        ("NA", "study", n_na, n),
        ("NA", "all", n_na, n),
        ("DHF", "study", dhf.sum(), n),
        ("DHF", "all", dhf.sum(), n),
        ("DHC", "study", dhc.sum(), n_na),
        ("DHC", "all", dhc.sum(), n),
        ("DHS", "study", dhs.sum(), missed.sum()),
        ("DHS", "all", dhs.sum(), has_sim.sum()),
        ("SIC", "study", hit, targets),
        ("SIC", "all", hit, targets),
    ]
    rows = []
    for metric, basis, num, den in counts:
        low, high = _wilson(num, den)
        rows.append(
            dict(
                metric=metric,
                basis=basis,
                value=100 * num / den if den else float("nan"),
                numerator=int(num),
                denominator=int(den),
                ci_low=low,
                ci_high=high,
            )
        )
    return pd.DataFrame(rows)


def pandas_groupby_metrics(df: pd.DataFrame) -> pd.DataFrame:
    out = df.groupby(BY, sort=True).apply(pandas_group_metrics, include_groups=False)
    return out.reset_index(level=BY).reset_index(drop=True)


def probe_outcomes(r: pd.Series, beta: float = 90.0, gamma: float = 80.0) -> pd.Series:
    """One probe, as the definitions read (DESIGN.md section 2)."""
    valid = not (r["fake_error"] or r["target_error"] or r["target2_error"])
    na = valid and r["fake_name"] != ""
    fc = 0.0 if pd.isna(r["fake_conf"]) else r["fake_conf"]
    refs = [(r["target_name"], r["target_conf"]), (r["target2_name"], r["target2_conf"])]
    named_refs = [(n, 0.0 if pd.isna(c) else c) for n, c in refs if n]
    ta = na and any(r["fake_name"] == n for n, _ in named_refs)
    has_sim = valid and not pd.isna(r["similarity"]) and not r["similarity_error"]
    return pd.Series(
        {
            "valid": valid,
            "NA": na,
            "TA": ta,
            "DHF": na and fc > max([c for _, c in named_refs], default=0.0),
            "DHC": na and fc > beta,
            "missed_with_sim": has_sim and not na,
            "DHS": has_sim and not na and r["similarity"] > gamma,
        }
    )


def pandas_row_apply_counts(df: pd.DataFrame) -> pd.DataFrame:
    return df.groupby(BY, sort=True).apply(lambda g: g.apply(probe_outcomes, axis=1).sum(), include_groups=False)


def recompute_sweep(df: pd.DataFrame, grid: np.ndarray) -> dict[float, tuple[pd.DataFrame, pd.DataFrame]]:
    out = {}
    for t in grid:
        at_threshold = compute_metrics(df, beta=t, gamma=t)
        blanked = df.copy()
        for name, conf in (
            ("fake_name", "fake_conf"),
            ("target_name", "target_conf"),
            ("target2_name", "target2_conf"),
        ):
            below = (blanked[name] != "") & ~(blanked[conf].fillna(0.0) >= t)
            blanked[name] = blanked[name].where(~below, "")
            blanked[conf] = blanked[conf].where(~below, np.nan)
        out[float(t)] = (at_threshold, compute_metrics(blanked))
    return out


# ------------------------------------------------------------------ checks
def _counts(records: pd.DataFrame) -> pd.DataFrame:
    return records.set_index([*BY, "metric", "basis"])[["numerator", "denominator"]].sort_index()


def check_sweep(curves: pd.DataFrame, recomputed: dict, points: list[float]) -> None:
    c = curves.set_index([*BY, "parameter", "metric", "basis", "threshold"])
    for t in points:
        at_t, blanked = recomputed[t]
        at_t, blanked = _counts(at_t), _counts(blanked)
        for (d, v, metric, basis), row in at_t.iterrows():
            if metric in ("DHC", "DHS"):
                got = c.loc[(d, v, "beta" if metric == "DHC" else "gamma", metric, basis, t)]
                assert (got["numerator"], got["denominator"]) == (row["numerator"], row["denominator"]), (
                    t,
                    d,
                    v,
                    metric,
                )
        for (d, v, metric, basis), row in blanked.iterrows():
            if metric in ("NA", "TA", "DHF", "SIC"):
                got = c.loc[(d, v, "tau", metric, basis, t)]
                assert (got["numerator"], got["denominator"]) == (row["numerator"], row["denominator"]), (
                    t,
                    d,
                    v,
                    metric,
                )


# ------------------------------------------------------------------ main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--sweep-rows", type=int, default=1_000_000)
    parser.add_argument("--row-apply-rows", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--baseline-repeats", type=int, default=1)
    parser.add_argument("--out", type=Path, default=RESULTS / "metrics.json")
    args = parser.parse_args()
    console = Console()
    result: dict = {"machine": machine_facts(), "load_average_before": os.getloadavg(), "runs": {}}

    console.print(f"building {args.rows:,} synthetic rows ...")
    df = synthetic_results(args.rows, seed=1)
    compute_metrics(df.head(1000))  # warm imports
    t_vec, ours = timed(lambda df=df: compute_metrics(df), args.repeats)
    result["runs"]["metrics"] = {"rows": args.rows, "seconds": t_vec}
    console.print(f"metrics, vectorised: best {min(t_vec):.3f} s")

    t_pd, theirs = timed(lambda df=df: pandas_groupby_metrics(df), args.baseline_repeats)
    pd.testing.assert_frame_equal(_counts(theirs), _counts(ours), check_dtype=False)
    result["runs"]["metrics_pandas_groupby"] = {"rows": args.rows, "seconds": t_pd}
    console.print(f"metrics, pandas groupby/apply: best {min(t_pd):.3f} s (same counts)")

    sample = df.head(args.row_apply_rows)
    t_row, row_counts = timed(lambda: pandas_row_apply_counts(sample), args.baseline_repeats)
    check = _counts(compute_metrics(sample)).xs("study", level="basis")
    for metric in ("TA", "NA", "DHF", "DHC", "DHS"):
        assert (
            row_counts[metric].astype(int).to_numpy() == check.xs(metric, level="metric")["numerator"].to_numpy()
        ).all()
    scaled = [t * args.rows / args.row_apply_rows for t in t_row]
    result["runs"]["metrics_pandas_row_apply"] = {
        "rows": args.row_apply_rows,
        "seconds": t_row,
        "scaled_to_rows": args.rows,
        "scaled_seconds": scaled,
    }
    console.print(
        f"metrics, pandas row apply on {args.row_apply_rows:,} rows: {min(t_row):.2f} s "
        f"-> {min(scaled):.0f} s scaled to {args.rows:,} rows"
    )
    del df, ours, theirs

    console.print(f"building {args.sweep_rows:,} rows for the sweep ...")
    small = synthetic_results(args.sweep_rows, seed=2)
    grid = DEFAULT_GRID
    sweep(small.head(1000), grid)
    t_sw, curves = timed(lambda: sweep(small, grid), args.repeats)
    result["runs"]["sweep"] = {"rows": args.sweep_rows, "grid_points": len(grid), "seconds": t_sw}
    console.print(f"sweep (beta, gamma, tau; {len(grid)} points), one pass: best {min(t_sw):.3f} s")
    t_re, recomputed = timed(lambda: recompute_sweep(small, grid), args.baseline_repeats)
    check_sweep(curves, recomputed, [0.0, 55.0, 70.0, 80.0, 90.0, 99.0, 100.0])
    result["runs"]["sweep_recompute"] = {"rows": args.sweep_rows, "grid_points": len(grid), "seconds": t_re}
    console.print(f"sweep by recomputing the metrics at each point: best {min(t_re):.2f} s (same counts)")
    result["load_average_after"] = os.getloadavg()

    table = Table(title="Metrics and sweeps (wall clock, seconds)")
    for name in ("measurement", "rows", "best", "median", "vectorised is faster by"):
        table.add_column(name, justify="left" if name == "measurement" else "right")
    runs = result["runs"]
    speedups = {
        "metrics_pandas_groupby": min(t_pd) / min(t_vec),
        "metrics_pandas_row_apply": min(scaled) / min(t_vec),
        "sweep_recompute": min(t_re) / min(t_sw),
    }
    result["speedup_best_vs_best"] = speedups
    for name, run in runs.items():
        seconds = run.get("scaled_seconds", run["seconds"])
        rows = f"{run.get('scaled_to_rows', run['rows']):,}" + (" (scaled)" if "scaled_seconds" in run else "")
        table.add_row(
            name,
            rows,
            f"{min(seconds):.3f}",
            f"{statistics.median(seconds):.3f}",
            f"{speedups[name]:.1f}x" if name in speedups else "",
        )
    console.print(table)
    console.print(f"load average before/after: {result['load_average_before']} / {result['load_average_after']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
