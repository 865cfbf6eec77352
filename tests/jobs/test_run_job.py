"""harness.jobs.run.run_campaign as a library call: the files `dfi run` writes, without click."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from harness.errors import DfiError

RUN_FILES = ("results.csv", "metrics.csv", "metrics.json", "counts.csv", "errors.csv", "journal.jsonl",
             "plots/metrics.png", "plots/confidence.png", "plots/metric_DHS.png", "report.html")


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file() and "crops" not in p.parts}


def _scripted(monkeypatch):
    """build_backend -> the scripted test vendors (no face model needed)."""
    from harness.backends import Backend
    from harness.jobs import run as run_job

    from support.campaign_doubles import ScriptedVendor

    calls = []

    def fake(name, vendors, **kwargs):
        calls.append((name, list(vendors), kwargs))
        return Backend(name, {v: ScriptedVendor(v, similarity=v != "nav") for v in vendors})

    monkeypatch.setattr(run_job, "build_backend", fake)
    return calls


def test_run_campaign_writes_results_metrics_plots_and_report(tmp_path: Path, monkeypatch):
    from harness.datasets import write_manifest
    from harness.jobs.run import RunResult, run_campaign

    from support.campaign_doubles import synthetic_probes

    calls = _scripted(monkeypatch)
    manifest = write_manifest(synthetic_probes(tmp_path / "d", 12, n_targets=3), tmp_path / "d" / "m.jsonl")
    rows: list[str] = []
    statuses: list[str] = []

    def status(msg: str):
        from contextlib import nullcontext

        statuses.append(msg)
        return nullcontext()

    res = run_campaign(dataset=manifest, vendors=["aws", "nav"], out_dir=tmp_path / "out", crop=False,
                       rate={"aws": 5.0}, max_retries=2, status=status, on_row=lambda v, row: rows.append(v))
    assert isinstance(res, RunResult)
    for f in RUN_FILES:
        assert (tmp_path / "out" / f).is_file(), f
    assert res.results_csv == tmp_path / "out" / "results.csv" and res.report.is_file()
    assert res.summary.rows == 24 and res.rows == 24 and sorted(set(rows)) == ["aws", "nav"] and len(rows) == 24
    assert calls[0][0] == "mock" and calls[0][2]["rate"] == {"aws": 5.0} and calls[0][2]["max_retries"] == 2
    assert any("reading" in s for s in statuses)
    table = pd.read_csv(res.results_csv, keep_default_na=False)
    assert len(table) == 24 and set(table["vendor"]) == {"aws", "nav"}
    assert json.loads(res.metrics_json.read_text())
    # a second call resumes from the journal: no row is made again
    again = run_campaign(dataset=manifest, vendors=["aws", "nav"], out_dir=tmp_path / "out", crop=False)
    assert again.summary.rows_new == 0 and again.summary.rows_resumed == 24


def test_run_job_and_cli_write_the_same_files(tmp_path: Path, monkeypatch):
    from harness.cli import cli
    from harness.datasets import write_manifest
    from harness.jobs.run import run_campaign

    from support.campaign_doubles import synthetic_probes

    _scripted(monkeypatch)
    manifest = write_manifest(synthetic_probes(tmp_path / "d", 8, n_targets=2), tmp_path / "d" / "m.jsonl")
    run_campaign(dataset=manifest, vendors=["aws", "ms"], out_dir=tmp_path / "job", crop=False)
    r = CliRunner().invoke(cli, ["run", "--dataset", str(manifest), "--vendors", "aws,ms", "--out",
                                 str(tmp_path / "cli"), "--no-crop", "--no-progress"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert _files(tmp_path / "job") == _files(tmp_path / "cli")
    a = pd.read_csv(tmp_path / "job" / "results.csv", keep_default_na=False)
    b = pd.read_csv(tmp_path / "cli" / "results.csv", keep_default_na=False)
    assert a.equals(b)
    assert (tmp_path / "job" / "metrics.csv").read_text() == (tmp_path / "cli" / "metrics.csv").read_text()
    assert "campaign summary" in r.output and f"results: {tmp_path / 'cli' / 'results.csv'}" in r.output


def test_run_job_refuses_paid_calls_unless_allowed(tmp_path: Path, monkeypatch):
    from harness.backends import Backend
    from harness.datasets import write_manifest
    from harness.jobs import run as run_job

    from support.campaign_doubles import ScriptedVendor, synthetic_probes

    monkeypatch.setattr(run_job, "build_backend", lambda name, vendors, **kw: Backend(
        name, {v: ScriptedVendor(v) for v in vendors}, costs_money=True))
    manifest = write_manifest(synthetic_probes(tmp_path / "d", 3), tmp_path / "d" / "m.jsonl")
    with pytest.raises(DfiError, match="allow_cost"):
        run_job.run_campaign(dataset=manifest, vendors=["aws"], backend="real", out_dir=tmp_path / "o", crop=False)
    campaign = run_job.prepare_campaign(dataset=manifest, vendors=["aws"], backend="real", out_dir=tmp_path / "o",
                                        crop=False)
    est = campaign.cost_estimate()
    assert est.total == pytest.approx(0.009) and campaign.costs_money  # 3 + 3 recognized, 3 compared: $1/1000


def test_empty_dataset_is_a_user_error(tmp_path: Path):
    from harness.jobs.run import run_campaign

    (tmp_path / "m.jsonl").write_text("")
    with pytest.raises(DfiError, match="no probes"):
        run_campaign(dataset=tmp_path / "m.jsonl", out_dir=tmp_path / "o")


@pytest.mark.models
def test_run_job_on_the_in_process_mocks_matches_the_cli(tmp_path: Path):
    """The real in-process mock backend (face model) on a few demo probes: job and CLI agree."""
    from harness.cli import cli
    from harness.datasets import write_manifest

    try:
        from harness.datasets.demo import demo_dataset

        demo = demo_dataset()
    except DfiError as exc:
        pytest.skip(f"face models / demo photos not installed: {exc}")
    from harness.jobs.run import demo_gallery, run_campaign

    manifest = write_manifest(demo.probes()[::12], tmp_path / "data" / "m.jsonl")
    gallery = demo_gallery(demo)
    res = run_campaign(dataset=manifest, out_dir=tmp_path / "job", gallery=gallery)
    r = CliRunner().invoke(cli, ["run", "--dataset", str(manifest), "--gallery", str(gallery), "--out",
                                 str(tmp_path / "cli"), "--no-progress"])
    assert r.exit_code == 0, r.output + repr(r.exception)
    assert _files(tmp_path / "job") == _files(tmp_path / "cli")
    for f in RUN_FILES:
        assert (tmp_path / "job" / f).is_file(), f
    a = pd.read_csv(res.results_csv, keep_default_na=False)
    b = pd.read_csv(tmp_path / "cli" / "results.csv", keep_default_na=False)
    text = ["probe_id", "vendor", "target_name", "fake_name", "fake_error", "target_error"]
    assert a[text].equals(b[text])
