"""kill -9 in the middle of a campaign, rerun the same command: no lost row, no duplicated row, and
no vendor call repeated whose answer had reached the journal. Uses a real subprocess and SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

CHILD = r'''
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from support.campaign_doubles import ScriptedVendor, synthetic_probes
from harness.campaign import CampaignOptions, CampaignRunner

data, out, log = Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
probes = synthetic_probes(data, 120, n_targets=7)
vendors = {v: ScriptedVendor(v, similarity=(v != "nav"), log=log, delay_s=0.004) for v in ("aws", "ms", "nav")}
CampaignRunner(probes, vendors, out, CampaignOptions(crop=False, concurrency=2, fsync_every=8)).run()
'''


def _journal(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "journal.jsonl").read_text().splitlines()[1:]]


def test_kill_9_then_rerun_resumes_without_repeats(tmp_path: Path):
    tests_dir = str(Path(__file__).parents[1])
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    data, out, log = tmp_path / "data", tmp_path / "out", tmp_path / "calls.log"
    args = [sys.executable, str(script), tests_dir, str(data), str(out), str(log)]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}

    child = subprocess.Popen(args, env=env)
    journal = out / "journal.jsonl"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until a fair part (not all) of the rows is written
        if journal.exists() and journal.read_text().count('"k":"r"') >= 90:
            break
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    first_calls = log.read_text().splitlines()
    first_records = _journal(out)
    rows_before = sum(r["k"] == "r" for r in first_records)
    assert 90 <= rows_before < 360, "the kill must land in the middle of the run"
    journaled_calls = {f'{r["v"]} {"recognize" if r["o"] == "recognize" else "similarity"} {r["h"]}'
                       for r in first_records if r["k"] == "c"}

    subprocess.run(args, env=env, check=True, timeout=120)
    all_calls = log.read_text().splitlines()
    second_calls = all_calls[len(first_calls):]
    records = _journal(out)
    rows = [r["row"] for r in records if r["k"] == "r"]

    # no lost and no duplicated row
    keys = Counter((r["probe_id"], r["vendor"]) for r in rows)
    assert len(keys) == 120 * 3 and max(keys.values()) == 1
    # no call answered before the kill is made again
    assert not journaled_calls & set(second_calls)
    # the only repeats are calls that were in flight at the kill (at most 2 threads x 3 vendors)
    repeated = Counter(all_calls) - Counter(set(all_calls))
    assert sum(repeated.values()) <= 6
    assert all(c not in journaled_calls for c in repeated)

    # the resumed table equals an uninterrupted run of the same campaign
    clean_out, clean_log = tmp_path / "clean", tmp_path / "clean.log"
    subprocess.run([*args[:4], str(clean_out), str(clean_log)], env=env, check=True, timeout=120)
    clean = {(r["row"]["probe_id"], r["row"]["vendor"]): r["row"] for r in _journal(clean_out) if r["k"] == "r"}
    assert {(r["probe_id"], r["vendor"]): r for r in rows} == clean
