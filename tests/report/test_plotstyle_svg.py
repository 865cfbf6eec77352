"""harness.plotstyle saves every figure as a 200 dpi PNG and, asked for, an SVG beside it with the
same layout and its text kept as text."""

from __future__ import annotations

from PIL import Image

from harness import plotstyle


def test_png_at_200_dpi_and_svg_beside_it(tmp_path):
    path = tmp_path / "f.png"
    with plotstyle.figure(path, (4.0, 3.0), layout="constrained", svg=True) as (fig, axes):
        axes[0, 0].plot([0, 1], [0, 1], label="a line")
        axes[0, 0].set_title("a title")
        engine = fig.get_layout_engine()
    with Image.open(path) as img:
        assert img.size == (800, 600) and round(img.info["dpi"][0]) == 200
    svg = plotstyle.svg_path(path).read_text()
    assert plotstyle.svg_path(path) == tmp_path / "f.svg"
    assert "<svg" in svg and ">a title</text>" in svg  # text, not glyph outlines: editable, searchable
    assert fig.get_layout_engine() is engine  # the SVG reused the PNG's layout; the engine is put back
    assert not list(tmp_path.glob(".*.tmp"))


def test_no_svg_unless_asked(tmp_path):
    with plotstyle.figure(tmp_path / "g.png", (2.0, 2.0)) as (_fig, axes):
        axes[0, 0].plot([0, 1])
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]
