"""`dfi run` end to end: the embedded demo with in-process mocks, the same probes over HTTP
against the mock servers (the mockvendors pytest plugin's `dfi serve` equivalent), bad input,
the cost estimate of the real backend."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.errors import DfiError


def dfi(*args: str):
    result = CliRunner().invoke(cli, ["run", *args, "--no-progress"], catch_exceptions=True)
    return result


@pytest.fixture(scope="module")
def demo():
    try:
        from harness.datasets.demo import demo_dataset

        return demo_dataset()
    except DfiError as exc:
        pytest.skip(f"face models / demo photos not installed: {exc}")


@pytest.mark.models
def test_demo_run_writes_results_metrics_plots_and_report(demo, tmp_path: Path):
    out = tmp_path / "demo"
    r = dfi("--out", str(out))
    assert r.exit_code == 0, r.output + repr(r.exception)
    n = len(demo.probes())
    for f in ("results.csv", "metrics.csv", "metrics.json", "counts.csv", "errors.csv", "journal.jsonl",
              "plots/metrics.png", "plots/confidence.png", "plots/metric_DHS.png", "report.html"):
        assert (out / f).is_file(), f
    results = pd.read_csv(out / "results.csv", keep_default_na=False)
    assert len(results) == 3 * n and set(results["vendor"]) == {"aws", "ms", "nav"}
    assert set(results["method"]) == {"replacement", "reenactment", "synthesis"}
    html = (out / "report.html").read_text()
    assert "Demonstration dataset" in html and f"{len(demo.people)} people" in html
    assert html.count("data:image/png;base64,") == 3  # metric bars, confidence, beta x gamma heatmap
    assert "image not available" not in html and html.count("data:image/jpeg;base64,") >= 6  # probe thumbnails
    assert "reporting threshold" in html.lower() or "tau" in html
    records = json.loads((out / "metrics.json").read_text())
    dhs_nav = [x for x in records if x["vendor"] == "nav" and x["metric"] == "DHS"]
    assert dhs_nav and all(x["value"] is None for x in dhs_nav)  # NAV has no similarity call
    assert "campaign summary" in r.output and "Demonstration dataset" in r.output
    # the same command again: everything from the journal, no vendor call
    r2 = dfi("--out", str(out))
    assert r2.exit_code == 0
    assert f"0 / {3 * n}" in r2.output  # rows this run / resumed
    assert pd.read_csv(out / "results.csv", keep_default_na=False).equals(results)


@pytest.mark.models
def test_mock_http_gives_the_in_process_answers(demo, mock_vendor_servers, tmp_path: Path):
    from harness.datasets import write_manifest

    probes = demo.probes()[::9]  # a few of each method
    manifest = write_manifest(probes, tmp_path / "data" / "m.jsonl")
    ports = [f"--port={v}={mock_vendor_servers[v].port}" for v in ("aws", "ms", "nav")]
    r_http = dfi("--dataset", str(manifest), "--backend", "mock-http", "--out", str(tmp_path / "http"), *ports)
    assert r_http.exit_code == 0, r_http.output + repr(r_http.exception)
    r_mem = dfi("--dataset", str(manifest), "--backend", "mock", "--out", str(tmp_path / "mem"))
    assert r_mem.exit_code == 0, r_mem.output
    a = pd.read_csv(tmp_path / "http" / "results.csv", keep_default_na=False)
    b = pd.read_csv(tmp_path / "mem" / "results.csv", keep_default_na=False)
    assert len(a) == len(b) == 3 * len(probes)
    for col in ("probe_id", "vendor", "target_name", "fake_name", "fake_error", "target_error"):
        assert list(a[col]) == list(b[col]), col
    for col in ("target_conf", "fake_conf", "similarity"):
        x = pd.to_numeric(a[col], errors="coerce").to_numpy()
        y = pd.to_numeric(b[col], errors="coerce").to_numpy()
        assert np.allclose(x, y, atol=0.01, equal_nan=True), col


@pytest.mark.models
def test_bad_input_is_counted_and_the_run_goes_on(demo, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    good = demo.probes()[0]
    cv2.imwrite(str(data / "noface.png"), np.random.default_rng(0).integers(0, 255, (120, 120, 3), np.uint8))
    (data / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n-truncated")
    lines = [
        {"probe_id": "good", "method": good.method, "deepfake": good.deepfake, "target": good.target,
         "target_images": list(good.target_images)},
        {"probe_id": "missing", "method": "replacement", "deepfake": "nowhere.png", "target": good.target,
         "target_images": list(good.target_images)},
        {"probe_id": "noface", "method": "replacement", "deepfake": "noface.png", "target": good.target,
         "target_images": list(good.target_images)},
        {"probe_id": "broken", "method": "replacement", "deepfake": "broken.png", "target": good.target,
         "target_images": list(good.target_images)},
    ]
    (data / "m.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
    r = dfi("--dataset", str(data / "m.jsonl"), "--vendors", "aws,nav", "--out", str(tmp_path / "out"))
    assert r.exit_code == 0, r.output + repr(r.exception)
    res = pd.read_csv(tmp_path / "out" / "results.csv", keep_default_na=False).set_index(["probe_id", "vendor"])
    assert res.loc[("missing", "aws"), "fake_error"].startswith("missing_file")
    assert res.loc[("noface", "nav"), "fake_error"].startswith("no_face")
    assert res.loc[("broken", "aws"), "fake_error"].startswith("undecodable_image")
    assert res.loc[("good", "aws"), "fake_error"] == ""
    assert (res.loc[["missing", "noface", "broken"], "fake_name"] == "").all()
    errors = pd.read_csv(tmp_path / "out" / "errors.csv")
    assert set(errors["reason"]) == {"missing_file", "no_face", "undecodable_image"}
    assert "rows with an error" in r.output and "no_face" in r.output


def test_real_backend_without_credentials_fails_before_any_call(tmp_path: Path, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "DFI_AZURE_VISION_KEY",
                "DFI_AZURE_VISION_ENDPOINT", "DFI_NAVER_CLIENT_ID", "DFI_NAVER_NCP_KEY_ID"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    from harness.datasets import write_manifest

    from support.campaign_doubles import synthetic_probes

    manifest = write_manifest(synthetic_probes(tmp_path / "d", 3), tmp_path / "d" / "m.jsonl")
    r = dfi("--dataset", str(manifest), "--vendors", "ms", "--backend", "real", "--out", str(tmp_path / "o"))
    assert r.exit_code != 0 and isinstance(r.exception, DfiError)
    assert "DFI_AZURE_VISION" in str(r.exception)


def test_cost_estimate_counts_calls_and_prices(tmp_path: Path):
    from harness.campaign import CampaignOptions, CampaignRunner, estimate_cost, total_dollars

    from support.campaign_doubles import ScriptedVendor, synthetic_probes

    probes = synthetic_probes(tmp_path / "d", 1000, n_targets=10)
    runner = CampaignRunner(probes, {"aws": ScriptedVendor("aws"), "nav": ScriptedVendor("nav", similarity=False)},
                            tmp_path / "o", CampaignOptions(crop=False))
    runner.open_journal()
    planned = runner.planned_calls()
    assert planned == {("aws", "recognize"): 1010, ("aws", "similarity"): 1000, ("nav", "recognize"): 1010}
    lines = estimate_cost(planned)
    total, unknown = total_dollars(lines)
    assert total == pytest.approx(2.01) and unknown  # AWS $1/1000; NAV price unknown, never $0


def test_cost_estimate_is_shown_and_needs_a_yes(tmp_path: Path):
    import click

    from harness.backends.factory import Backend
    from harness.campaign import CampaignOptions, CampaignRunner
    from harness.cli.run import _cost_gate
    from harness.jobs.run import Campaign, LoadedDataset

    from support.campaign_doubles import ScriptedVendor, synthetic_probes

    vendors = {"aws": ScriptedVendor("aws"), "nav": ScriptedVendor("nav", similarity=False)}
    probes = synthetic_probes(tmp_path / "d", 40, n_targets=4)
    runner = CampaignRunner(probes, vendors, tmp_path / "o", CampaignOptions(crop=False))
    runner.open_journal()
    backend = Backend("real", vendors, costs_money=True)
    campaign = Campaign(LoadedDataset(probes, "d", tmp_path / "d", tmp_path / "d"), list(vendors), "real", backend,
                        runner, tmp_path / "o", False, 90.0, 80.0)

    @click.command()
    @click.option("--yes", is_flag=True)
    def gate(yes: bool) -> None:
        _cost_gate(campaign, yes)
        click.echo("STARTED")

    refused = CliRunner().invoke(gate, [], input="n\n")
    assert refused.exit_code != 0 and "STARTED" not in refused.output
    assert "cost estimate" in refused.output and "0.04" in refused.output  # 44 recognize, 40 compare
    assert "unknown" in refused.output  # NAV: no published price
    assert "STARTED" in CliRunner().invoke(gate, [], input="y\n").output
    assert "STARTED" in CliRunner().invoke(gate, ["--yes"]).output


@pytest.mark.models
def test_dfi_run_killed_with_sigkill_then_rerun(demo, tmp_path: Path):
    """The literal user story: `dfi run ...`, kill -9 in the middle, the same command again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from harness.datasets import write_manifest

    probes = demo.probes()[:24]
    manifest = write_manifest(probes, tmp_path / "data" / "m.jsonl")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "harness", "run", "--dataset", str(manifest), "--out", str(out),
           "--batch-size", "2", "--no-progress"]
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if journal.exists() and journal.read_bytes().count(b'"k":"r"') >= 8:
            break
        time.sleep(0.02)
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    before = journal.read_bytes().count(b'"k":"r"')
    assert 8 <= before < 72, "the kill must land in the middle of the run"
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert again.returncode == 0, again.stderr
    assert f"{72 - before} / {before}" in again.stdout  # rows this run / resumed
    rows = [json.loads(line)["row"] for line in journal.read_text().splitlines()[1:] if '"k":"r"' in line]
    assert len(rows) == 72 and len({(r["probe_id"], r["vendor"]) for r in rows}) == 72
    clean = dfi("--dataset", str(manifest), "--out", str(tmp_path / "clean"))
    assert clean.exit_code == 0
    a = pd.read_csv(out / "results.csv", keep_default_na=False)
    b = pd.read_csv(tmp_path / "clean" / "results.csv", keep_default_na=False)
    text = ["probe_id", "vendor", "target_name", "target_error", "fake_name", "fake_error", "similarity_error"]
    assert a[text].equals(b[text])
    for col in ("target_conf", "fake_conf", "similarity"):  # batches of 2 vs 256: float32 sums differ in the 7th digit
        x, y = (pd.to_numeric(t[col], errors="coerce").to_numpy() for t in (a, b))
        assert np.allclose(x, y, atol=1e-3, equal_nan=True), col
