"""Fit the simulation to the study's recorded rates (an option; the defaults are measured, not fitted).

With parameters measured on our photos and classical generators, the simulated vendors are fooled
much more often than the study recorded: its real deepfakes, video frames and crops move faces
further from the celebrity. :func:`fit_to_study` keeps everything else and searches, per dataset,
the mean ``to_identity`` cosine (how much of the target's identity the deepfakes carry; the family's
measured spread is kept) at which the simulated vendor's NA equals the study's recorded NA for that
dataset (bisection: NA rises monotonically with it). The vendor is MS by default, the only one the
study recorded on all five datasets.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from harness.metrics import compute_metrics
from harness.simulate.params import DatasetSpec, SimulationParams, Spread
from harness.simulate.run import simulate

FIT_PROBES = 2000  # probes per evaluation while searching (the final world uses the full counts)


def study_rates(study: pd.DataFrame, vendor: str = "ms", metric: str = "NA") -> dict[str, float]:
    m = compute_metrics(study[study["vendor"] == vendor])
    m = m[(m["metric"] == metric) & (m["basis"] == "study")]
    return dict(zip(m["dataset"], m["value"].astype(float), strict=True))


def _rate(params: SimulationParams, spec: DatasetSpec, vendor: str, metric: str) -> float:
    one = replace(params, datasets=(replace(spec, probes=min(spec.probes, FIT_PROBES)),))
    m = compute_metrics(simulate(one, [vendor]).results)
    return float(m[(m["metric"] == metric) & (m["basis"] == "study")]["value"].iloc[0])


def fit_to_study(params: SimulationParams, study: pd.DataFrame, *, vendor: str = "ms", metric: str = "NA",
                 iterations: int = 10) -> tuple[SimulationParams, pd.DataFrame]:
    """Parameters with a fitted ``to_identity`` per dataset the study recorded for ``vendor``, and a
    table: dataset, study rate, simulated rate with the measured parameters, fitted mean, fitted rate."""
    targets = study_rates(study, vendor, metric)
    specs, rows = [], []
    for spec in params.datasets:
        if spec.name not in targets:
            specs.append(spec)
            continue
        gen = params.generators[spec.method].to_identity
        before = _rate(params, spec, vendor, metric)
        lo, hi = 0.0, 0.99
        for _ in range(iterations):
            mid = (lo + hi) / 2
            if _rate(params, replace(spec, to_identity=Spread(mid, gen.sd)), vendor, metric) < targets[spec.name]:
                lo = mid
            else:
                hi = mid
        fitted_mean = round((lo + hi) / 2, 4)
        fitted = replace(spec, to_identity=Spread(fitted_mean, gen.sd))
        specs.append(fitted)
        rows.append({"dataset": spec.name, "method": spec.method, f"study_{metric}": targets[spec.name],
                     "measured_to_identity": gen.mean, f"sim_{metric}_measured": before,
                     "fitted_to_identity": fitted_mean,
                     f"sim_{metric}_fitted": _rate(params, fitted, vendor, metric)})
    notes = (params.notes + f" Per-dataset to_identity fitted to the study's recorded {vendor.upper()} {metric} "
             "(harness.simulate.fit).").strip()
    return replace(params, datasets=tuple(specs), notes=notes), pd.DataFrame(rows)
