"""Cross-vendor agreement (harness.compare.agreement): hand-counted fixtures, the study's recorded
FCelebDF AWS x MS table against a count made with the csv module, properties, the mocks' tables and
`dfi compare tables` writing agreement.csv."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.stats import binomtest

from harness.cli.compare import compare_group
from harness.compare.agreement import AGREEMENT_COLUMNS, AmbiguousPairingError, agreement
from harness.results import results_from_rows, write_results

from support.study_tables import paper_rows


def rows(spec: list[tuple[str, str, str, str, str]], **extra: str) -> list[dict[str, object]]:
    """(dataset, probe_id, vendor, fake_name, fake_error) -> results rows; the real target image is
    answered "A" (so naming "A" on the deepfake is a TA success)."""
    out: list[dict[str, object]] = []
    for dataset, probe, vendor, name, error in spec:
        out.append({"dataset": dataset, "probe_id": probe, "vendor": vendor, "target": "A", "target_name": "A",
                    "target_conf": 99.0, "fake_name": name, "fake_conf": 80.0 if name else None,
                    "fake_error": error, **extra})
    return out


HAND = [
    # dataset D, aws x ms: p1 both "A"; p2 both, different names; p3 only AWS; p4 only MS; p5 neither;
    # p6 AWS's call failed (excluded, counted); p7 AWS only (not shared)
    ("D", "p1", "aws", "A", ""), ("D", "p1", "ms", "A", ""),
    ("D", "p2", "aws", "A", ""), ("D", "p2", "ms", "B", ""),
    ("D", "p3", "aws", "A", ""), ("D", "p3", "ms", "", ""),
    ("D", "p4", "aws", "", ""), ("D", "p4", "ms", "B", ""),
    ("D", "p5", "aws", "", ""), ("D", "p5", "ms", "", ""),
    ("D", "p6", "aws", "", "ThrottlingException: slow down"), ("D", "p6", "ms", "A", ""),
    ("D", "p7", "aws", "A", ""),
    # dataset E: the two vendors' probe sets share no probe -> no row
    ("E", "e1", "aws", "A", ""), ("E", "e2", "ms", "A", ""),
]


def test_hand_counted_two_by_two_with_an_errored_probe_and_different_names():
    out = agreement(results_from_rows(rows(HAND)))
    assert list(out.columns) == ["dataset", *AGREEMENT_COLUMNS]
    assert len(out) == 1  # E shares no probe: no row, no error
    r = out.iloc[0]
    assert (r.dataset, r.vendor1, r.vendor2) == ("D", "aws", "ms")
    assert (r.shared, r.errored1, r.errored2, r.errored, r.joint) == (6, 1, 0, 1, 5)
    assert (r.both, r.only1, r.only2, r.neither) == (2, 1, 1, 1)
    assert r.both_pct == pytest.approx(40.0) and r.neither_pct == pytest.approx(20.0)
    ci = binomtest(2, 5).proportion_ci(method="wilson")
    assert (r.both_low, r.both_high) == pytest.approx((100 * ci.low, 100 * ci.high))
    assert r.same_name == 1 and r.same_name_pct == pytest.approx(50.0)  # p2: "A" vs "B"
    ci = binomtest(1, 2).proportion_ci(method="wilson")
    assert (r.same_name_low, r.same_name_high) == pytest.approx((100 * ci.low, 100 * ci.high))
    assert r.target_probes == 5 and r.both_target == 1 and r.both_target_pct == pytest.approx(20.0)  # p1
    assert r.both_expected_pct == pytest.approx(100 * 3 / 5 * 3 / 5)
    assert r.kappa == pytest.approx((3 / 5 - (0.36 + 0.16)) / (1 - 0.52))


def test_nav_against_aws_comes_out_in_registry_order():
    spec = [("D", "q1", "nav", "Nav Name", ""), ("D", "q1", "aws", "", ""),
            ("D", "q2", "nav", "A", ""), ("D", "q2", "aws", "A", ""),
            ("D", "q3", "nav", "C", ""), ("D", "q3", "aws", "", "InvalidImageFormatException: bad")]
    r = agreement(results_from_rows(rows(spec))).iloc[0]
    assert (r.vendor1, r.vendor2) == ("aws", "nav")  # not the order the rows came in
    assert (r.joint, r.errored1, r.errored2) == (2, 1, 0)
    assert (r.both, r.only1, r.only2, r.neither) == (1, 0, 1, 0)
    assert r.same_name == 1 and r.both_target == 1
    assert np.isnan(r.kappa)  # NAV names on every joint probe: no variation, no kappa


def test_three_vendors_give_three_pairs_per_group_and_other_groupings():
    answers = {"a": ("A", "A", "B"), "b": ("A", "", "A"), "c": ("", "", "C")}  # aws, ms, nav
    spec = [("D", p, v, n, "") for p, names in answers.items() for v, n in zip(("aws", "ms", "nav"), names,
                                                                             strict=True)]
    table = results_from_rows(rows(spec))
    out = agreement(table)
    cells = ["vendor1", "vendor2", "both", "only1", "only2", "neither", "same_name"]
    assert out[cells].values.tolist() == [["aws", "ms", 1, 1, 0, 1, 1], ["aws", "nav", 2, 0, 1, 0, 1],
                                          ["ms", "nav", 1, 0, 2, 0, 0]]
    by_method = agreement(table, by=("dataset", "method"))
    assert list(by_method.columns[:3]) == ["dataset", "method", "vendor1"] and len(by_method) == 3
    overall = agreement(table, by=())
    assert list(overall.columns) == list(AGREEMENT_COLUMNS) and overall["joint"].tolist() == [3, 3, 3]


def test_one_threshold_on_one_score_leaves_one_only_cell_empty():
    """What the mocks' single embedder does: both vendors rank by the same score and differ only in
    their reporting threshold, so the stricter one names a subset of the other's probes, always the same
    person. The measurement shows it: an empty "only" cell and a 100% same-name rate."""
    rng = np.random.default_rng(0)
    score = rng.uniform(0, 1, 400)
    best = rng.choice(["A", "B", "C"], 400)
    spec = []
    for i, (s, name) in enumerate(zip(score, best, strict=True)):
        spec += [("D", f"p{i}", "aws", name if s > 0.6 else "", ""), ("D", f"p{i}", "ms", name if s > 0.3 else "", "")]
    r = agreement(results_from_rows(rows(spec))).iloc[0]
    assert r.only1 == 0 and r.only2 > 0 and r.same_name_pct == 100.0
    assert r.both_pct > r.both_expected_pct and r.kappa > 0.3


def test_reference_errors_leave_the_target_columns_only_and_missing_target_names_give_na():
    spec = [("D", "p1", "aws", "A", ""), ("D", "p1", "ms", "A", ""), ("D", "p2", "aws", "A", ""),
            ("D", "p2", "ms", "A", "")]
    table = results_from_rows(rows(spec))
    table.loc[(table.probe_id == "p2") & (table.vendor == "ms"), "target_error"] = "ThrottlingException: slow"
    r = agreement(table).iloc[0]
    assert (r.joint, r.both, r.same_name) == (2, 2, 2)  # the deepfake calls all succeeded
    assert (r.target_probes, r.both_target) == (1, 1)
    bare = pd.DataFrame({"dataset": ["D"] * 2, "probe_id": ["p1"] * 2, "vendor": ["aws", "ms"],
                         "fake_name": ["A", np.nan]})  # a NaN name (a CSV read without keep_default_na) is none
    r = agreement(bare).iloc[0]
    assert (r.joint, r.only1) == (1, 1)
    assert pd.isna(r.target_probes) and pd.isna(r.both_target) and np.isnan(r.both_target_pct)


def test_empty_and_ambiguous_inputs():
    one_vendor = results_from_rows(rows([("D", "p1", "aws", "A", "")]))
    assert agreement(one_vendor).empty and list(agreement(one_vendor).columns) == ["dataset", *AGREEMENT_COLUMNS]
    # results tables refuse a repeated row; a frame put together by hand can still hold one
    twice = pd.concat([results_from_rows(rows([("D", "p1", "aws", "A", ""), ("D", "p1", "ms", "A", "")])),
                       results_from_rows(rows([("D", "p1", "aws", "B", "")]))], ignore_index=True)
    with pytest.raises(AmbiguousPairingError, match="more than one row for probe 'p1'"):
        agreement(twice)
    with pytest.raises(ValueError, match="'vendor' cannot be a group column"):
        agreement(one_vendor, by=("dataset", "vendor"))


answer = st.tuples(st.sampled_from(["", "", "A", "B", "Cé"]), st.booleans(), st.integers(0, 9))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["D1", "D2"]), st.integers(0, 12), st.sampled_from(["aws", "ms", "nav"]),
                          answer), max_size=60, unique_by=lambda t: (t[0], t[1], t[2])))
def test_cells_add_up_and_swapping_the_vendors_swaps_the_only_cells(draw):
    spec = [(d, f"p{i}", v, name, "ThrottlingException: x" if err and k < 2 else "")
            for d, i, v, (name, err, k) in draw]
    if not spec:
        return
    table = results_from_rows(rows(spec))
    out = agreement(table)
    assert (out[["both", "only1", "only2", "neither"]].sum(axis=1) == out["joint"]).all()
    assert (out["joint"] + out["errored"] == out["shared"]).all()
    assert (out["errored"] <= out["errored1"] + out["errored2"]).all()
    assert (out["same_name"] <= out["both"]).all() and (out["both_target"] <= out["target_probes"]).all()
    assert (out["shared"] > 0).all()
    # relabel aws <-> ms: the (aws, ms) row now has the two vendors' roles exchanged
    swapped = agreement(table.assign(vendor=table["vendor"].map({"aws": "ms", "ms": "aws", "nav": "nav"})))
    key = ["dataset", "vendor1", "vendor2"]
    a = out[(out.vendor1 == "aws") & (out.vendor2 == "ms")].set_index("dataset")
    b = swapped[(swapped.vendor1 == "aws") & (swapped.vendor2 == "ms")].set_index("dataset")
    assert list(a.index) == list(b.index)
    for x, y in (("only1", "only2"), ("errored1", "errored2"), ("only1_low", "only2_low")):
        assert a[x].tolist() == pytest.approx(b[y].tolist(), nan_ok=True)
    for same in ("both", "neither", "joint", "same_name", "both_target", "kappa"):
        assert a[same].astype(float).tolist() == pytest.approx(b[same].astype(float).tolist(), nan_ok=True)
    assert not out.duplicated(key).any()


# ------------------------------------------------------------------ the study's recorded FCelebDF table
def by_hand_fcelebdf(shared_data: Path) -> dict[str, int]:
    """AWS x MS on FCelebDF from the raw CSVs (csv module), joined by the full ``Filename``."""
    aws = {r["Filename"]: r for r in paper_rows(shared_data, "AWS_Results_CelebDPR.csv")}
    ms = {r["Filename"]: r for r in paper_rows(shared_data, "ms_CelebDPR.csv")}
    # the two files name the same 4,902 images with the same path, authors' prefix included
    assert set(aws) == set(ms) and len(aws) == 4902
    counts = dict.fromkeys(("both", "only1", "only2", "neither", "same_name", "both_target"), 0)
    for f, a in aws.items():
        m = ms[f]
        na, nm = a["Tar Pred."] != "", m["Tar Pred."] != ""
        cell = "both" if na and nm else "only1" if na else "only2" if nm else "neither"
        counts[cell] += 1
        counts["same_name"] += na and nm and a["Tar Pred."] == m["Tar Pred."]
        counts["both_target"] += (na and a["Tar Pred."] == a["Src Pred."]) and (nm and m["Tar Pred."] == m["Src Pred."])
    return counts


def test_recorded_fcelebdf_aws_x_ms_matches_a_count_from_the_csvs(shared_data):
    from harness.results.sources import read_tables

    files = [shared_data / "paper-results" / n for n in ("AWS_Results_CelebDPR.csv", "ms_CelebDPR.csv")]
    t0 = time.perf_counter()
    out = agreement(read_tables(files))
    elapsed = time.perf_counter() - t0
    assert len(out) == 1
    r = out.iloc[0]
    assert (r.dataset, r.vendor1, r.vendor2, r.shared, r.joint, r.errored) == ("FCelebDF", "aws", "ms", 4902, 4902, 0)
    hand = by_hand_fcelebdf(shared_data)
    assert {k: int(r[k]) for k in hand} == hand
    assert hand == {"both": 181, "only1": 1458, "only2": 155, "neither": 3108, "same_name": 97, "both_target": 106}
    assert r.target_probes == 4902
    assert elapsed < 5
    # the whole study folder: the same single pair (AWS was recorded on FCelebDF only)
    from harness.results.paper import import_paper

    full = agreement(import_paper([shared_data / "paper-results"])[0])
    assert full[["dataset", "vendor1", "vendor2", "both", "same_name"]].values.tolist() == [
        ["FCelebDF", "aws", "ms", 181, 97]]


# ------------------------------------------------------------------ the mocks' tables
def test_mock_simulation_agreement_is_well_formed():
    """The study-scale simulation `dfi compare tables` uses (scaled down): every dataset x pair. The
    values are not pinned: they measure today's mocks (one embedder for all), and move when the
    vendors get their own recognizers."""
    from harness.compare.mock_table import simulated_mock_table
    from harness.simulate.params import SimulationParams

    mock = simulated_mock_table(("aws", "ms", "nav"), seed=1, params=SimulationParams.load().scaled(0.1))
    out = agreement(mock)
    datasets = sorted(set(mock["dataset"]))
    assert out[["dataset", "vendor1", "vendor2"]].values.tolist() == [
        [d, a, b] for d in datasets for a, b in (("aws", "ms"), ("aws", "nav"), ("ms", "nav"))]
    assert (out[["both", "only1", "only2", "neither"]].sum(axis=1) == out["joint"]).all()
    nav_pairs = out[out.vendor2 == "nav"]
    assert (nav_pairs[["only1", "neither"]] == 0).all().all()  # NAV always names someone


def campaign_table(**kwargs: object) -> pd.DataFrame:
    from harness.jobs.run import prepare_campaign
    from harness.results.io import results_from_rows

    campaign = prepare_campaign(backend="mock", fresh=True, **kwargs)  # type: ignore[arg-type]
    campaign.run()
    return results_from_rows(campaign.runner.ordered_rows())


def check_campaign_agreement(table: pd.DataFrame) -> pd.DataFrame:
    out = agreement(table)
    vendors = {("aws", "ms"), ("aws", "nav"), ("ms", "nav")}
    assert set(zip(out.vendor1, out.vendor2, strict=True)) == vendors
    assert (out[["both", "only1", "only2", "neither"]].sum(axis=1) == out["joint"]).all()
    failed = table[table["fake_error"] != ""]
    for r in out.itertuples():
        errs = failed[(failed.dataset == r.dataset) & failed.vendor.isin([r.vendor1, r.vendor2])]
        assert r.errored == errs["probe_id"].nunique()  # counted, never "no celebrity"
    return out


@pytest.mark.slow
@pytest.mark.models
def test_demo_campaign_agreement(tmp_path):
    from harness.errors import DfiError

    try:
        from harness.datasets.demo import demo_dataset

        demo_dataset()
    except DfiError as exc:
        pytest.skip(f"face models / demo photos not installed: {exc}")
    out = check_campaign_agreement(campaign_table(out_dir=tmp_path / "demo"))
    assert set(out.dataset) == {"demo-replacement", "demo-reenactment", "demo-synthesis"}


@pytest.mark.slow
@pytest.mark.models
def test_study_samples_campaign_agreement(shared_data, models, tmp_path):
    from mockvendors.analysis import PipelineAnalyzer
    from mockvendors.gallery import Gallery

    # a gallery of the CelebFOM samples' real frames (the celebrities' names); the CelebBlend
    # sources are not named in the files, so nobody in it is the blends' target
    photos = {p.name.removesuffix("_real.png"): [p]
              for p in sorted((shared_data / "paper-samples" / "CelebFOM").glob("*_real.png"))}
    gallery = Gallery.enrol(photos, PipelineAnalyzer())
    table = campaign_table(dataset=shared_data / "paper-samples", gallery=gallery, out_dir=tmp_path / "samples")
    out = check_campaign_agreement(table)
    assert set(out.dataset) == {"CelebFOM", "CelebBlend"}


# ------------------------------------------------------------------ dfi compare tables
def test_compare_tables_prints_and_writes_the_agreement(tmp_path):
    recorded = write_results(results_from_rows(rows(HAND)), tmp_path / "recorded.csv")
    mock_rows = rows([("D", f"m{i}", v, "A", "") for i in range(4) for v in ("aws", "ms")])
    mock = write_results(results_from_rows(mock_rows), tmp_path / "mock.csv")
    out = tmp_path / "cmp"
    res = CliRunner().invoke(compare_group, ["tables", str(recorded), "--mock", str(mock), "-o", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    assert "Cross-vendor agreement" in res.output and "AWS x MS" in res.output
    line = next(x for x in res.output.splitlines() if "both name someone" in x)
    assert "40.0 [" in line and "(2)" in line and "100.0 [" in line and "(4)" in line
    assert "agreement.csv" in res.output
    table = pd.read_csv(out / "agreement.csv")
    assert list(table.columns) == ["table", "dataset", *AGREEMENT_COLUMNS]
    assert table[["table", "dataset", "both", "only1", "only2", "neither"]].values.tolist() == [
        ["recorded", "D", 2, 1, 1, 1], ["mock", "D", 4, 0, 0, 0]]


def test_compare_tables_on_the_study_files_writes_the_recorded_pair(shared_data, tmp_path):
    from harness.compare.mock_table import simulated_mock_table
    from harness.simulate.params import SimulationParams

    mock = write_results(simulated_mock_table(("aws", "ms"), seed=1, params=SimulationParams.load().scaled(0.05)),
                         tmp_path / "mock.csv")
    files = [str(shared_data / "paper-results" / n) for n in ("AWS_Results_CelebDPR.csv", "ms_CelebDPR.csv")]
    out = tmp_path / "cmp"
    res = CliRunner().invoke(compare_group, ["tables", *files, "--mock", str(mock), "-o", str(out)])
    assert res.exit_code == 0, res.output + repr(res.exception)
    line = next(x for x in res.output.splitlines() if "both name someone" in x)
    assert "3.7 [3.2, 4.3] (181)" in line
    table = pd.read_csv(out / "agreement.csv")
    rec = table[table.table == "recorded"]
    assert rec[["dataset", "both", "only1", "only2", "neither", "same_name"]].values.tolist() == [
        ["FCelebDF", 181, 1458, 155, 3108, 97]]
    assert set(table[table.table == "mock"].dataset) == {"CelebBlend", "CelebDF", "CelebFOM", "FCelebDF", "VoxCelebTH"}
