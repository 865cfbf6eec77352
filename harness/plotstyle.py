"""The one plotting style of every figure the harness writes (reports, sweeps, compare, defense).

A foundation module: it imports matplotlib and nothing else from the harness (the vendor
registry only, and lazily), so the analyses (compare, defense, simulate, calibrate,
sweep) and the reports above them can all use it without breaking the layering.

* :data:`RC` -- fonts, sizes and save settings, applied by :func:`plot_style`;
* :func:`figure` -- a context manager that applies the style, makes a figure and its axes with
  matplotlib's object API (no pyplot, no global figure state, no display) and saves it on exit;
* :func:`save_figure` -- the one savefig (atomic: a reader never sees a half-written PNG), at
  :data:`DPI` (200) and, asked for, an SVG beside the PNG;
* vendor order and display names (from the vendor registry) and colours (:func:`vendor_order`, :func:`vendor_display`,
  :func:`vendor_colour`);
* :func:`wilson_yerr` / :func:`wilson_band` -- 95% Wilson intervals as error bars or bands.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

LayoutName = Literal["constrained", "compressed", "tight"]

# Save resolution of every PNG: fine enough to print and to zoom into in the HTML report (the page
# scales the images down to its width, so a finer PNG only costs bytes).
DPI = 200
REPORT_DPI = DPI

# Figure sizes (inches) shared by several figures.
FIGSIZE_PANELS = (12.0, 6.5)     # the six metric panels
FIGSIZE_SINGLE = (6.0, 3.5)      # one metric

GRID_ALPHA = 0.3
BAND_ALPHA = 0.18

RC: dict[RcKeyType, Any] = {
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans"],
    "font.size": 10.0,
    "axes.titlesize": "large",
    "axes.labelsize": "medium",
    "legend.fontsize": "medium",
    "figure.titlesize": "large",
    "grid.alpha": GRID_ALPHA,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "savefig.format": "png",
}

# Vendor names, order and display names come from the vendor registry (harness.vendors.registry,
# imported on first use so this module stays importable from any layer); only the colours are kept
# here. A vendor without a colour of its own gets matplotlib's colour cycle.
VENDOR_COLOURS: dict[str, str] = {"aws": "#ff9900", "ms": "#0078d4", "nav": "#03c75a"}


def known_vendors() -> tuple[str, ...]:
    """The registered vendors in their display order (aws, ms, nav, then any registered later)."""
    from harness.vendors import registry

    return registry.names()


def vendor_display(vendor: str) -> str:
    """``"aws"`` -> ``"AWS"`` (the registry's display name); an unknown vendor is shown by its own name."""
    from harness.vendors import registry

    return registry.get(vendor).display_name if vendor in registry.names() else vendor


def vendor_colour(vendor: str) -> str | None:
    """The vendor's colour, None (matplotlib's cycle) for one without its own."""
    return VENDOR_COLOURS.get(vendor)


def vendor_order(present: Iterable[str]) -> list[str]:
    """The known vendors among ``present`` in their order, then any others sorted."""
    present_set = set(present)
    known = known_vendors()
    return [v for v in known if v in present_set] + sorted(present_set - set(known))


@contextmanager
def plot_style() -> Iterator[None]:
    """Apply :data:`RC` for the duration (artists pick up fonts when created, savefig when saving)."""
    with matplotlib.rc_context(RC):
        yield


def new_figure(figsize: tuple[float, float], *, dpi: float = DPI, layout: LayoutName | None = None) -> Figure:
    """A figure on the Agg canvas; call inside :func:`plot_style`."""
    fig = Figure(figsize=figsize, dpi=dpi, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def svg_path(path: Path) -> Path:
    """Where :func:`save_figure` puts the SVG copy of the PNG at ``path``."""
    return Path(path).with_suffix(".svg")


def save_figure(fig: Figure, path: Path, *, dpi: float = DPI, svg: bool = False) -> Path:
    """Write ``fig`` as PNG to ``path`` (parents made), via a temporary file renamed into place;
    with ``svg`` also as SVG beside it (:func:`svg_path`, text kept as text)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    targets = [(path, "png")] + ([(svg_path(path), "svg")] if svg else [])
    engine = fig.get_layout_engine()
    try:
        with plot_style(), matplotlib.rc_context({"svg.fonttype": "none"}):
            for i, (target, fmt) in enumerate(targets):
                if i == 1 and engine is not None:
                    fig.set_layout_engine("none")  # laid out by the first save: the SVG keeps that layout
                tmp = target.with_name(f".{target.name}.tmp")
                fig.savefig(tmp, format=fmt, dpi=dpi)
                tmp.replace(target)
    finally:
        if engine is not None and fig.get_layout_engine() is not engine:
            fig.set_layout_engine(engine)
    return path


@contextmanager
def figure(path: Path, figsize: tuple[float, float], *, nrows: int = 1, ncols: int = 1, dpi: float = DPI,
           layout: LayoutName | None = None, svg: bool = False,
           **subplots: Any) -> Iterator[tuple[Figure, np.ndarray]]:
    """Styled figure with an (nrows x ncols) array of axes, saved to ``path`` (and with ``svg`` an SVG
    beside it) when the block ends without an exception::

        with figure(path, (6, 4)) as (fig, axes):
            axes[0, 0].plot(...)
    """
    with plot_style():
        fig = new_figure(figsize, dpi=dpi, layout=layout)
        axes = fig.subplots(nrows, ncols, squeeze=False, **subplots)
        yield fig, axes
        save_figure(fig, path, dpi=dpi, svg=svg)


def wilson_yerr(values: Sequence[float], ci_low: Sequence[float], ci_high: Sequence[float]) -> np.ndarray:
    """Asymmetric error bars (2 x n) from values and their interval; 0 where a value is undefined.

    Rounding can put a value a hair outside its interval: such bars are clipped to 0.
    """
    v = np.asarray(values, dtype=np.float64)
    lo = np.asarray(ci_low, dtype=np.float64)
    hi = np.asarray(ci_high, dtype=np.float64)
    return np.clip(np.nan_to_num(np.stack([v - lo, hi - v])), 0, None)


def wilson_band(ax: Axes, x: np.ndarray, ci_low: np.ndarray, ci_high: np.ndarray, colour: str | None) -> None:
    """The 95% Wilson interval as a shaded band around a curve."""
    ax.fill_between(x, ci_low, ci_high, color=colour, alpha=BAND_ALPHA, lw=0)


__all__ = [
    "BAND_ALPHA", "DPI", "FIGSIZE_PANELS", "FIGSIZE_SINGLE", "GRID_ALPHA", "RC", "REPORT_DPI", "VENDOR_COLOURS",
    "figure", "known_vendors", "new_figure", "plot_style", "save_figure", "svg_path", "vendor_colour",
    "vendor_display", "vendor_order", "wilson_band", "wilson_yerr",
]
