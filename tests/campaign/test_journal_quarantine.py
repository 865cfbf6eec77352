"""A damaged or edited journal costs repeated work, never a wrong number or a resume that cannot
finish: bad records are set aside in journal.quarantine.jsonl and their work is done again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.campaign import CampaignOptions, CampaignRunner
from harness.campaign.journal import Journal, JournalError
from harness.results.io import results_from_rows

from support.campaign_doubles import ScriptedVendor, synthetic_probes


def _run(probes, out: Path, vendor: ScriptedVendor):
    runner = CampaignRunner(probes, {vendor.name: vendor}, out, CampaignOptions(crop=False))
    summary = runner.run()
    return runner, summary


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_an_out_of_range_answer_in_the_journal_is_quarantined_and_the_call_made_again(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 6)
    out = tmp_path / "out"
    first, _ = _run(probes, out, ScriptedVendor("aws"))
    expected = first.ordered_rows()
    journal = out / "journal.jsonl"
    records = _lines(journal)
    # an edited answer (confidence 250) and the rows built on it: everything must be redone from the call
    call = next(i for i, r in enumerate(records) if r["k"] == "c" and r.get("c") is not None)
    records[call]["c"] = 250.0
    rows = [i for i, r in enumerate(records) if r["k"] == "r"]
    records[rows[0]]["row"]["fake_conf"] = 1e9
    journal.write_text("".join(json.dumps(r) + "\n" for r in records))

    vendor = ScriptedVendor("aws")
    second, summary = _run(probes, out, vendor)
    assert summary.quarantined_records == 2
    assert len(vendor.calls) == 1  # only the quarantined answer was asked again
    assert second.ordered_rows() == expected
    results_from_rows(second.ordered_rows())  # valid: no 1e9 confidence survived
    set_aside = _lines(out / "journal.quarantine.jsonl")
    assert [r["reason"] for r in set_aside] == ["confidence 250.0 is outside the 0-100 scale",
                                                "fake_conf 1000000000.0 is outside the 0-100 scale"]


def test_undecodable_lines_in_the_middle_are_set_aside_not_fatal(tmp_path: Path):
    probes = synthetic_probes(tmp_path / "data", 4)
    out = tmp_path / "out"
    first, _ = _run(probes, out, ScriptedVendor("aws"))
    journal = out / "journal.jsonl"
    lines = journal.read_bytes().splitlines(keepends=True)
    journal.write_bytes(lines[0] + b"\xff\xfe\x00garbage\n" + b"[1, 2]\n" + b"".join(lines[1:]))
    second, summary = _run(probes, out, ScriptedVendor("aws"))
    assert summary.quarantined_records == 2 and summary.rows_new == 0
    assert second.ordered_rows() == first.ordered_rows()


@pytest.mark.parametrize("content", [b"\x89PNG\r\n\x1a\n\x00\x00binary\n", b"[1]\n", b'{"k": "r"}\n'])
def test_a_file_that_is_not_a_journal_is_one_clear_error(tmp_path: Path, content: bytes):
    path = tmp_path / "journal.jsonl"
    path.write_bytes(content)
    with pytest.raises(JournalError, match="not a dfi campaign journal.*--fresh"):
        Journal(path, {"campaign": "x"})


def test_a_credential_quoted_in_a_vendor_error_never_reaches_the_results(tmp_path: Path, monkeypatch):
    from harness.vendors.base import VendorError

    token = "FwoGZXIvYXdzEJr//////////wEaDFAKESESSIONTOKENxyzxyzxyzxyzxyzxyz0123456789abcdef"
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)

    class Leaky(ScriptedVendor):
        def recognize(self, image: bytes):
            raise VendorError("aws", "UnrecognizedClientException", f"The security token {token} is invalid")

    probes = synthetic_probes(tmp_path / "data", 2)
    runner, _ = _run(probes, tmp_path / "out", Leaky("aws"))
    rows = runner.ordered_rows()
    assert rows and all("UnrecognizedClientException" in r["target_error"] + r["fake_error"] for r in rows)
    assert "[REDACTED]" in json.dumps(rows)
    assert token not in json.dumps(rows) and token not in (tmp_path / "out" / "journal.jsonl").read_text()
