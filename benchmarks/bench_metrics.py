"""Speed of the metrics against polars, DuckDB and vectorised pandas, and of the threshold sweep.

    python benchmarks/bench_metrics.py --today /tmp/wt-met       # the recorded configuration
    python benchmarks/bench_metrics.py --rows 1000000 --repeats 3 --sweep-rows 0   # quick look

(``--today DIR``: also time the harness of an earlier checkout, e.g. ``git worktree add /tmp/wt-met
8e54dee``; it runs in a subprocess that imports ``harness`` from DIR.)

Workloads, per (dataset, vendor) group of ``--rows`` synthetic rows (``harness.results.synthetic``:
5 datasets x 3 vendors, 300 targets, about 1% failed calls):

* ``counts``: valid probes and the TA, NA and DHC (beta = 90) successes;
* ``full``: all six metrics on both bases (DESIGN.md section 2) with 95% Wilson intervals, as
  long-form records (12 per group).

Implementations, each given the table in its own native form, prepared before timing:

* ``harness``: ``compute_counts(df)`` / ``compute_metrics(df)`` on the pandas results table;
* ``harness_today``: the ``--today`` checkout, which has no counts-only call: ``counts`` is
  ``compute_metrics`` and the TA / NA / DHC rows picked out of it;
* ``polars``: one lazy query per workload (``with_columns`` of the per-probe flags, ``group_by``
  dataset x vendor, ``sum`` / filtered ``n_unique``, the long form and the Wilson interval as
  expressions) on ``pl.from_pandas(df)`` (zero copy for the Arrow text columns; NaN -> null);
* ``duckdb``: one SQL query per workload (``count(*) FILTER``, ``count(DISTINCT ...) FILTER``,
  ``UNION ALL`` into long form, Wilson in SQL) on an in-memory DuckDB table of the columns used;
* ``pandas``: vectorised pandas: boolean Series, ``groupby(...).sum()``, ``nunique()``, Wilson in
  numpy; no ``apply``.

Every implementation's counts (and, for ``full``, values and intervals to 1e-9) are checked equal to
harness's before any of its times is recorded. Repeats are round-robin across the implementations,
so a change of load on the shared machine hits all of them alike; best and median are reported,
with the load average before and after each table size and "vs polars" = polars' time / the
implementation's time (> 1: faster than polars). polars and DuckDB use their default thread pools
(all cores); harness runs numpy on one thread, with the Arrow hashing and string comparisons of a
table of 200,000 rows or more on two threads. The thread counts are recorded.

``sweep`` (unchanged): ``harness.sweep.sweep`` -- DHC over beta, DHS over gamma, NA/TA/DHF/SIC over
tau on a 101-point grid -- on ``--sweep-rows`` rows, against recomputing the metrics at each point.

Earlier versions of this benchmark compared against a pandas ``groupby.apply`` and a row-by-row
``apply``; neither is how pandas is meant to be used, so they are no longer run.

Writes ``benchmarks/results/metrics.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS = Path(__file__).parent / "results"
BY = ["dataset", "vendor"]
BETA, GAMMA = 90.0, 80.0
Z = 1.959963984540054  # the 97.5% normal quantile: 95% two-sided Wilson interval
COUNTS = ["valid", "TA", "NA", "DHC"]
METRIC_ORDER = ["TA", "NA", "DHF", "DHC", "DHS", "SIC"]
# (metric, basis, numerator, denominator) in harness's record order
PAIRS = [
    ("TA", "study", "TA", "valid"), ("TA", "all", "TA", "valid"),
    ("NA", "study", "NA", "valid"), ("NA", "all", "NA", "valid"),
    ("DHF", "study", "DHF", "valid"), ("DHF", "all", "DHF", "valid"),
    ("DHC", "study", "DHC", "NA"), ("DHC", "all", "DHC", "valid"),
    ("DHS", "study", "DHS", "missed_with_sim"), ("DHS", "all", "DHS", "with_sim"),
    ("SIC", "study", "targets_hit", "targets"), ("SIC", "all", "targets_hit", "targets"),
]
TEXT = ["fake_error", "target_error", "target2_error", "fake_name", "target_name", "target2_name",
        "similarity_error", "target"]
USED = [*BY, *TEXT, "fake_conf", "target_conf", "target2_conf", "similarity"]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def save_table(df: pd.DataFrame, path: Path) -> None:
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    with pa.OSFile(str(path), "wb") as sink, pa.ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def load_table(path: Path) -> pd.DataFrame:
    """The table saved by :func:`save_table`, its text columns memory-mapped (shared by both processes)."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(str(path))).read_all().to_pandas()


