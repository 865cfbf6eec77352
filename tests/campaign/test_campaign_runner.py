"""The campaign runner over the Vendor protocol, with a scripted test double (tests/support/campaign_doubles.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.campaign import CampaignOptions, CampaignRunner
from harness.campaign.journal import Journal
from harness.datasets.probe import Probe
from harness.results.io import results_from_rows

from support.campaign_doubles import ScriptedVendor, sha, synthetic_probes


def run(probes, vendors, out, **opts):
    runner = CampaignRunner(probes, {v.name: v for v in vendors}, out,
                            CampaignOptions(crop=False, **opts))
    summary = runner.run()
    return runner, summary


def test_every_probe_and_vendor_gets_one_row_with_the_vendor_answers(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 20)
    aws, nav = ScriptedVendor("aws"), ScriptedVendor("nav", similarity=False)
    runner, s = run(probes, [aws, nav], tmp_path / "out")
    rows = runner.ordered_rows()
    assert len(rows) == 40 and s.rows_new == 40 and s.error_total == 0
    table = results_from_rows(rows)  # the foundation's validator accepts them
    assert set(table["vendor"]) == {"aws", "nav"}
    row = next(r for r in rows if r["probe_id"] == "p00003" and r["vendor"] == "aws")
    fake_bytes = Path(probes[3].deepfake).read_bytes()
    expected = ScriptedVendor("x").recognize(fake_bytes).best()
    assert row["fake_name"] == (expected.name if expected else "")
    assert row["similarity"] is not None
    nav_row = next(r for r in rows if r["vendor"] == "nav")
    assert nav_row["similarity"] is None and nav_row["similarity_error"] == ""
    # 5 distinct target images: each recognised once per vendor thanks to the cache
    target_calls = [c for c in aws.calls if c[0] == "recognize"
                    and c[1] in {sha(Path(p.target_images[0]).read_bytes()) for p in probes}]
    assert len(target_calls) == 5


def test_bad_input_becomes_error_rows_and_the_run_goes_on(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 8)
    broken = tmp_path / "data" / "broken.png"
    broken.write_bytes(b"not an image at all")
    probes += [
        Probe("missing", "Synthetic", "replacement", str(tmp_path / "nope.png"), "T0", probes[0].target_images,
              error="missing_file: nope.png not found"),
        Probe("no-target", "Synthetic", "replacement", probes[1].deepfake, "T9"),
    ]
    bad_fake = sha(Path(probes[2].deepfake).read_bytes())
    down_fake = sha(Path(probes[3].deepfake).read_bytes())
    flaky_fake = sha(Path(probes[4].deepfake).read_bytes())
    aws = ScriptedVendor("aws", fail={bad_fake: "bad", down_fake: "server", flaky_fake: "throttle-once"})
    runner, s = run(probes, [aws], tmp_path / "out")
    rows = {r["probe_id"]: r for r in runner.ordered_rows()}
    assert len(rows) == 10
    assert rows["missing"]["fake_error"].startswith("missing_file")
    assert rows["no-target"]["target_error"].startswith("no_target_image")
    assert rows["p00002"]["fake_error"].startswith("InvalidImageFormatException")
    assert rows["p00003"]["fake_error"].startswith("InternalServerError")
    # the runner does not retry (the clients do): a throttled call is an error row, never "no celebrity"
    assert rows["p00004"]["fake_error"].startswith("ThrottlingException") and s.retries == 0
    for pid in ("missing", "no-target", "p00002", "p00003"):
        assert rows[pid]["fake_name"] == "" and rows[pid]["fake_conf"] is None
    assert s.errored_rows["aws"] == 5
    assert s.errors[("aws", "fake", "missing_file")] == 1
    # the 5xx and throttled answers were not cached: a retry run calls the vendor again for those only
    aws2 = ScriptedVendor("aws")
    runner2, s2 = run(probes, [aws2], tmp_path / "out", retry_errors=True)
    assert {c[1] for c in aws2.calls if c[0] == "recognize"} == {bad_fake, down_fake, flaky_fake}
    rows2 = {r["probe_id"]: r for r in runner2.ordered_rows()}
    assert rows2["p00003"]["fake_error"] == "" and rows2["p00002"]["fake_error"] == ""
    assert rows2["p00004"]["fake_error"] == ""


def test_undecodable_image_and_missing_file_found_while_preparing(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 2)
    junk = tmp_path / "data" / "junk.png"
    junk.write_bytes(b"")
    probes.append(Probe("empty", "Synthetic", "replacement", str(junk), "T0", probes[0].target_images))
    probes.append(Probe("gone", "Synthetic", "replacement", probes[0].deepfake, "T0",
                        (str(tmp_path / "gone.png"),)))
    runner, s = run(probes, [ScriptedVendor("ms")], tmp_path / "out")
    rows = {r["probe_id"]: r for r in runner.ordered_rows()}
    assert rows["empty"]["fake_error"].startswith("undecodable_image: deepfake")
    assert rows["gone"]["target_error"].startswith("missing_file: real target image")
    assert s.error_total == 2


def test_second_run_makes_no_vendor_call_and_keeps_the_rows(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 15)
    first = ScriptedVendor("aws")
    r1, _ = run(probes, [first], tmp_path / "out")
    again = ScriptedVendor("aws")
    r2, s2 = run(probes, [again], tmp_path / "out")
    assert again.calls == [] and s2.rows_resumed == 15 and s2.rows_new == 0
    assert r2.ordered_rows() == r1.ordered_rows()


def test_resume_after_a_torn_journal_line(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 6)
    run(probes, [ScriptedVendor("aws")], tmp_path / "out")
    journal = tmp_path / "out" / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(b"".join(lines[:-1]) + lines[-1][:10])  # a crash mid-write of the last row
    vendor = ScriptedVendor("aws")
    runner, s = run(probes, [vendor], tmp_path / "out")
    assert s.torn_journal_bytes == 10 and s.rows_new == 1 and vendor.calls == []  # answers were journaled
    assert len(runner.ordered_rows()) == 6


def test_journal_refuses_another_campaign(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 3)
    run(probes, [ScriptedVendor("aws")], tmp_path / "out")
    with pytest.raises(Exception, match="another campaign"):
        run(probes[:2], [ScriptedVendor("aws")], tmp_path / "out")


def test_journal_records_are_json_lines(tmp_path: Path):
    j = Journal(tmp_path / "j.jsonl", {"campaign": "x"}, fsync_every=2)
    for i in range(5):
        j.append({"k": "r", "row": {"i": i}})
    j.close()
    lines = (tmp_path / "j.jsonl").read_text().splitlines()
    assert json.loads(lines[0])["k"] == "h" and [json.loads(x)["row"]["i"] for x in lines[1:]] == list(range(5))
