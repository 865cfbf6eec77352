"""The metrics' counts against an independent polars query on synthetic tables (skipped without polars).

polars is in the ``bench`` extra, not ``test``: CI, which installs ``.[test]``, skips this module.
"""

from __future__ import annotations

import pandas as pd
import pytest

from harness.metrics import compute_counts, compute_metrics
from harness.metrics import groups as grouping
from harness.results.synthetic import synthetic_results

pl = pytest.importorskip("polars", reason="polars is in the bench extra, not installed here")

BY = ["dataset", "vendor"]


def polars_counts(df: pd.DataFrame, beta: float, gamma: float) -> pd.DataFrame:
    """Per (dataset, vendor): every numerator and denominator, from the per-probe definitions."""

    def said(c: str):
        return pl.col(c).fill_null("") != ""

    def conf(c: str):
        return pl.col(c).fill_null(0.0)

    valid = ~(said("fake_error") | said("target_error") | said("target2_error"))
    na = valid & said("fake_name")
    ta = na & (
        (said("target_name") & (pl.col("fake_name") == pl.col("target_name")))
        | (said("target2_name") & (pl.col("fake_name") == pl.col("target2_name")))
    ).fill_null(False)
    ref = pl.max_horizontal(pl.when(said("target_name")).then(conf("target_conf")).otherwise(0.0),
                            pl.when(said("target2_name")).then(conf("target2_conf")).otherwise(0.0))
    with_sim = valid & pl.col("similarity").is_not_null() & ~said("similarity_error")
    missed = with_sim & ~na
    out = pl.from_pandas(df).group_by(BY).agg(
        valid=valid.sum(), TA=ta.sum(), NA=na.sum(), DHF=(na & (conf("fake_conf") > ref)).sum(),
        DHC=(na & (conf("fake_conf") > beta)).sum(), with_sim=with_sim.sum(), missed=missed.sum(),
        DHS=(missed & (pl.col("similarity") > gamma)).sum(),
        targets=pl.col("target").filter(valid).n_unique(), hit=pl.col("target").filter(ta).n_unique(),
    ).sort(BY)
    return out.to_pandas().astype({c: "int64" for c in out.columns if c not in BY})


def _expected_records(ref: pd.DataFrame) -> dict:
    pairs = {
        ("TA", "study"): ("TA", "valid"), ("TA", "all"): ("TA", "valid"),
        ("NA", "study"): ("NA", "valid"), ("NA", "all"): ("NA", "valid"),
        ("DHF", "study"): ("DHF", "valid"), ("DHF", "all"): ("DHF", "valid"),
        ("DHC", "study"): ("DHC", "NA"), ("DHC", "all"): ("DHC", "valid"),
        ("DHS", "study"): ("DHS", "missed"), ("DHS", "all"): ("DHS", "with_sim"),
        ("SIC", "study"): ("hit", "targets"), ("SIC", "all"): ("hit", "targets"),
    }
    return {(r["dataset"], r["vendor"], m, b): (r[num], r[den])
            for _, r in ref.iterrows() for (m, b), (num, den) in pairs.items()}


@pytest.mark.parametrize("threads", [False, True])
@pytest.mark.parametrize(("beta", "gamma"), [(90.0, 80.0), (55.0, 0.0)])
def test_counts_and_metrics_equal_polars(monkeypatch, threads, beta, gamma):
    if threads:
        monkeypatch.setattr(grouping, "PARALLEL_ROWS", 1000)
    df = synthetic_results(20_000, seed=11)
    ref = polars_counts(df, beta, gamma)

    counts = compute_counts(df, beta=beta)
    pd.testing.assert_frame_equal(counts, ref[[*BY, "valid", "TA", "NA", "DHC"]], check_dtype=False)

    records = compute_metrics(df, beta=beta, gamma=gamma)
    got = {(r.dataset, r.vendor, r.metric, r.basis): (r.numerator, r.denominator) for r in records.itertuples()}
    assert got == _expected_records(ref)
