"""A mock vendor profile derived from a fitted behaviour model: what ``dfi serve``, the pytest
plugin and ``dfi run`` answer images with under a named profile such as ``study-2020``.

A mock shown an image knows only its own recognizer's cosine to the best identity in its gallery,
not whether the image is a deepfake or from which dataset. The profile's calibration is therefore
one monotone map from that cosine to the vendor's confidence, derived by quantile matching: in the
simulated world as the vendor's recognizer sees it (:mod:`harness.simulate.world`), the
best-identity cosines of the genuine target photos and of the deepfakes, pooled with equal weight
(the study asked each vendor about one real image and one deepfake per probe), are mapped onto the
fitted model's answers to the same two populations, pooled the same way: the unnamed share at the
bottom (below the vendor's reporting threshold), then the named confidences. A cosine at the
pooled quantile ``q`` of the world gets the model's pooled answer at ``q``. The two populations
come out right together only as far as the world orders them as the vendor did; the simulation
(:mod:`harness.vendorfit.simulate`) draws from the model itself and has no such limit.

The calibration is derived for the pooled model (the profile's ``calibration``) and for every
dataset the model has (``datasets:`` in the file, for a user who serves one dataset's behaviour);
the coverage default becomes the model's pooled share of celebrities known.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from harness.simulate.params import SimulationParams
from harness.simulate.run import behaviour_in, vendor_view
from harness.simulate.world import World
from harness.vendorfit.build import DependenceMap
from mockvendors.fitted.model import DatasetModel, PopulationModel, ScoreModel, VendorModel
from mockvendors.profile import PiecewiseLinearCalibration, VendorProfile, load_profile

KNOTS = 48
GRID = 2001  # confidence grid on which the model's pooled distribution is inverted


def world_cosines(params: SimulationParams, profile: VendorProfile, datasets: set[str] | None,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Best-identity cosines of the genuine target photos and of the deepfakes (-1 where the vendor
    knows no identity), in the vendor's view, for ``datasets`` (None: all)."""
    world = World(replace(params, seed=seed), {profile.recognizer})
    beh = behaviour_in(world, profile)
    gen: list[np.ndarray] = []
    fake: list[np.ndarray] = []
    for probes in vendor_view(world, beh.profile).datasets:
        if datasets is not None and probes.spec.name not in datasets:
            continue
        for emb, out in ((probes.target_photo, gen), (probes.fake, fake)):
            ans = beh.recognize_embeddings(emb)
            out.append(np.where(ans.index >= 0, ans.cosine, -1.0))
    return np.concatenate(gen), np.concatenate(fake)


def _named_cdf(pop: PopulationModel, grid: np.ndarray, floor: float) -> np.ndarray:
    """P(named with confidence <= grid) under the population model (0-100 grid)."""
    conf: ScoreModel | None = pop.confidence
    if conf is None:
        return np.where(grid >= floor, pop.answer_rate.p, 0.0)
    return pop.answer_rate.p * np.clip(conf.cdf(grid), 0.0, 1.0)


def model_quantiles(dm: DatasetModel, floor: float, threshold: float, q: np.ndarray) -> np.ndarray:
    """The model's pooled (genuine and deepfake, equal weight) answer at quantiles ``q``, 0-100: below
    the unnamed share a ramp from 0 to just under ``threshold``, above it the named confidences."""
    unnamed = 0.5 * (1 - dm.genuine.answer_rate.p) + 0.5 * (1 - dm.deepfake.answer_rate.p)
    grid = np.linspace(floor, 100.0, GRID)
    named = 0.5 * _named_cdf(dm.genuine, grid, floor) + 0.5 * _named_cdf(dm.deepfake, grid, floor)
    named = np.maximum.accumulate(named)
    out = np.empty_like(q)
    low = q < unnamed
    below = max(threshold - 1e-3, 0.0)
    out[low] = below * (q[low] / max(unnamed, 1e-12))
    target = q[~low] - unnamed
    # invert the non-decreasing CDF: the smallest grid value whose CDF reaches the target share
    pos = np.searchsorted(named, np.minimum(target, named[-1]), side="left")
    out[~low] = grid[np.clip(pos, 0, GRID - 1)]
    return np.maximum.accumulate(np.maximum(out, 0.0))


