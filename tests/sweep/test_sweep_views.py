"""The sweep's added views: DHC-or-DHS over beta x gamma, curves pooled over datasets, the zoomed
per-vendor threshold axis, sweep.json, and `dfi sweep` answering at once with a moving progress bar."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.metrics import compute_metrics
from harness.metrics.probes import ProbeArrays
from harness.results import results_from_rows, write_results
from harness.sweep import (
    POOLED,
    deception_grid,
    moving_range,
    pooled_sweep,
    sweep,
    vendor_zoom,
    zoom_grid,
)

from support.metric_tables import probe_rows, row_key, scores

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
small_grids = st.lists(scores, min_size=1, max_size=4).map(lambda xs: np.unique(np.array(xs + [90.0, 80.0])))


def _row_by_row(df: pd.DataFrame, beta: float, gamma: float) -> dict[tuple[str, str], tuple[int, int]]:
    """An independent reference, one row at a time: (harmful probes, valid probes) per group."""
    out: dict[tuple[str, str], list[int]] = {}
    scored: set[tuple[str, str]] = set()
    for r in df.to_dict("records"):
        if any(r.get(c) for c in ("fake_error", "target_error", "target2_error")):
            continue
        key = (r["dataset"], r["vendor"])
        counts = out.setdefault(key, [0, 0])
        counts[1] += 1
        named = bool(r["fake_name"])
        conf = 0.0 if pd.isna(r["fake_conf"]) else float(r["fake_conf"])
        has_sim = not pd.isna(r["similarity"]) and not r.get("similarity_error")
        scored |= {key} if has_sim else set()
        counts[0] += int((named and conf > beta) or (not named and has_sim and float(r["similarity"]) > gamma))
    return {k: (v[0], v[1]) for k, v in out.items() if k in scored}


@SETTINGS
@given(rows=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=30), betas=small_grids, gammas=small_grids)
def test_deception_grid_counts_probes_fooled_by_either_call(rows, betas, gammas):
    df = results_from_rows(rows)
    grid = deception_grid(ProbeArrays.from_frame(df), betas, gammas)
    got = {(r.dataset, r.vendor, r.beta, r.gamma): (r.numerator, r.denominator) for r in grid.itertuples()}
    for b in betas:
        for g in gammas:
            expected = _row_by_row(df, b, g)
            assert {k[:2]: v for k, v in got.items() if k[2:] == (b, g)} == expected
            # and in the metrics' own terms: DHC's numerator at beta plus DHS's at gamma, over valid probes
            m = compute_metrics(df, beta=b, gamma=g).set_index(["dataset", "vendor", "metric", "basis"])
            for (dataset, vendor), (num, den) in expected.items():
                assert num == m.loc[(dataset, vendor, "DHC", "study"), "numerator"] + \
                    m.loc[(dataset, vendor, "DHS", "study"), "numerator"]
                assert den == m.loc[(dataset, vendor, "NA", "study"), "denominator"]


@SETTINGS
@given(rows=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=30))
def test_pooled_curves_are_the_sweep_of_one_merged_dataset(rows):
    df = results_from_rows(rows)
    pooled = pooled_sweep(df, np.arange(0.0, 101.0, 10.0))
    merged = sweep(df.assign(dataset=POOLED), np.arange(0.0, 101.0, 10.0))
    cols = ["dataset", "vendor", "parameter", "metric", "basis", "threshold"]
    a = pooled.sort_values(cols).reset_index(drop=True)
    b = merged.sort_values(cols).reset_index(drop=True)
    pd.testing.assert_frame_equal(a[b.columns], b, check_dtype=False)


def test_moving_range_brackets_the_change():
    x = np.arange(0.0, 101.0)
    cliff = np.where(x < 99, 80.0, np.where(x < 100, 40.0, 0.0))
    assert moving_range(x, cliff) == (98.0, 100.0)
    ramp = np.clip(100.0 - (x - 60.0) * 2.5, 0.0, 100.0)
    assert moving_range(x, ramp) == (60.0, 100.0)
    assert moving_range(x, np.full(101, 7.0)) is None
    assert moving_range(x, np.full(101, np.nan)) is None


def test_zoom_grid_reaches_towards_100():
    grid = zoom_grid(70.0, 100.0)
    assert grid[0] == 70.0 and grid[-1] == 100.0 and np.all(np.diff(grid) > 0)
    assert ((grid > 99.9) & (grid < 100.0)).sum() >= 30  # fine steps where Azure's confidences crowd
    assert 99.999 in np.round(grid, 6)


def _crowded_near_100(n: int = 400, seed: int = 4) -> pd.DataFrame:
    """MS-like deepfake confidences: most above 99; AWS-like ones spread over 55-100."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        vendor = "ms" if i % 2 else "aws"
        conf = 100.0 - 10 ** rng.uniform(-3, 0.5) if vendor == "ms" else float(rng.uniform(55, 100))
        rows.append(dict(dataset=["A", "B"][i % 4 // 2], vendor=vendor, probe_id=str(i), target="T", target_name="T",
                         target_conf=99.99, fake_name="T", fake_conf=conf, similarity=float(rng.uniform(0, 100))))
    return results_from_rows(rows)


def test_zoomed_curves_equal_the_sweep_at_their_thresholds_and_resolve_the_top():
    from harness.report.plots_zoom import needs_log_axis

    df = _crowded_near_100()
    coarse = sweep(df)
    zoom = vendor_zoom(df, coarse)
    ms = zoom[(zoom["vendor"] == "ms") & (zoom["parameter"] == "beta") & (zoom["metric"] == "DHC")]
    pooled = ms[ms["dataset"] == POOLED].sort_values("threshold")
    top = pooled[pooled["threshold"] >= 99.0]
    assert top["value"].nunique() > 20  # on the 0:100:1 grid the whole fall is one step, 99 -> 100
    assert needs_log_axis(pooled["threshold"].to_numpy(), pooled["value"].to_numpy())
    aws = zoom[(zoom["vendor"] == "aws") & (zoom["parameter"] == "beta") & (zoom["metric"] == "DHC")]
    aws = aws[aws["dataset"] == POOLED]
    assert not needs_log_axis(aws["threshold"].to_numpy(), aws["value"].to_numpy())
    assert aws["threshold"].min() <= 56.0
    # every zoomed point is the sweep recomputed at that threshold
    points = np.unique(ms["threshold"].to_numpy())[::37]
    again = sweep(df[df["vendor"] == "ms"], points)
    again = again[(again["parameter"] == "beta") & (again["metric"] == "DHC") & (again["basis"] == "study")]
    per_dataset = ms[(ms["dataset"] != POOLED) & ms["threshold"].isin(points)]
    merged = per_dataset.merge(again, on=["dataset", "vendor", "threshold"], suffixes=("", "_again"))
    assert len(merged) == len(points) * 2 and (merged["numerator"] == merged["numerator_again"]).all()


@pytest.fixture(scope="module")
def table_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep-in") / "results.csv"
    write_results(_crowded_near_100(), path)
    return path


def test_run_sweep_writes_json_pooled_zoom_and_heatmap(table_file, tmp_path):
    from harness.jobs.sweep import run_sweep

    steps: list[tuple[str, int, int]] = []
    res = run_sweep(results=[table_file], thresholds=np.arange(0.0, 101.0, 5.0), out_dir=tmp_path,
                    on_step=lambda what, done, total: steps.append((what, done, total)))
    payload = json.loads((tmp_path / "sweep.json").read_text())
    digest = hashlib.sha256(table_file.read_bytes()).hexdigest()
    assert payload["inputs"] == [{"path": str(table_file), "sha256": digest, "bytes": table_file.stat().st_size}]
    assert payload["parameters"]["grid"] == list(np.arange(0.0, 101.0, 5.0))
    assert payload["parameters"]["by"] == "dataset"
    from harness import __version__

    assert payload["dfi_version"] == __version__
    records = pd.DataFrame(payload["records"])
    csv = pd.read_csv(tmp_path / "sweep.csv", keep_default_na=False, na_values={"value": [""], "ci_low": [""],
                                                                                 "ci_high": [""]})
    assert len(records) == len(csv) == len(res.curves)
    assert records["metric"].str.lower().tolist() == csv["metric"].tolist()  # acronyms in JSON, ids in the CSV
    np.testing.assert_allclose(records["value"].astype(float), csv["value"].astype(float), equal_nan=True)
    assert set(pd.DataFrame(payload["pooled"])["dataset"]) == {POOLED}
    names = {p.name for p in res.pngs}
    assert {"sweep_DHC_beta.png", "zoom_DHC_beta.png", "deception_beta_gamma.png"} <= names
    assert all(p.with_suffix(".svg").is_file() for p in res.pngs)
    grid = pd.read_csv(tmp_path / "deception_beta_gamma.csv")
    assert len(grid) == 2 * 2 * 21 * 21  # datasets x vendors x beta x gamma
    # progress: one call per step, in order, with a fixed total, the last one "done"
    totals = {t for _, _, t in steps}
    assert len(totals) == 1 and [d for _, d, _ in steps] == list(range(len(steps))) and steps[-1][1] == totals.pop()


def test_dfi_sweep_says_what_it_does_before_it_works(table_file, tmp_path, monkeypatch):
    import harness.jobs.sweep as job
    from harness.cli import cli

    seen: list[str] = []
    real = job.run_sweep

    def spy(**kwargs):
        sys.stdout.flush()
        seen.append(sys.stdout.buffer.getvalue().decode())  # what the command had printed when the work began
        return real(**kwargs)

    monkeypatch.setattr(job, "run_sweep", spy)
    result = CliRunner().invoke(cli, ["sweep", str(table_file), "-o", str(tmp_path), "--no-plots", "--grid", "0,50"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first == f"dfi sweep: 1 results file, grid 0,50 -> {tmp_path}"
    assert seen == [first + "\n"]


def test_dfi_sweep_first_line_within_a_second(table_file, tmp_path):
    started = time.perf_counter()
    command = [sys.executable, "-m", "harness", "sweep", str(table_file), "-o", str(tmp_path), "--no-plots"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = proc.stdout.readline()
    waited = time.perf_counter() - started
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert first.startswith("dfi sweep: 1 results file") and "changes fastest" in out
    # 1 s asked; a loaded test machine gets some slack, the job's imports alone take longer
    assert waited < 2.0, waited


@pytest.mark.shared
def test_on_the_study_data_the_ms_curves_move_visibly_on_the_zoomed_axis(shared_data):
    from harness.report.plots_zoom import needs_log_axis
    from harness.results.paper import import_paper

    table, _ = import_paper([shared_data / "paper-results"])
    coarse = sweep(table)
    zoom = vendor_zoom(table, coarse)
    for vendor, log in (("ms", True), ("aws", False)):
        curve = zoom[(zoom["vendor"] == vendor) & (zoom["parameter"] == "beta") & (zoom["metric"] == "DHC")
                     & (zoom["dataset"] == POOLED)].sort_values("threshold")
        assert needs_log_axis(curve["threshold"].to_numpy(), curve["value"].to_numpy()) is log, vendor
    ms = zoom[(zoom["vendor"] == "ms") & (zoom["parameter"] == "beta") & (zoom["metric"] == "DHC")
              & (zoom["dataset"] == POOLED)]
    # on the 0:100:1 grid MS's DHC goes from its value at 99 to 0 in one step; zoomed it has many points there
    top = ms[(ms["threshold"] >= 99.0) & (ms["threshold"] < 100.0)]
    assert top["value"].nunique() > 50 and top["value"].max() - top["value"].min() > 30
