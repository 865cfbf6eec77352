"""The mock side of a distribution comparison when no campaign results table is given: the
study-scale simulation (:mod:`harness.simulate`) run through the mock vendors' behaviour - the
same profiles, calibrations and reporting rules the in-process and HTTP mocks use, on embeddings
drawn from measured parameters (same datasets, sizes and target counts as the study's files)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from harness.simulate.params import SimulationParams


def simulated_mock_table(vendors: Sequence[str], seed: int | None = None,
                         overrides: Mapping[str, dict[str, Any]] | None = None,
                         params: SimulationParams | None = None) -> pd.DataFrame:
    from harness.simulate.params import SimulationParams
    from harness.simulate.run import simulate

    params = params or SimulationParams.load()
    if seed is not None:
        params = replace(params, seed=int(seed))
    return simulate(params, tuple(vendors), overrides).results
