"""The defense measured on images: campaigns through wrapped in-process mock vendors, and the CLI."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli.defend import defend_cmd
from harness.cli.simulate import simulate_cmd


@pytest.fixture(scope="module")
def demo_subset(models, tmp_path_factory):
    """A dozen probes of the embedded demo dataset (all three families) as a manifest, and its gallery."""
    from harness.datasets.demo import demo_dataset
    from harness.datasets.manifest import write_manifest
    from harness.jobs.run import demo_gallery as _demo_gallery

    demo = demo_dataset()
    probes = demo.probes()
    by_family: dict[str, list] = {}
    for p in probes:
        by_family.setdefault(p.method, []).append(p)
    subset = [p for ps in by_family.values() for p in ps[:4]]
    path = tmp_path_factory.mktemp("defend") / "subset.jsonl"
    write_manifest(subset, path)
    return path, subset, _demo_gallery(demo)


@pytest.fixture(scope="module")
def defense_run(demo_subset, tmp_path_factory):
    from harness.backends.factory import make_backend
    from harness.defense.campaign import run_defense

    _, probes, gallery = demo_subset
    be = make_backend("mock", ["aws", "ms", "nav"], gallery=gallery)
    out = tmp_path_factory.mktemp("defense-run")
    return run_defense(probes, be.vendors, out, ["sim:perfect:1,0", "sim:blind:0,0", "sim:leaky:0.5,0.2,0.8"])


def test_perfect_detector_measured_to_zero_and_costs_nothing(defense_run):
    t = defense_run.table()
    perfect = t[t["policy"] == "DD1[perfect]"]
    assert len(perfect) == 9  # 3 datasets x 3 vendors
    assert (perfect["NA_after"] == 0).all() and (perfect["TA_after"] == 0).all()
    assert (perfect["genuine_cost"].fillna(0) == 0).all()
    assert (perfect["tpr"] == 100).all() and (perfect["fpr"] == 0).all()
    after = next(o.after for o in defense_run.outcomes if o.policy.name == "DD1[perfect]")
    assert (after["fake_name"] == "").all() and (after["fake_error"] == "").all()  # answered, not errored


def test_blind_detector_changes_nothing(defense_run):
    t = defense_run.table()
    blind = t[t["policy"] == "DD1[blind]"]
    pd.testing.assert_series_equal(blind["NA_after"], blind["NA_before"], check_names=False)
    pd.testing.assert_series_equal(blind["TA_after"], blind["TA_before"], check_names=False)
    after = next(o.after for o in defense_run.outcomes if o.policy.name == "DD1[blind]")
    cols = ["probe_id", "vendor", "fake_name", "fake_conf", "target_name", "target_conf"]
    pd.testing.assert_frame_equal(after[cols].sort_values(cols[:2]).reset_index(drop=True),
                                  defense_run.baseline[cols].sort_values(cols[:2]).reset_index(drop=True))


def test_dd2_and_dd3_are_measured_too(defense_run):
    t = defense_run.table()
    dd2 = t[t["policy"].str.startswith("DD2")].set_index(["dataset", "vendor"])
    for member in ("DD1[perfect]", "DD1[blind]", "DD1[leaky]"):
        m = t[t["policy"] == member].set_index(["dataset", "vendor"])
        assert (dd2["NA_after"] <= m["NA_after"] + 1e-9).all()
    dd3 = t[t["policy"].str.startswith("DD3")]
    assert len(dd3) and dd3["note"].str.contains("trained on").all()
    assert (dd3["NA_after"] == 0).all()  # it learns to follow the perfect member


def test_table2_layout_per_dataset_and_all_combined(defense_run, demo_subset):
    from harness.defense.table2 import ALL, table2

    _, probes, _ = demo_subset
    t2 = table2(defense_run, probes, n_boot=100)
    policies = [o.policy.name for o in defense_run.outcomes]
    assert any(p.startswith("DD3-deep[") for p in policies) and any(p.startswith("DD3[") for p in policies)
    datasets = sorted({p.dataset for p in probes})
    for name in policies:
        rows = t2[t2["policy"] == name]
        expect = sorted({p.dataset for p in probes if p.probe_id in next(
            o.probe_ids for o in defense_run.outcomes if o.policy.name == name)})
        assert list(rows["dataset"]) == [*expect, ALL]
    perfect = t2[t2["policy"] == "DD1[perfect]"].set_index("dataset")
    assert list(perfect.index) == [*datasets, ALL]
    assert (perfect["accuracy"] == 1).all() and (perfect["auc"] == 1).all() and (perfect["genuine_blocked"] == 0).all()
    # every fake of every probe counted once in the combined row; per-vendor NA after 0 beside its estimate
    assert perfect.loc[ALL, "n_fake"] == len({defense_run.keys[p.probe_id].fake for p in probes})
    for v in ("aws", "ms", "nav"):
        assert (perfect[f"{v}:NA_after"] == 0).all()
        assert perfect.loc[ALL, f"{v}:NA_study_est"] == 0  # rate x (1 - accuracy 1)
    blind = t2[t2["policy"] == "DD1[blind]"].set_index("dataset")
    assert (blind["genuine_blocked"] == 0).all() and (blind["f1"].fillna(0) == 0).all()
    # the combined row's NA before is the share over every probe, as the per-dataset table counts it
    base = defense_run.baseline
    for v in ("aws", "ms", "nav"):
        rows = base[(base["vendor"] == v) & base["fake_error"].eq("")]
        assert blind.loc[ALL, f"{v}:NA_before"] == pytest.approx(100 * rows["fake_name"].ne("").mean())
        assert blind.loc[ALL, f"{v}:NA_study_est"] == pytest.approx(
            blind.loc[ALL, f"{v}:NA_before"] * (1 - blind.loc[ALL, "accuracy"]))


def test_defend_and_simulate_commands(demo_subset, tmp_path):
    path, _, gallery = demo_subset
    out = tmp_path / "defend"
    res = CliRunner().invoke(defend_cmd, ["--dataset", str(path), "--gallery", str(gallery), "--out", str(out),
                                          "--detector", "sim:good:0.9,0.05", "--detector", "sim:corr:0.9,0.05,0.9",
                                          "--ensemble", "good,corr"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "DD1[good]" in res.output and "DD3[good+corr]" in res.output
    table = pd.read_csv(out / "defense.csv")
    assert {"NA_before", "NA_after", "NA_study_est", "genuine_cost"} <= set(table.columns)
    for png in ("defense_NA.png", "defense_TA.png", "estimate_vs_measured.png"):
        assert (out / png).stat().st_size > 10_000
    report_md = (out / "defense.md").read_text()
    assert "study estimate" in report_md or "analytic estimate" in report_md
    assert "layout of the study's Table 2" in report_md and "re-encoded as JPEG" in report_md
    t2 = pd.read_csv(out / "table2.csv")
    assert "All datasets combined" in set(t2["dataset"]) and {"auc_lo", "auc_hi", "aws:NA_study_est"} <= set(t2)
    assert "layout of the study's Table 2" in res.output

    sim_out = tmp_path / "sim"
    res = CliRunner().invoke(simulate_cmd, ["--scale", "0.02", "--out", str(sim_out), "--no-sensitivity"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "286 celebrities" in res.output
    assert (sim_out / "metrics.csv").is_file() and (sim_out / "defense.csv").is_file()
    report = (sim_out / "report.html").read_text()
    assert "Simulated, not measured" in report and "data:image/png;base64," in report


def test_bad_detector_spec_is_a_clear_error(demo_subset, tmp_path):
    from harness.defense.campaign import build_detectors
    from harness.detectors import DetectorSpecError

    with pytest.raises(DetectorSpecError, match="sim:NAME:TPR,FPR"):
        build_detectors(["sim:x:0.9"], {})
    res = CliRunner().invoke(simulate_cmd, ["--detector", "oops", "--scale", "0.01", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "NAME:TPR,FPR" in res.output


def test_rerun_redoes_the_policies_with_the_new_detectors(demo_subset, tmp_path):
    """A second run on the same output folder must measure the new detector, not replay the old answers."""
    from harness.backends.factory import make_backend
    from harness.defense.campaign import run_defense

    _, probes, gallery = demo_subset
    be = make_backend("mock", ["aws", "ms", "nav"], gallery=gallery)
    first = run_defense(probes, be.vendors, tmp_path, ["sim:d:0,0"]).table()
    again = run_defense(probes, be.vendors, tmp_path, ["sim:d:1,0"]).table()
    assert (first["tpr"] == 0).all() and (first["NA_after"] == first["NA_before"]).all()
    assert (again["tpr"] == 100).all() and (again["NA_after"] == 0).all()


def test_defend_runs_on_the_committed_cassettes(shared_data, tmp_path):
    """The defense on the cassette backend: the mock-recorded cassettes hold uncropped images, so
    `dfi defend` needs `--no-crop` (as `dfi run`); a perfect detector zeroes NA, a blind one changes nothing."""
    from pathlib import Path

    from harness.cassettes.mock_recording import default_plan
    from harness.datasets.manifest import write_manifest
    from harness.datasets.probe import Probe

    probes = []
    for i, (target_img, fake) in enumerate(default_plan(shared_data).pairs):
        target = "Barack Obama" if "obama" in target_img.name else target_img.name.removesuffix("_real.png")
        probes.append(Probe(f"p{i}", "mock-replay", "reenactment", str(fake), target, (str(target_img),), (target,)))
    manifest = tmp_path / "campaign.jsonl"
    write_manifest(probes, manifest)
    cassettes = Path(__file__).resolve().parents[2] / "cassettes" / "mock-recorded"
    out = tmp_path / "defend"
    res = CliRunner().invoke(defend_cmd, ["--dataset", str(manifest), "--backend", "cassette",
                                          "--cassettes", str(cassettes), "--no-crop", "--detector", "sim:perfect:1,0",
                                          "--detector", "sim:blind:0,0", "--out", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "defense.csv")
    perfect, blind = table[table["policy"] == "DD1[perfect]"], table[table["policy"] == "DD1[blind]"]
    assert len(perfect) == 3 and (perfect["NA_before"] > 0).all() and (perfect["NA_after"] == 0).all()
    assert (blind["NA_after"] == blind["NA_before"]).all()