# ------------------------------------------------------------------ harness
def harness_counts(df: pd.DataFrame) -> pd.DataFrame:
    from harness.metrics import compute_counts

    return compute_counts(df, beta=BETA)


def harness_full(df: pd.DataFrame) -> pd.DataFrame:
    from harness.metrics import compute_metrics

    return compute_metrics(df, beta=BETA, gamma=GAMMA)


def counts_from_records(records: pd.DataFrame) -> pd.DataFrame:
    """The counts workload's answer from compute_metrics records (the only way before compute_counts)."""
    study = records[records["basis"] == "study"].set_index([*BY, "metric"])
    out = study["numerator"].unstack("metric")[["TA", "NA", "DHC"]]
    out.insert(0, "valid", study.xs("TA", level="metric")["denominator"])
    return out.reset_index()


# ------------------------------------------------------------------ polars
def polars_flags(lf: Any) -> Any:
    import polars as pl

    def said(column: str) -> Any:
        return pl.col(column).fill_null("") != ""

    def conf(column: str) -> Any:
        return pl.col(column).fill_null(0.0)

    valid = ~(said("fake_error") | said("target_error") | said("target2_error"))
    named = valid & said("fake_name")
    match1 = said("target_name") & (pl.col("fake_name") == pl.col("target_name")).fill_null(False)
    match2 = said("target2_name") & (pl.col("fake_name") == pl.col("target2_name")).fill_null(False)
    ref_conf = pl.max_horizontal(
        pl.when(said("target_name")).then(conf("target_conf")).otherwise(0.0),
        pl.when(said("target2_name")).then(conf("target2_conf")).otherwise(0.0),
    )
    with_sim = valid & pl.col("similarity").is_not_null() & ~said("similarity_error")
    return lf.with_columns(valid=valid, NA=named).with_columns(
        TA=pl.col("NA") & (match1 | match2),
        DHF=pl.col("NA") & (conf("fake_conf") > ref_conf),
        DHC=pl.col("NA") & (conf("fake_conf") > BETA),
        with_sim=with_sim,
        missed_with_sim=with_sim & ~pl.col("NA"),
    ).with_columns(DHS=pl.col("missed_with_sim") & (pl.col("similarity") > GAMMA))


def polars_counts(frame: Any) -> Any:
    import polars as pl

    lf = polars_flags(frame.lazy())
    return lf.group_by(BY).agg(*(pl.col(c).sum() for c in COUNTS)).sort(BY).collect()


def polars_full(frame: Any) -> Any:
    import polars as pl

    sums = ["valid", "TA", "NA", "DHF", "DHC", "with_sim", "missed_with_sim", "DHS"]
    agg = polars_flags(frame.lazy()).group_by(BY).agg(
        *(pl.col(c).sum() for c in sums),
        targets=pl.col("target").filter(pl.col("valid")).n_unique(),
        targets_hit=pl.col("target").filter(pl.col("TA")).n_unique(),
    )
    long = pl.concat([
        agg.select(*BY, metric=pl.lit(m), basis=pl.lit(b), order=pl.lit(i),
                   numerator=pl.col(num).cast(pl.Int64), denominator=pl.col(den).cast(pl.Int64))
        for i, (m, b, num, den) in enumerate(PAIRS)
    ])
    k, n = pl.col("numerator").cast(pl.Float64), pl.col("denominator").cast(pl.Float64)
    p = k / n
    scale = 1.0 + Z * Z / n
    center = (p + Z * Z / (2.0 * n)) / scale
    half = Z / scale * (p * (1.0 - p) / n + Z * Z / (4.0 * n * n)).sqrt()

    def defined(expr: Any) -> Any:
        return pl.when(n > 0).then(expr).otherwise(float("nan"))

    return long.with_columns(
        value=defined(100.0 * p),
        ci_low=defined(100.0 * (center - half).clip(0.0, 1.0)),
        ci_high=defined(100.0 * (center + half).clip(0.0, 1.0)),
    ).sort([*BY, "order"]).drop("order").collect()


