"""docs/reference/results-schema.md's reading example, as printed, on a metrics file dfi wrote."""

from __future__ import annotations

from pathlib import Path

from harness.metrics import compute_metrics
from harness.metrics.files import write_metric_csv
from harness.results import results_from_rows


def test_the_documented_reading_lines_keep_the_na_metric(tmp_path: Path, monkeypatch):
    rows = [{"dataset": "D", "vendor": "aws", "probe_id": f"p{i}", "target": "T", "fake_name": "T" if i % 2 else "",
             "fake_conf": 95.0 if i % 2 else None, "target_name": "T", "target_conf": 99.0} for i in range(6)]
    monkeypatch.chdir(tmp_path)
    Path("runs/demo-mock").mkdir(parents=True)
    write_metric_csv(compute_metrics(results_from_rows(rows)), Path("runs/demo-mock/metrics.csv"))
    # --- docs/reference/results-schema.md, as printed
    import pandas as pd
    m = pd.read_csv("runs/demo-mock/metrics.csv")          # defaults: metric "na" kept
    m[(m.metric == "na") & (m.basis == "study")]

    from harness.metrics.files import read_metric_csv     # acronyms back (TA, NA, ...)
    m = read_metric_csv("runs/demo-mock/metrics.csv")    # also reads files written before the ids
    # --- what it gave
    plain = pd.read_csv("runs/demo-mock/metrics.csv")
    assert len(plain[(plain.metric == "na") & (plain.basis == "study")]) == 1
    assert "NA" in set(m["metric"]) and m["metric"].notna().all()
