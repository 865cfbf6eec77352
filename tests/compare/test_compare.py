"""dfi compare: distances against independent references, per-table and per-call comparison, CLI outputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli.calibrate import calibrate_cmd
from harness.cli.compare import compare_group
from harness.compare.calls import iou
from harness.compare.distributions import Sample, compare_tables, distance, metrics_side_by_side, population_sample
from harness.metrics import compute_metrics


def test_distances_match_independent_references():
    rng = np.random.default_rng(3)
    a, b = rng.uniform(55, 100, 400), rng.uniform(60, 100, 400)
    d = distance("deepfake", Sample(a, 100), Sample(b, 0))
    assert d.wasserstein == pytest.approx(np.mean(np.abs(np.sort(a) - np.sort(b))))  # W1, equal sizes
    grid = np.concatenate([a, b])
    ks = np.max(np.abs((a[:, None] <= grid).mean(0) - (b[:, None] <= grid).mean(0)))
    assert d.ks == pytest.approx(ks)
    assert (d.answer_rate_recorded, d.answer_rate_mock) == (0.8, 1.0)
    assert d.floor_recorded == a.min()


def test_population_sample_leaves_errors_out_and_counts_unnamed():
    df = pd.DataFrame({"fake_name": ["A", "", "B", "C"], "fake_conf": [90.0, None, 70.0, None],
                       "fake_error": ["", "", "", "ThrottlingException: slow"],
                       "target_name": ["A"] * 4, "target_conf": [99.0] * 4, "target_error": [""] * 4})
    s = population_sample(df, "deepfake")
    assert sorted(s.named_conf) == [70.0, 90.0] and s.unnamed == 1 and s.calls == 3  # the error is not "no celebrity"


def test_iou():
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0.0


@pytest.fixture(scope="module")
def paper(shared_data):
    from harness.results.paper import import_paper

    return import_paper([shared_data / "paper-results"])[0]


@pytest.fixture(scope="module")
def small_mock():
    from harness.compare.mock_table import simulated_mock_table
    from harness.simulate.params import SimulationParams

    return simulated_mock_table(("aws", "ms"), seed=1, params=SimulationParams.load().scaled(0.1))


def test_compare_tables_on_the_study_files(paper, small_mock):
    groups = compare_tables(paper, small_mock)
    assert {(g.dataset, g.vendor) for g in groups} == {("FCelebDF", "aws"), *((d, "ms") for d in (
        "CelebBlend", "CelebDF", "CelebFOM", "FCelebDF", "VoxCelebTH"))}
    aws = next(g for g in groups if g.vendor == "aws")
    rec_fake = aws.samples["deepfake"][0]
    assert rec_fake.floor == 55.0  # the study's smallest AWS confidence
    assert len(rec_fake.named_conf) == 1639  # named AWS answers on FCelebDF deepfakes
    side = metrics_side_by_side(paper, small_mock, 90, 80)
    ref = compute_metrics(paper, 90, 80)
    ref = ref[(ref.basis == "study") & (ref.dataset == "FCelebDF") & (ref.vendor == "aws") & (ref.metric == "NA")]
    row = side[(side.dataset == "FCelebDF") & (side.vendor == "aws") & (side.metric == "NA")]
    assert row.value_recorded.item() == pytest.approx(ref.value.item())
    assert row.ci_low_recorded.item() <= row.value_recorded.item() <= row.ci_high_recorded.item()


def test_compare_tables_cli_writes_tables_json_and_plots(shared_data, small_mock, tmp_path):
    mock_csv = tmp_path / "mock.csv"
    from harness.results import write_results

    write_results(small_mock, mock_csv)
    out = tmp_path / "cmp"
    res = CliRunner().invoke(compare_group, ["tables", str(shared_data / "paper-results" / "AWS_Results_CelebDPR.csv"),
                                             "--mock", str(mock_csv), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "FCelebDF" in res.output and "KS" in res.output
    dist = pd.read_csv(out / "distances.csv")
    assert set(dist.population) == {"genuine", "deepfake"} and (dist.vendor == "aws").all()
    assert json.loads((out / "compare.json").read_text())["metrics"]
    png = out / "plots" / "ecdf_FCelebDF_aws.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000


def test_compare_calls_replays_the_real_azure_call_against_the_mock(shared_data, models, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    out = tmp_path / "calls"
    with ThreadPoolExecutor(1) as pool:  # the face model sets flush-to-zero on its thread: not on pytest's
        res = pool.submit(CliRunner().invoke, compare_group, ["calls", "-o", str(out)]).result()
    assert res.exit_code == 0, res.output
    calls = pd.read_csv(out / "calls.csv")
    satya = calls[(calls.operation == "CelebritiesAnalyze") & (calls.provenance == "real")]
    assert len(satya) >= 1 and (satya.recorded_name == "Satya Nadella").all()
    assert satya.recorded_conf.iloc[0] == pytest.approx(96.440011262893677)
    assert ((satya.box_iou > 0) & (satya.box_iou <= 1)).all()  # the mock finds the same face
    detect = calls[calls.operation == "FaceDetect"]
    assert len(detect) == 1 and detect.box_iou.iloc[0] > 0.3
    assert json.loads((out / "calls.json").read_text())["skipped"] >= 1  # excerpt bodies: no image


def test_calibrate_improves_held_out_deepfake_distance(paper, tmp_path, monkeypatch):
    from harness.calibrate.fit import calibrate, split_by_target
    from harness.simulate.params import SimulationParams

    params = SimulationParams.load().scaled(0.2)
    fit_rows, test_rows = split_by_target(paper[paper.vendor == "aws"], seed=0)
    assert not set(fit_rows.target) & set(test_rows.target) and len(fit_rows) and len(test_rows)
    fitted, report = calibrate(paper, "aws", params=params)
    before, after = report.before[1], report.after[1]  # held-out deepfake probes
    assert after.wasserstein < 0.5 * before.wasserstein
    assert abs(after.answer_rate_mock - after.answer_rate_recorded) < abs(
        before.answer_rate_mock - before.answer_rate_recorded
    )
    grid = np.linspace(-1, 1, 201)
    assert np.all(np.diff(fitted.calibration(grid)) >= 0)  # monotone
    _, iso = calibrate(paper, "ms", method="isotonic", params=params)
    knots = np.array(iso.calibration["knots"])
    assert np.all(np.diff(knots[:, 0]) > 0) and np.all(np.diff(knots[:, 1]) >= 0)


def test_calibrate_cli_writes_a_loadable_profile(shared_data, tmp_path, monkeypatch):
    from harness.simulate import params as sim_params
    from mockvendors.profile import load_profile

    small = sim_params.SimulationParams.load().scaled(0.1)
    monkeypatch.setattr(sim_params.SimulationParams, "load", classmethod(lambda cls, path=None: small))
    out = tmp_path / "aws.yaml"
    res = CliRunner().invoke(
        calibrate_cmd,
        [str(shared_data / "paper-results" / "AWS_Results_CelebDPR.csv"), "--vendor", "aws", "-o", str(out)],
    )
    assert res.exit_code == 0, res.output
    assert "held-out" in res.output.lower()
    prof = load_profile("aws", out)
    assert prof.calibration.to_dict()["kind"] == "logistic" and prof.report_threshold == 55.0
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert report["recorded_rows"]["held_out"] > 0 and len(report["after"]) == 2
    res = CliRunner().invoke(
        calibrate_cmd,
        [
            str(shared_data / "paper-results" / "AWS_Results_CelebDPR.csv"),
            "--vendor",
            "nav",
            "-o",
            str(tmp_path / "nav.yaml"),
        ],
    )
    assert res.exit_code != 0 and "no rows for vendor 'nav'" in str(res.exception)
