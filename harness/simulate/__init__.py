"""Embedding-space simulation at the study's scale through the mock vendors' behaviour code.

``SimulationParams.load()`` (measured defaults in ``params.json``) -> ``simulate(params)`` -> a results
table for the metrics, sweeps, defense (``harness.simulate.defense``) and reports; ``estimate`` measures
the parameters, ``fit`` fits per-dataset deepfake strength to the study, ``sensitivity`` moves beta,
gamma and the vendors' reporting thresholds.
"""

from harness.simulate.params import DatasetSpec, SimulationParams, Spread
from harness.simulate.run import Simulation, simulate

__all__ = ["DatasetSpec", "Simulation", "SimulationParams", "Spread", "simulate"]