# ------------------------------------------------------------------ duckdb
DUCK_FLAGS = f"""
base AS (
  SELECT dataset, vendor, target, fake_name, fake_conf, similarity,
    coalesce(fake_error, '') = '' AND coalesce(target_error, '') = '' AND coalesce(target2_error, '') = '' AS valid,
    coalesce(target_name, '') <> '' AS t1, coalesce(target2_name, '') <> '' AS t2,
    coalesce(target_name, '') <> '' AND fake_name = target_name AS m1,
    coalesce(target2_name, '') <> '' AND fake_name = target2_name AS m2,
    CASE WHEN coalesce(target_name, '') <> '' THEN coalesce(target_conf, 0) ELSE 0 END AS c1,
    CASE WHEN coalesce(target2_name, '') <> '' THEN coalesce(target2_conf, 0) ELSE 0 END AS c2,
    similarity IS NOT NULL AND NOT isnan(similarity) AND coalesce(similarity_error, '') = '' AS has_sim
  FROM results
),
flags AS (
  SELECT dataset, vendor, target, valid,
    valid AND coalesce(fake_name, '') <> '' AS na,
    valid AND coalesce(fake_name, '') <> '' AND coalesce(m1 OR m2, false) AS ta,
    valid AND coalesce(fake_name, '') <> '' AND coalesce(fake_conf, 0) > greatest(c1, c2) AS dhf,
    valid AND coalesce(fake_name, '') <> '' AND coalesce(fake_conf, 0) > {BETA} AS dhc,
    valid AND has_sim AS with_sim,
    valid AND has_sim AND coalesce(fake_name, '') = '' AS missed,
    valid AND has_sim AND coalesce(fake_name, '') = '' AND similarity > {GAMMA} AS dhs
  FROM base
)"""

DUCK_COUNTS = f"""WITH {DUCK_FLAGS}
SELECT dataset, vendor, count(*) FILTER (valid) AS valid, count(*) FILTER (ta) AS "TA",
  count(*) FILTER (na) AS "NA", count(*) FILTER (dhc) AS "DHC"
FROM flags GROUP BY dataset, vendor ORDER BY dataset, vendor"""


def _duck_full_sql() -> str:
    columns = {"valid": "valid", "TA": "ta", "NA": "na", "DHF": "dhf", "DHC": "dhc", "with_sim": "with_sim",
               "missed_with_sim": "missed", "DHS": "dhs"}
    sums = ", ".join(f'count(*) FILTER ({flag}) AS "{name}"' for name, flag in columns.items())
    union = "\n  UNION ALL ".join(
        f"SELECT dataset, vendor, '{m}' AS metric, '{b}' AS basis, {i} AS ord, "
        f'"{num}" AS numerator, "{den}" AS denominator FROM agg'
        for i, (m, b, num, den) in enumerate(PAIRS)
    )
    return f"""WITH {DUCK_FLAGS},
agg AS (
  SELECT dataset, vendor, {sums},
    count(DISTINCT target) FILTER (valid) AS targets, count(DISTINCT target) FILTER (ta) AS targets_hit
  FROM flags GROUP BY dataset, vendor
),
long AS ({union}),
w AS (
  SELECT *, numerator::DOUBLE / denominator AS p, 1 + {Z}^2 / denominator AS scale FROM long
)
SELECT dataset, vendor, metric, basis, numerator, denominator,
  CASE WHEN denominator > 0 THEN 100 * p ELSE 'nan'::DOUBLE END AS value,
  CASE WHEN denominator > 0 THEN 100 * greatest(0, least(1,
    (p + {Z}^2 / (2 * denominator)) / scale - {Z} / scale * sqrt(p * (1 - p) / denominator
      + {Z}^2 / (4 * denominator * denominator)))) ELSE 'nan'::DOUBLE END AS ci_low,
  CASE WHEN denominator > 0 THEN 100 * greatest(0, least(1,
    (p + {Z}^2 / (2 * denominator)) / scale + {Z} / scale * sqrt(p * (1 - p) / denominator
      + {Z}^2 / (4 * denominator * denominator)))) ELSE 'nan'::DOUBLE END AS ci_high
FROM w ORDER BY dataset, vendor, ord"""


