"""The metric metadata (harness.metrics.meta) is the one source of every report's labels and denominators."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from harness.metrics import BASES, METRICS, compute_metrics, count_probes
from harness.metrics.meta import METRIC_META, denominator_note, metric_meta, undefined_without_similarity
from harness.report import build_report
from harness.report.metrics_panels import metric_panel, metrics_view
from harness.report.plots_sweep import curve_title
from harness.report.tables import metrics_table, print_metrics
from harness.results.synthetic import synthetic_results
from harness.sweep import SWEEP_CURVES

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def results():
    return synthetic_results(400, seed=1, n_targets=20)


@pytest.fixture(scope="module")
def records(results):
    return compute_metrics(results)


def test_metadata_covers_the_metrics_in_order():
    assert tuple(METRIC_META) == METRICS == ("TA", "NA", "DHF", "DHC", "DHS", "SIC")
    for key, meta in METRIC_META.items():
        assert meta.key == key
        assert meta.scale == "percent" and (meta.lower, meta.upper) == (0.0, 100.0)
        assert meta.label and meta.description
        for basis in BASES:
            assert meta.unit(basis) == f"% of {meta.denominator(basis)}"
    assert metric_meta("DHC").depends_on_beta and not metric_meta("DHC").depends_on_gamma
    assert metric_meta("DHS").depends_on_gamma and not metric_meta("DHS").depends_on_beta
    assert undefined_without_similarity() == ("DHS",)
    with pytest.raises(ValueError):
        metric_meta("TA").denominator("nope")
    with pytest.raises(KeyError):
        metric_meta("XX")


def test_denominators_in_words_match_the_computed_ones(records):
    """Metrics the metadata says share a denominator have the same computed denominators."""
    by_basis = records.set_index(["dataset", "vendor", "basis", "metric"])["denominator"]
    for basis in BASES:
        words: dict[str, list[str]] = {}
        for m in METRICS:
            words.setdefault(metric_meta(m).denominator(basis), []).append(m)
        for same in words.values():
            for m in same[1:]:
                a = by_basis.xs((basis, same[0]), level=("basis", "metric"))
                b = by_basis.xs((basis, m), level=("basis", "metric"))
                assert (a == b).all(), (basis, same[0], m)
    # "NA successes" is the NA numerator; "valid probes" the TA denominator
    study = records[records["basis"] == "study"].set_index(["dataset", "vendor", "metric"])
    na = study.xs("NA", level="metric")
    assert (study.xs("DHC", level="metric")["denominator"] == na["numerator"]).all()


def test_terminal_panels_show_the_metadata_labels(records, results):
    for basis in BASES:
        for m in METRICS:
            panel = metric_panel(records, m, basis)
            assert panel.title == metric_meta(m).title
            assert panel.caption == metric_meta(m).unit(basis)
    console = Console(file=io.StringIO(), width=400, color_system=None)
    console.print(metrics_view(records, count_probes(results)))
    text = console.file.getvalue()
    for meta in METRIC_META.values():
        assert meta.title in text and meta.unit("study") in text


def test_terminal_table_shows_the_metadata_keys_and_denominators(records, results):
    table = metrics_table(records)
    metric_column = next(c for c in table.columns if c.header == "metric")
    shown = list(metric_column.cells)
    assert set(shown) == set(METRICS)
    console = Console(file=io.StringIO(), width=400, color_system=None)
    print_metrics(console, records, count_probes(results))
    assert denominator_note("study") in " ".join(console.file.getvalue().split())


def test_html_report_shows_exactly_the_metadata_labels(tmp_path, results):
    files = build_report(tmp_path, results, title="t", facts=[("a", "b")])
    html = files.report.read_text()
    labels = re.findall(r'<abbr title="([^"]+)">(\w+)</abbr>', html)
    assert {key: label for label, key in labels} == {k: m.label for k, m in METRIC_META.items()}
    for meta in METRIC_META.values():
        assert f"{meta.key} ({meta.label}): share of {meta.study_denominator}" in html


def test_sweep_titles_use_the_metadata_labels():
    for parameter, metric in SWEEP_CURVES:
        assert f"({metric_meta(metric).label})" in curve_title(parameter, metric)


def test_no_report_keeps_its_own_copy_of_labels_or_denominators():
    """The labels and the denominators in words are written once, in harness/metrics/meta.py."""
    phrases = [m.label for m in METRIC_META.values()]
    denominators = {m.study_denominator for m in METRIC_META.values()}
    denominators |= {m.all_denominator for m in METRIC_META.values()}
    phrases += sorted(denominators - {"valid probes", "distinct targets"})  # common words, appear in prose too
    meta_file = ROOT / "harness" / "metrics" / "meta.py"
    owners = [ROOT / "harness" / "report", ROOT / "harness" / "sweep.py", ROOT / "harness" / "compare" / "plots.py",
              ROOT / "harness" / "defense" / "plots.py", ROOT / "harness" / "plotstyle.py"]
    for owner in owners:
        for path in ([owner] if owner.is_file() else sorted(owner.rglob("*.py"))):
            if path == meta_file:
                continue
            text = path.read_text()
            for phrase in phrases:
                assert f'"{phrase}"' not in text and f"of {phrase}\"" not in text, (path, phrase)