def derived_calibration(profile: VendorProfile, dm: DatasetModel, floor: float, params: SimulationParams,
                        seed: int = 0, datasets: set[str] | None = None) -> PiecewiseLinearCalibration:
    gen, fake = world_cosines(params, profile, datasets, seed)
    pooled = np.sort(np.concatenate([gen, fake]))
    q = (np.arange(KNOTS) + 0.5) / KNOTS
    cosines = np.quantile(pooled, q)
    threshold = profile.report_threshold * 100.0 / profile.scale
    conf = model_quantiles(dm, floor, threshold, q) / 100.0
    # strictly increasing knots: ties (the -1 of unknown identities, repeated cosines) keep the first
    keep = np.concatenate([[True], np.diff(cosines) > 1e-9])
    cosines, conf = cosines[keep], np.maximum.accumulate(conf[keep])
    if len(cosines) < 2:
        cosines, conf = np.array([-1.0, 1.0]), np.array([0.0, conf[-1]])
    return PiecewiseLinearCalibration(tuple(round(float(c), 6) for c in cosines),
                                      tuple(round(float(min(max(f, 0.0), 1.0)), 6) for f in conf))


def derived_profile(model: VendorModel, name: str, params: SimulationParams | None = None,
                    seed: int = 0) -> dict[str, Any]:
    """The override file of ``model``'s vendor in profile set ``name`` (see the module notes)."""
    params = params or SimulationParams.load()
    base = load_profile(model.vendor)
    pooled = derived_calibration(base, model.pooled, model.floor, params, seed)
    per_dataset = {ds: {"calibration": derived_calibration(base, dm, model.floor, params, seed, {ds}).to_dict()}
                   for ds, dm in model.datasets.items()
                   if ds in {d.name for d in params.datasets}}
    p = model.provenance
    return {
        "vendor": model.vendor,
        "source_note": (f"derived by harness.vendorfit.profile from the behaviour model fitted on "
                        f"{', '.join(p.source_files)} (half {p.half}, seed {p.seed}, fit {p.fit_date}, dfi "
                        f"{p.dfi_version}); calibration by quantile matching on the simulated world as "
                        f"{base.recognizer} sees it"),
        "calibration": pooled.to_dict(),
        # the fitted share of celebrities known replaces the hand-set region rules
        "coverage": {"default": round(float(model.pooled.coverage.share.p), 4), "rules": []},
        "datasets": per_dataset,
        "behaviour_model": f"{model.vendor}.model.yaml",
    }


def write_profile_set(models: dict[str, VendorModel], folder: Path, name: str,
                      dependence: DependenceMap | None = None, params: SimulationParams | None = None,
                      seed: int = 0, header: str = "") -> list[Path]:
    """The named profile set ``name`` in ``folder``: per vendor its behaviour model with its dependence
    (``<vendor>.model.yaml``, as :func:`harness.vendorfit.build.save_models` writes it) and the profile
    override derived from it (``<vendor>.yaml``, naming the model file)."""
    from harness.vendorfit.build import save_models

    folder.mkdir(parents=True, exist_ok=True)
    note = header or f"# profile set {name}: written by `dfi vendorfit profile`; regenerate it, do not edit by hand.\n"
    written = []
    for vendor, model in models.items():
        model_file = save_models({vendor: model}, folder / f"{vendor}.model.yaml",
                                 {vendor: (dependence or {}).get(vendor, {})}, header=note)
        profile_file = folder / f"{vendor}.yaml"
        profile_file.write_text(note + yaml.safe_dump(derived_profile(model, name, params, seed), sort_keys=False,
                                                      allow_unicode=True), encoding="utf-8")
        written += [profile_file, model_file]
    return written