DUCK_FULL = _duck_full_sql()


def duck_counts(con: Any) -> pd.DataFrame:
    return con.sql(DUCK_COUNTS).df()


def duck_full(con: Any) -> pd.DataFrame:
    return con.sql(DUCK_FULL).df()


# ------------------------------------------------------------------ vectorised pandas
def pandas_flags(df: pd.DataFrame) -> pd.DataFrame:
    def said(column: str) -> pd.Series:
        return df[column].fillna("") != ""

    def conf(column: str) -> pd.Series:
        return df[column].fillna(0.0)

    valid = ~(said("fake_error") | said("target_error") | said("target2_error"))
    named = valid & said("fake_name")
    match1 = said("target_name") & (df["fake_name"] == df["target_name"])
    match2 = said("target2_name") & (df["fake_name"] == df["target2_name"])
    ref_conf = np.maximum(conf("target_conf").where(said("target_name"), 0.0),
                          conf("target2_conf").where(said("target2_name"), 0.0))
    with_sim = valid & df["similarity"].notna() & ~said("similarity_error")
    missed = with_sim & ~named
    return pd.DataFrame({
        "dataset": df["dataset"], "vendor": df["vendor"], "target": df["target"],
        "valid": valid, "TA": named & (match1 | match2), "NA": named,
        "DHF": named & (conf("fake_conf") > ref_conf), "DHC": named & (conf("fake_conf") > BETA),
        "with_sim": with_sim, "missed_with_sim": missed, "DHS": missed & (df["similarity"] > GAMMA),
    })


def pandas_counts(df: pd.DataFrame) -> pd.DataFrame:
    flags = pandas_flags(df)
    return flags.groupby(BY, sort=True)[COUNTS].sum().reset_index()


