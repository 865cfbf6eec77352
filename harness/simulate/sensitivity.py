"""How the study's conclusions move with beta, gamma and the vendors' reporting thresholds.

beta and gamma only re-read the results (metrics recomputed at each value). A vendor's reporting
threshold changes what the vendor answers: see :func:`threshold_table`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from harness.metrics import compute_metrics
from harness.simulate.parts import interleave, pooled, read_part
from harness.simulate.run import run_world, vendor_behaviours
from harness.simulate.stream import DEFAULT_CHUNK, simulate_to_file
from harness.simulate.world import World
from harness.sweep import sweep
from harness.vendors import registry

DEFAULT_BETAS = (50.0, 70.0, 80.0, 90.0, 95.0, 99.0)
DEFAULT_GAMMAS = (50.0, 60.0, 70.0, 80.0, 90.0, 95.0)
# reporting threshold tau on the harness's 0-100 scale (AWS 55 and MS 0.70 = 70 are the vendors' own)
DEFAULT_TAU_GRID: tuple[float, ...] = (0.0, 10.0, 30.0, 45.0, 55.0, 70.0, 80.0, 90.0, 95.0)


def _pick(m: pd.DataFrame, metric: str, basis: str) -> pd.DataFrame:
    return m[(m["metric"] == metric) & (m["basis"] == basis)]


def beta_gamma_table(results: pd.DataFrame, betas: Sequence[float] = DEFAULT_BETAS,
                     gammas: Sequence[float] = DEFAULT_GAMMAS, by: Sequence[str] = ("vendor",)) -> pd.DataFrame:
    """Long table: parameter (beta|gamma), value, the ``by`` keys, metric (DHC|DHS), study-basis value."""
    rows = []
    for b in betas:
        m = _pick(compute_metrics(results, beta=b, by=by), "DHC", "study")
        rows.append(m.assign(parameter="beta", threshold=b))
    for g in gammas:
        m = _pick(compute_metrics(results, gamma=g, by=by), "DHS", "study")
        rows.append(m.assign(parameter="gamma", threshold=g))
    return pd.concat(rows, ignore_index=True)


def threshold_table(world: World, grid: Sequence[float] = DEFAULT_TAU_GRID,
                    vendors: Sequence[str] | None = None, by: Sequence[str] = ("vendor",),
                    overrides: Mapping[str, dict] | None = None) -> pd.DataFrame:
    """NA, TA and SIC (study basis) against each vendor's reporting threshold tau (0-100 scale).

    The world is run once more through the mock behaviour with every vendor's reporting threshold
    at 0 (every face gets its best identity and its confidence), then :func:`harness.sweep.sweep`
    applies each tau exactly as the vendor's reporting rule does (an answer below tau is "no
    celebrity", on the deepfake and on the real reference images). Thresholds *below* a vendor's
    own (AWS 55, MS 0.70) are therefore shown too, which re-reading recorded answers cannot do.
    """
    vendors = registry.names() if vendors is None else vendors
    ov = {v: {**dict((overrides or {}).get(v, {})), "report_threshold": 0.0} for v in vendors}
    sim = run_world(world, vendor_behaviours(world, vendors, ov))
    curves = sweep(sim.results, np.asarray(grid, dtype=float), by)
    curves = curves[(curves["parameter"] == "tau") & (curves["basis"] == "study")
                    & curves["metric"].isin(["NA", "TA", "SIC"])]
    return curves.assign(parameter="tau").reset_index(drop=True)


def threshold_table_from_results(results: pd.DataFrame, grid: Sequence[float] = DEFAULT_TAU_GRID,
                                 by: Sequence[str] = ("vendor",)) -> pd.DataFrame:
    """As :func:`threshold_table`, with tau applied to the answers as they are (vendors that answer from
    a fitted model report nothing below their own floor, so a tau below it changes nothing)."""
    curves = sweep(results, np.asarray(grid, dtype=float), by)
    curves = curves[(curves["parameter"] == "tau") & (curves["basis"] == "study")
                    & curves["metric"].isin(["NA", "TA", "SIC"])]
    return curves.assign(parameter="tau").reset_index(drop=True)


def pooled_beta_gamma(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """:func:`beta_gamma_table` (by vendor) of disjoint parts of a results table (e.g. its datasets),
    pooled: DHC and DHS count rows, so the parts' numerators and denominators add up."""
    return pooled(parts, ["parameter", "threshold", "vendor", "metric", "basis"])


def streamed_threshold_table(world: World, scratch: Path, grid: Sequence[float] = DEFAULT_TAU_GRID,
                             vendors: Sequence[str] | None = None, overrides: Mapping[str, dict] | None = None,
                             chunk: int = DEFAULT_CHUNK) -> pd.DataFrame:
    """:func:`threshold_table` by vendor for a world built without its probes (``probes=False``): the
    threshold-0 answers are streamed to ``scratch`` (removed afterwards) and swept a vendor at a time."""
    vendors = registry.names() if vendors is None else vendors
    ov = {v: {**dict((overrides or {}).get(v, {})), "report_threshold": 0.0} for v in vendors}
    try:
        simulate_to_file(world.params, scratch, vendors, ov, chunk, world=world)
        parts = [sweep(read_part(scratch, "vendor", v), np.asarray(grid, dtype=float), ("vendor",))
                 for v in sorted(vendors)]
    finally:
        scratch.unlink(missing_ok=True)
    curves = interleave(parts, ["parameter", "metric", "basis"])
    curves = curves[(curves["parameter"] == "tau") & (curves["basis"] == "study")
                    & curves["metric"].isin(["NA", "TA", "SIC"])]
    return curves.assign(parameter="tau").reset_index(drop=True)
