"""Every figure the harness writes is drawn in the one style of harness.plotstyle."""

from __future__ import annotations

import ast
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from harness import plotstyle
from harness.compare.distributions import compare_tables
from harness.compare.plots import ecdf_overlay
from harness.defense.plots import defense_bars, estimate_scatter, sensitivity_plot
from harness.metrics import compute_metrics
from harness.report.plots import confidence_histograms, metric_bars, single_metric_bars
from harness.report.plots_sweep import plot_sweep
from harness.results.synthetic import synthetic_results
from harness.sweep import sweep

ROOT = Path(__file__).resolve().parents[2]
HARNESS = ROOT / "harness"
FIGURE_CALLS = {"savefig", "subplots", "figure", "use"}  # plt.subplots/plt.figure/matplotlib.use/fig.savefig


def _offences(path: Path) -> list[str]:
    """Ways a module could make or save a figure outside harness.plotstyle."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                ("matplotlib.pyplot", "matplotlib.backends")):
            found.append(f"from {node.module} import ...")
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.startswith("matplotlib.pyplot")]
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name) and func.id == "Figure":
                found.append("Figure(...)")
            if isinstance(func, ast.Attribute) and func.attr == "savefig":
                found.append(".savefig(...)")
            if (isinstance(func, ast.Attribute) and func.attr in FIGURE_CALLS and isinstance(func.value, ast.Name)
                    and func.value.id in ("plt", "pyplot", "matplotlib")):
                found.append(f"{func.value.id}.{func.attr}(...)")
    return found


def test_no_module_makes_or_saves_a_figure_outside_the_style_module():
    offenders = {}
    for path in sorted(HARNESS.rglob("*.py")):
        if path == HARNESS / "plotstyle.py":
            continue
        found = _offences(path)
        if found:
            offenders[str(path.relative_to(ROOT))] = found
    assert offenders == {}, "make figures with harness.plotstyle.figure() / new_figure() and save_figure()"


def test_plotting_modules_import_the_style():
    """A module that draws (imports matplotlib axes/figure/lines) gets its figures from harness.plotstyle."""
    for path in sorted(HARNESS.rglob("*.py")):
        text = path.read_text()
        if path.name == "plotstyle.py" or "from matplotlib" not in text:
            continue
        assert "from harness.plotstyle import" in text, path


@pytest.fixture(scope="module")
def results():
    return synthetic_results(400, seed=2, n_targets=20)


def _defense_table() -> pd.DataFrame:
    rows = []
    for policy in ("DD1", "DD2"):
        for dataset in ("CelebDF", "CelebFOM"):
            for vendor in ("aws", "ms", "nav"):
                row = {"policy": policy, "dataset": dataset, "vendor": vendor, "genuine_cost": 5.0}
                for suffix, value in (("before", 60.0), ("after", 20.0), ("study_est", 10.0), ("indep_est", 15.0)):
                    row[f"NA_{suffix}"] = value
                rows.append(row)
    return pd.DataFrame(rows)


def _sensitivity_tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    grid = np.arange(0.0, 101.0, 25.0)
    bg = pd.DataFrame([{"parameter": p, "metric": m, "vendor": v, "threshold": t, "value": 100 - t}
                       for p, m in (("beta", "DHC"), ("gamma", "DHS")) for v in ("aws", "ms", "nav") for t in grid])
    th = pd.DataFrame([{"parameter": "tau", "metric": m, "vendor": v, "threshold": t, "value": 100 - t}
                       for m in ("NA", "TA", "SIC") for v in ("aws", "ms", "nav") for t in grid])
    return bg, th


def test_every_figure_is_saved_inside_the_style(tmp_path, results, monkeypatch):
    seen: list[tuple[str, dict]] = []
    real_savefig = Figure.savefig

    def spy(self, fname, *args, **kwargs):
        seen.append((str(fname), {k: matplotlib.rcParams[k] for k in plotstyle.RC}))
        return real_savefig(self, fname, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", spy)
    before = {k: matplotlib.rcParams[k] for k in plotstyle.RC}
    records = compute_metrics(results)
    bg, th = _sensitivity_tables()
    made = [
        metric_bars(records, tmp_path / "metrics.png"),
        single_metric_bars(records, "DHS", tmp_path / "metric_DHS.png"),
        confidence_histograms(results, tmp_path / "confidence.png"),
        *plot_sweep(sweep(results, np.arange(0.0, 101.0, 10.0)), tmp_path / "sweep"),
        ecdf_overlay(compare_tables(results, results)[0], tmp_path / "ecdf.png"),
        defense_bars(_defense_table(), tmp_path / "defense.png"),
        estimate_scatter(_defense_table(), tmp_path / "scatter.png"),
        sensitivity_plot(bg, th, tmp_path / "sensitivity.png"),
    ]
    assert len(made) >= 8 + 5
    assert len(seen) == len(made)
    for path in made:
        assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for fname, rc in seen:
        for key, want in plotstyle.RC.items():
            assert rc[key] == matplotlib.rcParams.validate[key](want), (fname, key)
    # the style is only applied while a figure is drawn: nothing leaks into the global rcParams
    assert {k: matplotlib.rcParams[k] for k in plotstyle.RC} == before


def test_vendor_names_and_colours_come_from_the_style():
    from harness.vendors import registry

    assert plotstyle.known_vendors() == registry.names()
    assert all(plotstyle.vendor_display(v) == registry.get(v).display_name for v in registry.names())
    for path in [*sorted((HARNESS / "report").rglob("*.py")), HARNESS / "compare" / "plots.py",
                 HARNESS / "defense" / "plots.py", HARNESS / "plotstyle.py"]:
        text = path.read_text()
        assert '"aws": "AWS"' not in text and "VENDOR_TITLES" not in text, path  # names: from the registry
        if path.name != "plotstyle.py":
            assert '"aws": "#' not in text, path  # colours: from harness.plotstyle
    assert plotstyle.vendor_order(["nav", "other", "aws", "ms"]) == ["aws", "ms", "nav", "other"]
    assert [plotstyle.vendor_display(v) for v in ("aws", "ms", "nav", "x")] == ["AWS", "MS", "NAV", "x"]
    assert plotstyle.vendor_colour("x") is None and plotstyle.vendor_colour("aws")


def test_wilson_error_bars_are_never_negative():
    yerr = plotstyle.wilson_yerr([50.0, np.nan, 10.0], [40.0, np.nan, 10.2], [60.0, np.nan, 20.0])
    assert yerr.shape == (2, 3)
    assert (yerr >= 0).all()
    assert yerr[:, 0].tolist() == [10.0, 10.0] and yerr[:, 1].tolist() == [0.0, 0.0] and yerr[0, 2] == 0.0
