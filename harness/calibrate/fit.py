"""Calibrate a mock vendor profile so its confidence distributions match a recorded table.

The mock's side is the study-scale simulated world (:mod:`harness.simulate`): for every probe,
the cosine of the genuine target photo and of the deepfake to the best gallery identity the
vendor knows. A calibration ``f`` turns a cosine into the vendor's confidence; a probe is named
when ``f(cos)`` reaches the reporting threshold (AWS 55, MS 0.70).

Two monotone fits are offered; both use one half of the recorded targets and a simulated world,
and the distances reported "after" are measured on the other half and on a fresh world (another
seed), so they are not flattered by the fit.

- ``logistic`` (default): the profile's own parametric form, ``f(c) = 1 / (1 + exp(-(c - m) / w))``,
  with ``m`` and ``w`` chosen by Nelder-Mead to minimise, summed over genuine and deepfake probes,
  the Wasserstein-1 distance between named confidences plus the answer-rate difference.
- ``isotonic``: quantile matching under a monotonicity constraint. Within each population the mock
  cosines are ranked; the top ``r`` share (``r`` = the recorded answer rate) is paired with the
  recorded named confidences at the same quantile, the rest with values ramping from 0 to just
  under the threshold (the vendor reports nothing there). One isotonic regression (sklearn) over
  the pooled pairs, populations weighted equally, stored as piecewise-linear knots.

Why logistic by default: the mock's genuine and deepfake cosines overlap where the real vendor's
confidences do not, so no single monotone map can match both populations. The isotonic fit then
chases the genuine population's point mass at the top (AWS 100.0, MS 0.9999...) and gives up the
deepfakes; the two-parameter sigmoid cannot follow the point mass, spreads the compromise, and
on held-out data matches the deepfake distribution - the one the impersonation metrics (NA, DHC,
DHF) depend on - far better (README: KS 0.57 -> 0.09 for AWS). Both are monotone by construction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats
from sklearn.isotonic import IsotonicRegression

from harness.compare.distributions import Distance, Sample, distance, population_sample
from harness.errors import DfiError

if TYPE_CHECKING:
    from harness.simulate.params import SimulationParams
    from mockvendors.profile import Calibration, LogisticCalibration, PiecewiseLinearCalibration, VendorProfile

KNOTS = 64


class CalibrationError(DfiError):
    pass


@dataclass
class MockCosines:
    """Best-identity cosines per population; NaN where the vendor knows no identity at all."""

    genuine: np.ndarray
    deepfake: np.ndarray

    def of(self, population: str) -> np.ndarray:
        return self.genuine if population == "genuine" else self.deepfake


def world_cosines(params: SimulationParams, profile: VendorProfile, datasets: set[str], seed: int) -> MockCosines:
    """The simulated world's cosines as ``profile``'s recognizer sees them (its view, else the reference's)."""
    from harness.simulate.run import behaviour_in, vendor_view
    from harness.simulate.world import World

    world = World(replace(params, seed=seed), {profile.recognizer})
    beh = behaviour_in(world, profile)
    gen: list[np.ndarray] = []
    fake: list[np.ndarray] = []
    for probes in vendor_view(world, beh.profile).datasets:
        if probes.spec.name not in datasets:
            continue
        for emb, out in ((probes.target_photo, gen), (probes.fake, fake)):
            ans = beh.recognize_embeddings(emb)
            out.append(np.where(ans.index >= 0, ans.cosine, np.nan))
    if not gen:
        raise CalibrationError(f"the simulated world has none of the recorded datasets {sorted(datasets)}")
    return MockCosines(np.concatenate(gen), np.concatenate(fake))


def mock_sample(profile: VendorProfile, cosines: np.ndarray) -> Sample:
    """What the mock vendor answers for these cosines under ``profile`` (confidences on 0-100)."""
    valid = np.isfinite(cosines)
    conf = profile.confidence(np.where(valid, cosines, -1.0))  # vendor scale
    named = valid & (conf >= profile.report_threshold) if not profile.always_name_best else valid
    conf100 = conf * (100.0 / profile.scale)
    return Sample(conf100[named], int((~named).sum()))


def split_by_target(df: pd.DataFrame, seed: int, fraction: float = 0.5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of half the (dataset, target) groups for fitting, the rest held out."""
    keys = df["dataset"].astype(str) + "\x1f" + df["target"].astype(str)
    groups = np.array(sorted(keys.unique()))
    rng = np.random.default_rng(seed)
    rng.shuffle(groups)
    fit_groups = set(groups[: int(round(len(groups) * fraction))])
    mask = keys.isin(fit_groups).to_numpy()
    return df[mask], df[~mask]


def _population_pairs(cos: np.ndarray, recorded: Sample, threshold_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    c = np.sort(cos[np.isfinite(cos)])
    n = len(c)
    if n == 0 or recorded.calls == 0:
        return np.empty(0), np.empty(0)
    n_named = int(round(recorded.answer_rate * n))
    targets = np.empty(n)
    if n_named:
        q = (np.arange(n_named) + 0.5) / n_named
        targets[n - n_named:] = np.quantile(recorded.named_conf / 100.0, q)
    if n - n_named:
        targets[: n - n_named] = np.linspace(0.0, threshold_fraction * 0.999, n - n_named)
    return c, targets


def fit_isotonic(cosines: MockCosines, recorded: dict[str, Sample],
                 threshold_fraction: float) -> PiecewiseLinearCalibration:
    from mockvendors.profile import PiecewiseLinearCalibration

    xs, ys, ws = [], [], []
    for pop in ("genuine", "deepfake"):
        x, y = _population_pairs(cosines.of(pop), recorded[pop], threshold_fraction)
        if len(x):
            xs.append(x)
            ys.append(y)
            ws.append(np.full(len(x), 1.0 / len(x)))
    if not xs:
        raise CalibrationError("nothing to fit: no recorded answers or no mock probes")
    x, y, w = np.concatenate(xs), np.concatenate(ys), np.concatenate(ws)
    iso = IsotonicRegression(increasing=True, y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(x, y, sample_weight=w)
    grid = np.unique(np.quantile(x, np.linspace(0.0, 1.0, KNOTS)))
    grid = np.unique(np.concatenate([[-1.0], grid, [1.0]]))
    frac = np.clip(np.maximum.accumulate(iso.predict(grid)), 0.0, 1.0)
    return PiecewiseLinearCalibration(tuple(float(v) for v in grid), tuple(float(v) for v in frac))


def _objective(profile: VendorProfile, cosines: MockCosines, recorded: dict[str, Sample]) -> float:
    total = 0.0
    for pop in ("genuine", "deepfake"):
        m = mock_sample(profile, cosines.of(pop))
        r = recorded[pop]
        if len(m.named_conf) and len(r.named_conf):
            total += stats.wasserstein_distance(m.named_conf, r.named_conf) / 100.0
        else:
            total += 1.0
        total += abs(m.answer_rate - r.answer_rate)
    return total


def fit_logistic(profile: VendorProfile, cosines: MockCosines, recorded: dict[str, Sample]) -> LogisticCalibration:
    from mockvendors.profile import LogisticCalibration, ProfileError

    start = profile.calibration
    x0 = [getattr(start, "midpoint", 0.4), np.log(getattr(start, "width", 0.05))]

    def f(x: np.ndarray) -> float:
        try:
            cal = LogisticCalibration(float(x[0]), float(np.exp(x[1])))
        except ProfileError:
            return 1e9
        return _objective(replace(profile, calibration=cal), cosines, recorded)

    res = optimize.minimize(f, x0, method="Nelder-Mead", options={"xatol": 1e-4, "fatol": 1e-5, "maxiter": 400})
    return LogisticCalibration(float(res.x[0]), float(np.exp(res.x[1])))


@dataclass
class CalibrationReport:
    vendor: str
    method: str
    datasets: list[str]
    recorded_rows: dict[str, int]  # fit / held-out
    before: list[Distance]  # held-out recorded vs fresh mock world, built-in profile
    after: list[Distance]  # same, fitted profile
    after_fit_split: list[Distance]  # fitted profile on the data it was fitted to (for contrast)
    calibration: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def calibrate(recorded: pd.DataFrame, vendor: str, method: str = "logistic", seed: int = 0,
              params: SimulationParams | None = None,
              profile: VendorProfile | None = None,
              progress: Callable[[int, int], None] | None = None) -> tuple[VendorProfile, CalibrationReport]:
    """Fit ``vendor``'s calibration to the ``recorded`` rows of that vendor. Returns the fitted
    profile and the report (distances before/after on held-out data). ``progress(done, total)``
    after each of its steps (simulating the fit and evaluation worlds, fitting, measuring)."""
    def step(done: int) -> None:
        if progress is not None:
            progress(done, 4)

    from harness.simulate.params import SimulationParams
    from mockvendors.profile import load_profile

    if method not in ("isotonic", "logistic"):
        raise CalibrationError(f"unknown method {method!r} (isotonic or logistic)")
    rows = recorded[recorded["vendor"] == vendor]
    if rows.empty:
        raise CalibrationError(f"the recorded table has no rows for vendor {vendor!r}")
    params = params or SimulationParams.load()
    own = profile or load_profile(vendor)
    # the simulated world as the vendor's own recognizer sees it, or the reference view (and scale) where
    # the parameters have no statistics for that recognizer
    scale_of = own.recognizer if own.recognizer in params.recognizer_names else params.recognizer
    profile = own.on_scale_of(scale_of)
    datasets = set(rows["dataset"].astype(str))
    fit_rows, test_rows = split_by_target(rows, seed)
    fit_samples = {p: population_sample(fit_rows, p) for p in ("genuine", "deepfake")}
    test_samples = {p: population_sample(test_rows, p) for p in ("genuine", "deepfake")}
    step(0)
    fit_world = world_cosines(params, profile, datasets, seed=params.seed + 2 * seed)
    step(1)
    eval_world = world_cosines(params, profile, datasets, seed=params.seed + 2 * seed + 1)
    step(2)
    threshold_fraction = profile.report_threshold / profile.scale
    cal: Calibration
    if method == "isotonic":
        cal = fit_isotonic(fit_world, fit_samples, threshold_fraction)
    else:
        cal = fit_logistic(profile, fit_world, fit_samples)
    fitted = replace(profile, calibration=cal, source=f"fitted by dfi calibrate ({method})")
    step(3)

    def dists(prof: VendorProfile, world: MockCosines, samples: dict[str, Sample]) -> list[Distance]:
        return [distance(p, samples[p], mock_sample(prof, world.of(p))) for p in ("genuine", "deepfake")]

    report = CalibrationReport(
        vendor=vendor, method=method, datasets=sorted(datasets),
        recorded_rows={"fit": len(fit_rows), "held_out": len(test_rows)},
        before=dists(profile, eval_world, test_samples),
        after=dists(fitted, eval_world, test_samples),
        after_fit_split=dists(fitted, fit_world, fit_samples),
        calibration=fitted.on_scale_of(own.recognizer).calibration.to_dict(),
        notes=[f"mock side: simulated world ({', '.join(sorted(datasets))}; fit seed {params.seed + 2 * seed}, "
               f"evaluation seed {params.seed + 2 * seed + 1}); recorded split by (dataset, target), seed {seed}"],
    )
    step(4)
    if own.recognizer != scale_of:
        report.notes.append(f"fitted on the reference recognizer's cosine scale ({scale_of}) and carried "
                            f"to {vendor}'s own recognizer ({own.recognizer}) through their anchors")
    else:
        report.notes.append(f"fitted on the simulated world as {vendor}'s own recognizer ({own.recognizer}) sees it")
    return fitted.on_scale_of(own.recognizer), report


def fitted_profile_dict(fitted: VendorProfile, report: CalibrationReport) -> dict[str, Any]:
    from mockvendors.profile import profile_to_dict

    d = profile_to_dict(fitted)
    d["calibration"] = report.calibration
    return d