def pandas_full(df: pd.DataFrame) -> pd.DataFrame:
    flags = pandas_flags(df)
    sums = ["valid", "TA", "NA", "DHF", "DHC", "with_sim", "missed_with_sim", "DHS"]
    agg = flags.groupby(BY, sort=True)[sums].sum()
    agg["targets"] = flags[flags["valid"]].groupby(BY)["target"].nunique(dropna=False)
    agg["targets_hit"] = flags[flags["TA"]].groupby(BY)["target"].nunique(dropna=False)
    agg = agg.fillna({"targets": 0, "targets_hit": 0}).astype({"targets": "int64", "targets_hit": "int64"})
    long = pd.concat(
        [agg.assign(metric=m, basis=b, order=i, numerator=agg[num], denominator=agg[den])
         [["metric", "basis", "order", "numerator", "denominator"]]
         for i, (m, b, num, den) in enumerate(PAIRS)]
    ).reset_index().sort_values([*BY, "order"], kind="stable").drop(columns="order")
    k, n = long["numerator"].to_numpy(np.float64), long["denominator"].to_numpy(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        scale = 1.0 + Z * Z / n
        center = (p + Z * Z / (2.0 * n)) / scale
        half = Z / scale * np.sqrt(p * (1.0 - p) / n + Z * Z / (4.0 * n * n))
    defined = n > 0
    long["value"] = np.where(defined, 100.0 * p, np.nan)
    long["ci_low"] = np.where(defined, 100.0 * np.clip(center - half, 0.0, 1.0), np.nan)
    long["ci_high"] = np.where(defined, 100.0 * np.clip(center + half, 0.0, 1.0), np.nan)
    return long.reset_index(drop=True)


# ------------------------------------------------------------------ checks
def canonical(out: Any, workload: str) -> pd.DataFrame:
    frame = out.to_pandas() if hasattr(out, "to_pandas") and not isinstance(out, pd.DataFrame) else out
    frame = pd.DataFrame(frame)
    if workload == "counts":
        cols = [*BY, *COUNTS]
        frame = frame[cols].astype({c: "int64" for c in COUNTS}).astype({c: object for c in BY})
        return frame.sort_values(BY).reset_index(drop=True)
    cols = [*BY, "metric", "basis", "numerator", "denominator", "value", "ci_low", "ci_high"]
    frame = frame[cols].astype({"numerator": "int64", "denominator": "int64"}).astype(
        {c: object for c in [*BY, "metric", "basis"]})
    return frame.sort_values([*BY, "metric", "basis"]).reset_index(drop=True)


def check_same(got: pd.DataFrame, want: pd.DataFrame, name: str) -> None:
    exact = [c for c in got.columns if c not in ("value", "ci_low", "ci_high")]
    pd.testing.assert_frame_equal(got[exact], want[exact], check_dtype=False, obj=name)
    for column in ("value", "ci_low", "ci_high"):
        if column in got.columns:
            assert np.allclose(got[column].to_numpy(float), want[column].to_numpy(float),
                               rtol=1e-9, atol=1e-9, equal_nan=True), (name, column)


# ------------------------------------------------------------------ the earlier checkout
class TodayWorker:
    """A subprocess importing ``harness`` from another checkout; it builds its own copy of the table."""

    def __init__(self, checkout: Path) -> None:
        env = {**os.environ, "PYTHONPATH": str(checkout)}
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"], cwd=checkout, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.harness_file = self.ask({"op": "hello"})["harness"]
        if not self.harness_file.startswith(str(checkout)):
            raise RuntimeError(f"the worker imported {self.harness_file}, not the checkout {checkout}")

    def ask(self, message: dict) -> dict:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(message) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("the worker for the earlier checkout died")
        return json.loads(line)

    def run(self, workload: str) -> tuple[float, pd.DataFrame]:
        reply = self.ask({"op": "run", "workload": workload})
        return reply["seconds"], pd.DataFrame(reply["records"])

    def close(self) -> float:
        rss = float(self.ask({"op": "quit"})["peak_rss_mib"])
        self.proc.wait(timeout=60)
        return rss


def worker() -> None:
    import harness
    from harness.metrics import compute_metrics
    from harness.results.synthetic import synthetic_results

    df = None
    for line in sys.stdin:
        message = json.loads(line)
        reply: dict[str, Any] = {}
        if message["op"] == "hello":
            reply["harness"] = harness.__file__
        elif message["op"] == "load":
            df = load_table(Path(message["path"]))
            reply["dtypes_equal"] = bool((df.dtypes == synthetic_results(10).dtypes).all())
            compute_metrics(df.head(1000))
        elif message["op"] == "drop":
            df = None
        elif message["op"] == "run":
            assert df is not None
            start = time.perf_counter()
            records = compute_metrics(df, beta=BETA, gamma=GAMMA)
            if message["workload"] == "counts":
                records = counts_from_records(records)
            reply["seconds"] = time.perf_counter() - start
            reply["records"] = records.to_dict(orient="list")
        elif message["op"] == "quit":
            print(json.dumps({"peak_rss_mib": peak_rss_mib()}), flush=True)
            return
        print(json.dumps(reply), flush=True)


# ------------------------------------------------------------------ one table size
def summary(seconds: list[float]) -> dict[str, Any]:
    return {"seconds": seconds, "best": min(seconds), "median": statistics.median(seconds)}


def bench_size(rows: int, repeats: int, today: TodayWorker | None, console: Any) -> dict[str, Any]:
    import duckdb
    import polars as pl

    from harness.results.synthetic import synthetic_results

    out: dict[str, Any] = {"rows": rows, "load_average_before": os.getloadavg()}
    start = time.perf_counter()
    built = synthetic_results(rows, seed=1)
    out["build_seconds"] = time.perf_counter() - start
    # One copy of the table for both processes: saved as Arrow IPC in shared memory, memory-mapped.
    folder = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    shared = folder / f"bench-metrics-{os.getpid()}.arrow"
    save_table(built, shared)
    dtypes = built.dtypes
    del built
    df = load_table(shared)
    assert (df.dtypes == dtypes).all()
    if today is not None:
        assert today.ask({"op": "load", "path": str(shared)})["dtypes_equal"]
    start = time.perf_counter()
    frame = pl.from_pandas(df)
    out["polars_from_pandas_seconds"] = time.perf_counter() - start
    con = duckdb.connect()
    start = time.perf_counter()
    arrow = frame.select(USED).to_arrow()  # noqa: F841 -- scanned by name in the next statement
    con.execute("CREATE TABLE results AS SELECT * FROM arrow")
    del arrow
    out["duckdb_load_seconds"] = time.perf_counter() - start
    harness_full(df.head(1000)), harness_counts(df.head(1000))  # warm imports

    impls: dict[str, dict[str, Callable[[], Any]]] = {
        "counts": {"harness": lambda: harness_counts(df), "polars": lambda: polars_counts(frame),
                   "duckdb": lambda: duck_counts(con), "pandas": lambda: pandas_counts(df)},
        "full": {"harness": lambda: harness_full(df), "polars": lambda: polars_full(frame),
                 "duckdb": lambda: duck_full(con), "pandas": lambda: pandas_full(df)},
    }
    out["workloads"] = {}
    for workload, fns in impls.items():
        names = ["harness_today", *fns] if today is not None else list(fns)
        times: dict[str, list[float]] = {name: [] for name in names}
        want = canonical(fns["harness"](), workload)
        for name in names:  # one checked, untimed run each
            got = today.run(workload)[1] if name == "harness_today" else fns[name]()
            check_same(canonical(got, workload), want, f"{name} {workload} {rows}")
        for _ in range(repeats):
            for name in names:
                if name == "harness_today":
                    assert today is not None
                    times[name].append(today.run(workload)[0])
                else:
                    start = time.perf_counter()
                    fns[name]()
                    times[name].append(time.perf_counter() - start)
        result = {name: summary(t) for name, t in times.items()}
        for r in result.values():
            r["vs_polars_best"] = result["polars"]["best"] / r["best"]
            r["vs_polars_median"] = result["polars"]["median"] / r["median"]
        out["workloads"][workload] = result
        console.print(f"{rows:,} rows, {workload}: " + ", ".join(
            f"{name} {r['best']:.3f}/{r['median']:.3f} s" for name, r in result.items()))
    out["load_average_after"] = os.getloadavg()
    con.close()
    if today is not None:
        today.ask({"op": "drop"})
    shared.unlink()
    return out


def bench_sweep(rows: int, repeats: int, console: Any) -> dict[str, Any]:
    from harness.metrics import compute_metrics
    from harness.results.synthetic import synthetic_results
    from harness.sweep import DEFAULT_GRID, sweep

    def recompute(df: pd.DataFrame, grid: np.ndarray) -> dict[float, tuple[pd.DataFrame, pd.DataFrame]]:
        out = {}
        for t in grid:
            at_threshold = compute_metrics(df, beta=t, gamma=t)
            blanked = df.copy()
            for name, conf in (("fake_name", "fake_conf"), ("target_name", "target_conf"),
                               ("target2_name", "target2_conf")):
                below = (blanked[name] != "") & ~(blanked[conf].fillna(0.0) >= t)
                blanked[name] = blanked[name].where(~below, "")
                blanked[conf] = blanked[conf].where(~below, np.nan)
            out[float(t)] = (at_threshold, compute_metrics(blanked))
        return out

    small = synthetic_results(rows, seed=2)
    sweep(small.head(1000), DEFAULT_GRID)
    t_sw = []
    for _ in range(repeats):
        start = time.perf_counter()
        curves = sweep(small, DEFAULT_GRID)
        t_sw.append(time.perf_counter() - start)
    start = time.perf_counter()
    recomputed = recompute(small, DEFAULT_GRID)
    t_re = [time.perf_counter() - start]
    c = curves.set_index([*BY, "parameter", "metric", "basis", "threshold"])
    for t in (0.0, 55.0, 70.0, 80.0, 90.0, 99.0, 100.0):
        at_t, blanked = recomputed[t]
        for source, metrics in ((at_t, ("DHC", "DHS")), (blanked, ("NA", "TA", "DHF", "SIC"))):
            for row in source[source["metric"].isin(metrics)].itertuples():
                parameter = {"DHC": "beta", "DHS": "gamma"}.get(row.metric, "tau")
                got = c.loc[(row.dataset, row.vendor, parameter, row.metric, row.basis, t)]
                assert (got["numerator"], got["denominator"]) == (row.numerator, row.denominator), (t, row)
    console.print(f"sweep, {rows:,} rows: one pass {min(t_sw):.3f} s, recomputing at each point {t_re[0]:.1f} s")
    return {"rows": rows, "grid_points": len(DEFAULT_GRID), "sweep": summary(t_sw), "recompute": summary(t_re),
            "speedup_best_vs_best": t_re[0] / min(t_sw)}


# ------------------------------------------------------------------ main
def print_table(result: dict[str, Any], console: Any) -> None:
    from rich.table import Table

    table = Table(title="Metrics (wall clock, seconds; vs polars = polars' time / this one's, > 1 is faster)")
    for name in ("workload", "rows", "implementation", "best", "median", "vs polars (best)", "vs polars (median)"):
        table.add_column(name, justify="left" if name in ("workload", "implementation") else "right")
    for size in result["sizes"]:
        for workload, impls in size["workloads"].items():
            for name, r in impls.items():
                table.add_row(workload, f"{size['rows']:,}", name, f"{r['best']:.3f}", f"{r['median']:.3f}",
                              f"{r['vs_polars_best']:.2f}x", f"{r['vs_polars_median']:.2f}x")
    console.print(table)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--today", type=Path, help="an earlier checkout whose harness is timed too")
    parser.add_argument("--sweep-rows", type=int, default=1_000_000, help="0: no sweep measurement")
    parser.add_argument("--out", type=Path, default=RESULTS / "metrics.json")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker()
        return

    import duckdb
    import polars as pl
    import pyarrow as pa
    from rich.console import Console

    from harness.bench.device import machine_facts

    console = Console()
    today = TodayWorker(args.today) if args.today else None
    con = duckdb.connect()
    result: dict[str, Any] = {
        "machine": machine_facts(),
        "versions": {"polars": pl.__version__, "duckdb": duckdb.__version__, "pyarrow": pa.__version__},
        "threads": {
            "harness": "numpy on one thread; Arrow hashing and string comparisons on 2 threads from 200,000 rows",
            "polars": pl.thread_pool_size(),
            "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS"),
            "duckdb": con.execute("SELECT current_setting('threads')").fetchall()[0][0],
        },
        "today": {"checkout": str(args.today), "harness": today.harness_file} if today else None,
        "repeats": args.repeats,
        "sizes": [],
    }
    con.close()
    for rows in args.rows:
        result["sizes"].append(bench_size(rows, args.repeats, today, console))
    if args.sweep_rows:
        result["sweep"] = bench_sweep(args.sweep_rows, min(args.repeats, 5), console)
    result["peak_rss_mib"] = {"main": peak_rss_mib(), "today_worker": today.close() if today else None}
    print_table(result, console)
    console.print(f"peak RSS (MiB): {result['peak_rss_mib']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    console.print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
