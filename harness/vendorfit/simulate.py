"""The embedding-space simulation with vendors that answer from their fitted models.

:func:`simulate_with_models` builds the simulated world (:class:`harness.simulate.world.World`, one
view per recognizer) and lets each vendor with a fitted model (:class:`~mockvendors.fitted.model.VendorModel`)
answer the world's probes by drawing from its model (:func:`harness.vendorfit.sample.sample_table`),
so every fitted rate, confidence distribution, outcome split and coverage holds at the study's
scale; vendors without a model answer through the mock behaviour code as in
:func:`harness.simulate.run.simulate`.

Coupling. Drawn independently, two vendors' answers would agree only as often as chance allows.
Real vendors share part of their mistakes: a deepfake that looks like its target to one face model
tends to look like it to another. So the draws are re-ordered, without changing any vendor's
marginal answers: within each dataset and each condition the model distinguishes (the target's real
image named or not), the sampled deepfake answers, strongest first (named, by confidence), are given
to the probes in the order of how close the deepfake is to its target in that vendor's view of the
world (the best cosine to the target's gallery photos, on the vendor's own recognizer). The views
are coupled as far as the real recognizers agree (:mod:`harness.simulate.coupling`), so the
vendors' answers are too. An answer keeps its outcome (target / reference / someone else) and is
re-named for the probe it lands on. The real-image answers are drawn per probe and not re-ordered.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from harness.results.io import validate_results
from harness.results.schema import COLUMN_NAMES
from harness.simulate.params import SimulationParams
from harness.simulate.run import (
    SOURCE,
    Simulation,
    StepCounter,
    dataset_rows,
    probe_ids,
    vendor_behaviours,
    vendor_view,
)
from harness.simulate.world import SimProbes, View, World
from harness.vendorfit.dependence import Dependence, dependence_from_dict
from harness.vendorfit.sample import STUDY_COLUMNS, WITH_REFERENCE, sample_table
from harness.vendors import registry
from mockvendors.fitted.model import POOLED, VendorModel
from mockvendors.profile import load_profile


@dataclass(frozen=True)
class ModelAnswers:
    """One vendor's fitted model, its dependence (per dataset: the spread of the answer rate over
    celebrities and the real-vs-deepfake confidence copula) and the recognizer whose view orders its answers."""

    model: VendorModel
    recognizer: str
    dependence: Mapping[str, Dependence] = field(default_factory=dict)

    def dependence_for(self, dataset: str) -> Dependence | None:
        return self.dependence.get(dataset) if dataset in self.model.datasets else self.dependence.get(POOLED)


def skeleton(world: World, probes: SimProbes, ids: np.ndarray) -> pd.DataFrame:
    """The world's probes of one dataset as the study table's probe columns (one real image per probe)."""
    names = np.array(world.celebrities.names, dtype=object)
    spec = probes.spec
    target, other = names[probes.target], names[probes.other]
    blend = spec.method == "synthesis"
    with_ref = spec.name in WITH_REFERENCE and not blend
    return pd.DataFrame({
        "dataset": spec.name, "source": SOURCE, "method": spec.method, "probe_id": ids, "deepfake": ids + ":fake",
        "target": target, "references": target + "|" + other if blend else other,
        "ref_label": other if with_ref else "", "celebrity": target,
        "real_person": target, "real_image": ids + ":target",
    })


def target_closeness(world: World, view: View, probes: SimProbes) -> np.ndarray:
    """Each deepfake's best cosine to its target's gallery photos, in ``view``."""
    per = world.params.gallery_photos
    gallery = view.gallery_embeddings.reshape(world.params.celebrities, per, -1)
    return np.einsum("nd,npd->np", probes.fake, gallery[probes.target]).max(axis=1)


def _outcomes(rows: pd.DataFrame) -> np.ndarray:
    name = rows["fake_name"].to_numpy(dtype=object)
    as_target = (name != "") & ((name == rows["target_name"].to_numpy(dtype=object))
                                | (name == rows["target2_name"].to_numpy(dtype=object)))
    ref = np.array([r if r else "\0" for r in rows["ref_label"].to_numpy(dtype=object)], dtype=object)
    as_ref = (name != "") & ~as_target & (name == ref)
    return np.where(name == "", "", np.where(as_target, "target", np.where(as_ref, "reference", "other")))


def couple_to_view(rows: pd.DataFrame, closeness: np.ndarray) -> pd.DataFrame:
    """``rows`` with their deepfake answers re-ordered by ``closeness`` (see the module notes)."""
    out = rows.copy()
    outcome = _outcomes(rows)
    name = rows["fake_name"].to_numpy(dtype=object)
    conf = rows["fake_conf"].to_numpy(dtype=np.float64)
    sim = rows["similarity"].to_numpy(dtype=np.float64)
    t1 = rows["target_name"].to_numpy(dtype=object)
    t2 = rows["target2_name"].to_numpy(dtype=object)
    ref = rows["ref_label"].to_numpy(dtype=object)
    known = (t1 != "") | (t2 != "")
    new_name, new_conf, new_sim = name.copy(), conf.copy(), sim.copy()
    for condition in (True, False):
        idx = np.flatnonzero(known == condition)
        if len(idx) == 0:
            continue
        strength = np.where(name[idx] != "", np.nan_to_num(conf[idx], nan=0.0), -1.0)
        answers = idx[np.argsort(-strength, kind="stable")]
        probes = idx[np.argsort(-closeness[idx], kind="stable")]
        for src, dst in zip(answers, probes, strict=True):
            o = outcome[src]
            if o == "target":
                given = t1[dst] or t2[dst]
            elif o == "reference":
                given = ref[dst]
            elif o == "other":
                given = name[src]
                if given in (t1[dst], t2[dst], ref[dst]):
                    given = f"someone else #{dst}"
            else:
                given = ""
            new_name[dst], new_conf[dst], new_sim[dst] = given, conf[src], sim[src]
    out["fake_name"] = new_name
    out["fake_conf"] = new_conf
    out["similarity"] = new_sim
    return out


def model_rows(world: World, probes: SimProbes, ids: np.ndarray, vendor: str, answers: ModelAnswers,
               seed: int) -> pd.DataFrame:
    rows = sample_table(answers.model, probes.spec.name, skeleton(world, probes, ids),
                        seed=[seed, registry.names().index(vendor) if vendor in registry.names() else 99],
                        known="share", dependence=answers.dependence_for(probes.spec.name))
    view = world.view(answers.recognizer) or world.views[world.params.recognizer]
    seen = view.datasets[[d.spec.name for d in world.datasets].index(probes.spec.name)]
    rows = couple_to_view(rows, target_closeness(world, view, seen))
    rows["source"] = SOURCE
    return rows[[*COLUMN_NAMES, *STUDY_COLUMNS]]


def simulate_with_models(params: SimulationParams, models: Mapping[str, VendorModel],
                         vendors: Sequence[str] | None = None,
                         dependence: Mapping[str, Mapping[str, Dependence]] | None = None,
                         progress: Callable[[int, int], None] | None = None) -> Simulation:
    """Build the world and answer every probe: vendors in ``models`` from their fitted model (coupled
    to their recognizer's view), the others through the mock behaviour code. The fitted vendors' rows
    also have the study's columns (:data:`harness.vendorfit.sample.STUDY_COLUMNS`), so
    :mod:`harness.study`'s tables (e.g. the outcome split) run on them."""
    vendors = list(registry.names() if vendors is None else vendors)
    recognizers = {v: load_profile(v).recognizer for v in vendors}
    step = StepCounter(World.build_steps(params, set(recognizers.values())) + len(vendors) * len(params.datasets),
                       progress)
    world = World(params, set(recognizers.values()), step)
    behaving = vendor_behaviours(world, [v for v in vendors if v not in models])
    ids = [probe_ids(p) for p in world.datasets]
    frames = []
    for v in vendors:
        for k, (ref_probes, pid) in enumerate(zip(world.datasets, ids, strict=True)):
            if v in models:
                answers = ModelAnswers(models[v], recognizers[v], (dependence or {}).get(v, {}))
                frames.append(model_rows(world, ref_probes, pid, v, answers, params.seed * 1000 + k))
            else:
                beh = behaving[v]
                probes = vendor_view(world, beh.profile).datasets[k]
                frames.append(pd.DataFrame(dataset_rows(world, probes, beh, pid)))
            step()
    table = pd.concat(frames, ignore_index=True)
    for column in STUDY_COLUMNS:  # the fitted vendors' rows carry the study's columns; the others none
        if column in table.columns and column != "real_conf":
            table[column] = table[column].fillna("").astype(str)
    return Simulation(world, behaving, validate_results(table, "<simulation>"), ids)


def apply_thresholds(results: pd.DataFrame, overrides: Mapping[str, Mapping[str, object]]) -> pd.DataFrame:
    """Hide the answers of vendors with a ``report_threshold`` override below it (vendor scale), on the
    deepfakes and the real reference images, as the vendor's reporting rule would."""
    out = results.copy()
    for vendor, ov in overrides.items():
        if "report_threshold" not in ov:
            continue
        tau = float(ov["report_threshold"]) * 100.0 / registry.get(vendor).scale  # type: ignore[arg-type]
        rows = (out["vendor"] == vendor).to_numpy()
        for name, conf in (("fake_name", "fake_conf"), ("target_name", "target_conf"),
                           ("target2_name", "target2_conf")):
            low = rows & (pd.to_numeric(out[conf], errors="coerce").to_numpy() < tau)
            out.loc[low, name] = ""
            out.loc[low, conf] = np.nan
    return out


def profile_set_models(profile_set: str, vendors: Sequence[str]
                       ) -> tuple[dict[str, VendorModel], dict[str, dict[str, Dependence]]]:
    """The fitted models (and their dependence) of ``vendors`` in a named profile set; none for ``default``.
    An unknown set is a :class:`mockvendors.profile.ProfileError`."""
    from mockvendors.profile import DEFAULT_SET, NAMED_SETS, ProfileError

    models: dict[str, VendorModel] = {}
    deps: dict[str, dict[str, Dependence]] = {}
    if profile_set == DEFAULT_SET:
        return models, deps
    if profile_set not in NAMED_SETS:
        names = ", ".join([DEFAULT_SET, *NAMED_SETS])
        raise ProfileError(f"unknown profile set {profile_set!r}; choose one of {names}")
    for v in vendors:
        profile = load_profile(v, profile_set)
        model = profile.fitted_model()
        if model is not None:
            models[v] = model
            deps[v] = dependence_from_dict((profile.behaviour_model or {}).get("dependence"))
    return models, deps
