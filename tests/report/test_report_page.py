"""report.html: intervals in every metric cell, the parameters block with the inputs' sha256,
figures at 200 dpi with SVG beside them, example probes with thumbnails, linked files."""

from __future__ import annotations

import hashlib
import html as html_lib
import json
import re

import pandas as pd
from PIL import Image

from harness import __version__
from harness.report.examples import UNAVAILABLE, most_confident_fooled

TAU = {"aws": 55.0, "ms": 70.0, "nav": 0.0}  # as tests/report/conftest.py gives it to build_report


def _page(built) -> str:
    return built.files.report.read_text()


def test_every_metric_cell_gives_value_interval_and_counts(built_report):
    page = _page(built_report)
    cells = re.findall(r'<td>([\d.]+)% <span class="ci">\[([\d.]+)&ndash;([\d.]+)\]</span><br><small>(\d+)/(\d+)'
                       r"</small></td>", page)
    records = built_report.files.records
    defined = records[records["denominator"] > 0]
    assert len(cells) == len(defined)  # both bases, every defined record once
    expected = {(f"{r.value:.1f}", f"{r.ci_low:.1f}", f"{r.ci_high:.1f}", str(r.numerator), str(r.denominator))
                for r in defined.itertuples()}
    assert set(cells) == expected
    assert page.count('<td class="na">n/a</td>') == int((records["denominator"] == 0).sum())


def test_parameters_block_and_json(built_report):
    page = _page(built_report)
    params = json.loads((built_report.out / "parameters.json").read_text())
    assert params["beta"] == 85.0 and params["gamma"] == 75.0 and params["tau"] == TAU
    assert params["profile"] == "study-2020" and params["backend"] == "mock" and params["dfi_version"] == __version__
    hashes = {i["path"]: i["sha256"] for i in params["inputs"]}
    for path in built_report.inputs:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert hashes[str(path)] == digest
        assert f"<td class=\"l\">{digest}</td>" in page
    for text in ("<td class=\"l\">85</td>", "<td class=\"l\">75</td>", "AWS 55, MS 70, NAV 0", "study-2020",
                 f"<td class=\"l\">{__version__}</td>", "<td class=\"l\">mock</td>"):
        assert text in page, text


def test_figures_are_200_dpi_png_with_svg_beside_them_and_linked(built_report):
    page = _page(built_report)
    plots = built_report.out / "plots"
    pngs = sorted(plots.glob("*.png"))
    assert {p.name for p in pngs} >= {"metrics.png", "confidence.png", "deception_beta_gamma.png", "metric_DHS.png"}
    for png in pngs:
        with Image.open(png) as img:
            assert img.info["dpi"][0] >= 199.5, png  # matplotlib writes the resolution into pHYs
        svg = png.with_suffix(".svg")
        assert svg.read_text().lstrip().startswith("<?xml") and "<svg" in svg.read_text()[:2000], svg
    for name in ("plots/metrics.png", "plots/metrics.svg", "plots/deception_beta_gamma.svg"):
        assert f'<a href="{name}">' in page, name
    assert page.count("data:image/png;base64,") == 3  # metric bars, confidence, beta x gamma
    heatmap = page[page.index("<h2>High-score deception over beta x gamma"):]
    assert heatmap.index("numerator at beta plus DHS") < heatmap.index("<figure>")  # said above the figure


def test_file_list_links_the_files_that_exist(built_report):
    page = _page(built_report)
    files = page[page.index("<h2>Files</h2>"):]
    for name in ("results.csv", "metrics.csv", "metrics.json", "counts.csv", "errors.csv", "parameters.json"):
        assert f'<a href="{name}"><code>{name}</code></a>' in files, name
    assert "<li><code>journal.jsonl</code></li>" in files  # listed, not there, so not a link


def test_examples_show_the_most_confident_deepfakes_with_thumbnails(built_report):
    page = _page(built_report)
    section = page[page.index("<h2>Example probes</h2>"):page.index("<h2>Probes and errors</h2>")]
    results = built_report.results
    for vendor, name in (("aws", "AWS"), ("ms", "MS"), ("nav", "NAV")):
        assert f"<h3>{name}</h3>" in section
        top = most_confident_fooled(results, vendor, 4)
        assert len(top) == 4
        confs = top["fake_conf"].astype(float).tolist()
        assert confs == sorted(confs, reverse=True)
        named = results[(results["vendor"] == vendor) & (results["fake_name"] != "") & (results["fake_error"] == "")
                        & (results["target_error"] == "") & (results["target2_error"] == "")]
        assert confs[0] == named["fake_conf"].max()
        block = section[section.index(f"<h3>{name}</h3>"):]
        for row in top.itertuples():
            assert f"{row.dataset} / {row.probe_id}</td>" in block
    thumbs = re.findall(r'<img alt="([^"]*)" title="[^"]*" src="data:image/jpeg;base64,([^"]+)"', section)
    assert thumbs
    for ref, _ in thumbs:
        ref = html_lib.unescape(ref)
        assert not ref.startswith("missing/") and "#" not in ref  # only the files that exist
    assert UNAVAILABLE in section


def test_a_missing_or_unreadable_image_does_not_break_the_report(built_report, tmp_path):
    from harness.report.examples import examples_html, thumbnail_uri

    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    assert thumbnail_uri(broken) is None and thumbnail_uri(tmp_path / "absent.png") is None
    rows = built_report.results.copy()
    rows["deepfake"] = str(broken)
    body = examples_html(rows, genuine_images={p: str(broken) for p in rows["probe_id"]})
    assert "data:image/jpeg" not in body and body.count(UNAVAILABLE) > 3


def test_genuine_photos_missed_are_the_real_images_named_no_one(built_report):
    from harness.report.examples import missed_genuine

    results = built_report.results
    for vendor in ("aws", "ms", "nav"):
        missed = missed_genuine(results, vendor, built_report.genuine)
        rows = results[(results["vendor"] == vendor) & (results["target_error"] == "") & (results["target_name"] == "")]
        assert set(missed["_image"]) == {built_report.genuine[p] for p in rows["probe_id"]}
        assert missed["_image"].is_unique


def test_report_without_the_new_parameters_still_says_what_it_knows(tmp_path):
    from harness.report import build_report
    from harness.results.synthetic import synthetic_results

    files = build_report(tmp_path, synthetic_results(60, seed=3, n_targets=5), title="t", facts=[])
    page = files.report.read_text()
    assert "not given to the report" in page and f"dfi version</th><td class=\"l\">{__version__}" in page
    assert "No input files were given to the report." in page
    assert pd.read_json(tmp_path / "parameters.json", typ="series")["beta"] == 90.0
