"""Draw synthetic vendor answers from a fitted model, as rows of the recorded study table.

:func:`sample_table` takes a *skeleton*: the probes to answer (the recorded rows of a dataset, or
:func:`synthetic_skeleton`'s made-up ones), of which it keeps the probe structure (``target``,
``references``, ``celebrity``, ``ref_label``, ``real_person``, ``real_image``, ``probe_id`` ...) and
replaces every vendor answer with a draw. The rows have the results table's columns
(:data:`harness.results.schema.COLUMN_NAMES`) plus the study columns (``real_person``,
``real_name``, ``real_conf``, ``real_image``, ``video``, ``frame``, ``ref_label``, ``celebrity``,
``vendor_target_name``), so :func:`harness.metrics.compute_metrics`, :mod:`harness.study` and
:mod:`harness.compare.distributions` run on them as on the recorded table. The draw, in order:

1. **Known.** Each person (target, second reference, reference, real-image person) is known to the
   vendor as the model's per-celebrity estimate says (``known="model"``, where the model has seen
   the person) or else with probability ``coverage.share``.
2. **Real images.** Each distinct ``real_image`` of a known person is named with probability
   ``genuine.answer_rate_if_known``, with a confidence from ``genuine.confidence``; a person's
   name is the vendor's name for them (:meth:`DatasetModel.name_of`). A target's (and a blend's
   second reference's) answer is its row's real image when the row's ``real_person`` is the target,
   else the person's answer as the importer derives it (their named images' median confidence),
   drawn afresh for a person with no real image in the skeleton.
3. **Deepfake.** Named with ``deepfake.rate_for(known/unknown target)``; its outcome from the split
   for that condition, with ``target`` impossible when the target's real image is not named and
   ``reference`` impossible without a reference; the name is then the target's (a blend: either
   named reference's), the reference's, or one drawn from the model's pool of other names by its
   counts (a placeholder ``"someone else #k"`` when the pool is empty or the draw is the target's or
   reference's own name); the confidence from that outcome's model.
   With ``dependence`` (:mod:`harness.vendorfit.dependence`): each target celebrity's answer rate
   is drawn from the Beta of its condition's spread around the model's rate (one uniform per
   target, so a celebrity's known and unknown rates are comonotone), and a named deepfake whose
   target's real image was named takes its confidence through the Gaussian copula with that real
   confidence (its normal score among the draw's pairs), where the copula is supported.
4. **Similarity.** Missing with the named/unnamed ``missing`` rate, else a draw; NaN for a vendor
   without a similarity model.

No call fails: every error column is empty. Deterministic for a seed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from harness.results.schema import COLUMN_NAMES, SCHEMA_VERSION
from harness.study.outcomes import OUTCOMES
from harness.vendorfit.dependence import Dependence, normal_scores
from mockvendors.fitted.distributions import from_unit, unit_ppf
from mockvendors.fitted.model import DatasetModel, ScoreModel, VendorModel

SCORE_COLUMNS = ("target_conf", "target2_conf", "fake_conf", "similarity", "real_conf")
STUDY_COLUMNS: tuple[str, ...] = ("real_person", "real_name", "real_conf", "real_image", "video", "frame",
                                  "ref_label", "celebrity", "vendor_target_name")
KNOWN_MODES = ("model", "draw", "share")
DATASET_METHODS = {"CelebDF": "replacement", "FCelebDF": "replacement", "VoxCelebTH": "reenactment",
                   "CelebFOM": "reenactment", "CelebBlend": "synthesis"}
# datasets whose probes record another person the deepfake was made from
WITH_REFERENCE = ("CelebDF", "CelebFOM")


def _text(table: pd.DataFrame, column: str, default: np.ndarray | None = None) -> np.ndarray:
    if column not in table.columns:
        return np.full(len(table), "", dtype=object) if default is None else default
    return table[column].fillna("").astype(str).to_numpy(dtype=object)


def synthetic_skeleton(dataset: str, n_celebrities: int, probes_per_celebrity: int, seed: int | Sequence[int],
                       method: str | None = None) -> pd.DataFrame:
    """Made-up probes: ``n_celebrities`` targets ``"celebrity #i"``, each with one real image.

    A blend's second reference, and the reference person of the datasets that record one
    (:data:`WITH_REFERENCE`), is another of the celebrities, drawn at random.
    """
    if n_celebrities < 2 or probes_per_celebrity < 1:
        raise ValueError("a synthetic skeleton needs at least 2 celebrities and 1 probe each")
    rng = np.random.default_rng(seed)
    method = method or DATASET_METHODS.get(dataset, "unknown")
    people = np.array([f"celebrity #{i:03d}" for i in range(n_celebrities)], dtype=object)
    target_i = np.repeat(np.arange(n_celebrities), probes_per_celebrity)
    other_i = (target_i + rng.integers(1, n_celebrities, len(target_i))) % n_celebrities
    target, other = people[target_i], people[other_i]
    blend = method == "synthesis"
    with_ref = dataset in WITH_REFERENCE
    references = target + "|" + other if blend else (other if with_ref else np.full(len(target), "", dtype=object))
    probe_id = np.array([f"{dataset}/{t}/{k}" for t, k in zip(target, np.tile(np.arange(probes_per_celebrity),
                                                                                n_celebrities))], dtype=object)
    return pd.DataFrame({
        "dataset": dataset, "source": "vendorfit:synthetic", "method": method, "probe_id": probe_id,
        "deepfake": probe_id, "target": target, "references": references,
        "ref_label": other if (with_ref and not blend) else "", "celebrity": target,
        "real_person": target, "real_image": target,
    })


def _draw(model: ScoreModel | None, rng: np.random.Generator, size: int) -> np.ndarray:
    if size == 0:
        return np.zeros(0)
    if model is None:
        return np.full(size, np.nan)
    return model.sample(rng, size)


def _quantile(model: ScoreModel, q: np.ndarray) -> np.ndarray:
    """Scores at probabilities ``q`` of ``model`` (on its reporting grid), as its sampler would draw them."""
    x = from_unit(unit_ppf(model.family, model.params, q), model.lower, model.upper)
    if model.step is not None:
        x = np.round(x / model.step) * model.step
    return np.clip(x, model.lower, model.upper)


def _known_people(dm: DatasetModel, people: list[str], rng: np.random.Generator, known: str) -> dict[str, bool]:
    draws = rng.random(len(people))
    if known == "share":  # exactly the fitted share of the people, chosen at random
        k = int(round(dm.coverage.share.p * len(people)))
        chosen = set(np.argsort(draws, kind="stable")[:k].tolist())
        return {p: i in chosen for i, p in enumerate(people)}
    out = {}
    for p, u in zip(people, draws):
        if known == "model" and p in dm.coverage.known:
            out[p] = dm.coverage.known[p]
        else:
            out[p] = bool(u < dm.coverage.share.p)
    return out


def _target_image_rate(dm: DatasetModel, q: float) -> float:
    """P(a known target's real image is named): the recorded share of probes whose target's image was
    named, over the coverage share; ``q`` (every real image's rate) where the model has no such counts."""
    rates = dm.deepfake.answer_rate_by_target
    known, unknown = rates.get("known"), rates.get("unknown")
    n_known = known.n if known is not None and known.n is not None else None
    n_unknown = unknown.n if unknown is not None and unknown.n is not None else 0
    if not n_known or dm.deepfake.n <= 0:
        return q
    share = n_known / (n_known + n_unknown)
    return float(min(1.0, share / max(dm.coverage.share.p, 1e-9)))


def _centred(p: np.ndarray, mean: float) -> np.ndarray:
    """``p`` shifted on the logit scale so that its mean is ``mean`` (the spread kept, the level fixed)."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    if not 0.0 < mean < 1.0:
        return np.full_like(p, mean)
    logit = np.log(p / (1 - p))
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if np.mean(1 / (1 + np.exp(-(logit + mid)))) < mean:
            lo = mid
        else:
            hi = mid
    return np.asarray(1 / (1 + np.exp(-(logit + (lo + hi) / 2))), dtype=np.float64)


def sample_table(model: VendorModel, dataset: str, skeleton: pd.DataFrame | None = None, *,
                 seed: int | Sequence[int], known: str = "model", n_celebrities: int = 50,
                 probes_per_celebrity: int = 20, dependence: Dependence | None = None) -> pd.DataFrame:
    """Synthetic answers of ``model``'s vendor to the probes of ``skeleton`` (see the module notes).

    ``dataset`` picks the dataset model (the pooled one where the vendor was not fitted on it).
    Without a skeleton, :func:`synthetic_skeleton` with ``n_celebrities`` x ``probes_per_celebrity``.
    ``known="draw"`` ignores the model's per-celebrity known/unknown estimates (every person is
    drawn from the coverage share), as validation on held-out celebrities does; ``known="share"`` makes
    exactly the coverage share of the people known and keeps each condition's deepfake answer rate at the
    model's (the per-celebrity spread re-centred on it): the simulation's "a world like the study's", whose
    aggregates are the fitted ones up to the probes' own binomial noise. ``dependence``: the
    per-celebrity rate spread and confidence copula of the dataset (None: independent answers).
    """
    if known not in KNOWN_MODES:
        raise ValueError(f"known must be one of {KNOWN_MODES}, not {known!r}")
    dm = model.dataset(dataset)
    rng = np.random.default_rng(seed)
    sk = skeleton if skeleton is not None else synthetic_skeleton(dataset, n_celebrities, probes_per_celebrity,
                                                                  int(rng.integers(0, 2**32)))
    sk = sk.reset_index(drop=True)
    n = len(sk)
    target = _text(sk, "target")
    refs = _text(sk, "references")
    method = _text(sk, "method", np.full(n, DATASET_METHODS.get(dataset, "unknown"), dtype=object))
    parts = [r.partition("|") for r in refs]
    second = np.array([p[2] for p in parts], dtype=object)
    blend = (method == "synthesis") | (second != "")
    ref_label = _text(sk, "ref_label", np.where(blend, "", np.array([p[0] for p in parts], dtype=object)))
    real_person = _text(sk, "real_person", target)
    real_image = _text(sk, "real_image", real_person)

    # 1. who the vendor knows
    people = sorted(set(target) | set(second[blend]) | set(ref_label) | set(real_person) - {""})
    is_known = _known_people(dm, people, rng, known)

    # 2. real images, then each person's answer
    genuine = dm.genuine
    q = genuine.answer_rate_if_known.p if genuine.answer_rate_if_known is not None else genuine.answer_rate.p
    images, image_of_row = np.unique(real_image.astype(str), return_inverse=True)
    first_row = np.zeros(len(images), dtype=np.int64)
    first_row[image_of_row[::-1]] = np.arange(n)[::-1]
    image_person = real_person[first_row]
    # a target's real image is named at the rate the records show for targets (in CelebDF every target's
    # image was, while the reference videos' real images were named less often)
    # and the other real images less often, so that every real image together keeps the fitted rate q
    is_target_image = np.isin(image_person, list(set(target) | set(second[blend])))
    q_target = _target_image_rate(dm, q)
    others = int((~is_target_image).sum())
    q_other = q if others == 0 else float(np.clip((q * len(images) - q_target * (len(images) - others)) / others,
                                                  0.0, 1.0))
    q_image = np.where(is_target_image, q_target, q_other)
    image_named = np.array([is_known.get(p, False) for p in image_person], dtype=bool) & (rng.random(len(images))
                                                                                          < q_image)
    image_conf = np.full(len(images), np.nan)
    image_conf[image_named] = _draw(genuine.confidence, rng, int(image_named.sum()))
    per_person = pd.DataFrame({"person": image_person[image_named], "conf": image_conf[image_named]})
    person_conf = per_person.groupby("person")["conf"].median().to_dict()
    person_named = {p: p in person_conf for p in set(image_person)}
    missing = [p for p in people if p not in person_named]
    fresh_named = np.array([is_known[p] for p in missing], dtype=bool) & (rng.random(len(missing)) < q)
    fresh_conf = _draw(genuine.confidence, rng, int(fresh_named.sum()))
    for p, c in zip(np.array(missing, dtype=object)[fresh_named], fresh_conf):
        person_conf[str(p)] = float(c)
    for p, named in zip(missing, fresh_named):
        person_named[p] = bool(named)

    def answer(persons: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        named = np.array([person_named.get(p, False) for p in persons], dtype=bool)
        names = np.array([dm.name_of(p) if m else "" for p, m in zip(persons, named)], dtype=object)
        conf = np.array([person_conf[p] if m else np.nan for p, m in zip(persons, named)], dtype=np.float64)
        return names, conf

    real_name = np.where(image_named, np.array([dm.name_of(p) for p in image_person], dtype=object), "")[image_of_row]
    real_conf = image_conf[image_of_row]
    own = real_person == target
    person_name, person_c = answer(target)
    target_name = np.where(own, real_name, person_name)
    target_conf = np.where(own, real_conf, person_c)
    second_name, second_conf = answer(second)
    target2_name = np.where(blend, second_name, "")
    target2_conf = np.where(blend, second_conf, np.nan)

    # 3. the deepfake
    deepfake = dm.deepfake
    t1, t2 = target_name != "", target2_name != ""
    target_known = t1 | t2
    p_named = np.where(target_known, deepfake.rate_for("known"), deepfake.rate_for("unknown"))
    u_named = rng.random(n)
    if dependence is not None and dependence.spread:
        targets, target_of_row = np.unique(target.astype(str), return_inverse=True)
        v = rng.random(len(targets))[target_of_row]
        for condition, mask in (("known", target_known), ("unknown", ~target_known)):
            spread = dependence.spread.get(condition)
            ab = spread.beta(deepfake.rate_for(condition)) if spread is not None else None
            if ab is not None and mask.any():
                p_named = np.where(mask, stats.beta.ppf(v, ab[0], ab[1]), p_named)
    if known == "share":
        for condition, mask in (("known", target_known), ("unknown", ~target_known)):
            if mask.any():
                p_named = p_named.astype(np.float64, copy=True)
                p_named[mask] = _centred(p_named[mask], deepfake.rate_for(condition))
    named = u_named < p_named
    ref_name = np.array([dm.name_of(r) if r else "" for r in ref_label], dtype=object)
    shares = {c: np.array([deepfake.split_for(c).share(o) for o in OUTCOMES]) for c in ("known", "unknown")}
    probs = np.where(target_known[:, None], shares["known"][None, :], shares["unknown"][None, :])
    probs[~target_known, 0] = 0.0
    probs[ref_name == "", 1] = 0.0
    total = probs.sum(axis=1)
    probs[total <= 0, 2] = 1.0
    probs /= probs.sum(axis=1, keepdims=True)
    pick = (rng.random(n)[:, None] > np.cumsum(probs, axis=1)[:, :-1]).sum(axis=1)
    outcome = np.array(OUTCOMES, dtype=object)[pick]

    either = rng.random(n) < 0.5
    as_target = np.where(t1 & t2, np.where(either, target_name, target2_name), np.where(t1, target_name, target2_name))
    pool = sorted(dm.other_names.items())
    if pool:
        weights = np.array([c for _, c in pool], dtype=np.float64)
        drawn = rng.choice(len(pool), size=n, p=weights / weights.sum())
        other = np.array([pool[i][0] for i in drawn], dtype=object)
    else:
        drawn = rng.integers(0, 1000, n)
        other = np.array([""] * n, dtype=object)
    clash = (other == "") | (other == target_name) | (other == target2_name) | (other == ref_name)
    other = np.where(clash, np.array([f"someone else #{k}" for k in drawn], dtype=object), other)
    fake_name = np.where(outcome == "target", as_target, np.where(outcome == "reference", ref_name, other))
    fake_name = np.where(named, fake_name, "")
    fake_conf = np.full(n, np.nan)
    rho = dependence.copula.used_rho if dependence is not None and dependence.copula is not None else 0.0
    ref_conf = np.maximum(np.nan_to_num(np.where(t1, target_conf, 0.0)), np.nan_to_num(np.where(t2, target2_conf, 0.0)))
    paired = named & (ref_conf > 0) if rho else np.zeros(n, dtype=bool)
    if paired.any():
        z = np.zeros(n)
        z[paired] = rho * normal_scores(ref_conf[paired]) + np.sqrt(1.0 - rho * rho) * rng.standard_normal(
            int(paired.sum()))
    for o in OUTCOMES:
        rows = named & (outcome == o)
        conf_model = deepfake.confidence_for(o)
        alone = rows & ~paired
        fake_conf[alone] = _draw(conf_model, rng, int(alone.sum()))
        coupled = rows & paired
        if coupled.any() and conf_model is not None:
            fake_conf[coupled] = _quantile(conf_model, stats.norm.cdf(z[coupled]))

    # 4. similarity
    similarity = np.full(n, np.nan)
    for condition, rows in (("named", named), ("unnamed", ~named)):
        sm = deepfake.similarity.get(condition)
        if sm is None:
            continue
        scored = rows & (rng.random(n) >= sm.missing.p)
        similarity[scored] = _draw(sm.scores, rng, int(scored.sum()))

    columns: dict[str, object] = {
        "schema_version": np.full(n, SCHEMA_VERSION, dtype=np.int64),
        "dataset": np.full(n, dataset, dtype=object),
        "source": _text(sk, "source", np.full(n, "vendorfit:synthetic", dtype=object)),
        "method": method,
        "probe_id": _text(sk, "probe_id", np.array([f"{dataset}/{i}" for i in range(n)], dtype=object)),
        "vendor": np.full(n, model.vendor, dtype=object),
        "deepfake": _text(sk, "deepfake", _text(sk, "probe_id")),
        "target": target, "references": refs,
        "target_name": target_name, "target_conf": target_conf, "target_error": "",
        "target2_name": target2_name, "target2_conf": target2_conf, "target2_error": "",
        "fake_name": fake_name, "fake_conf": fake_conf, "fake_error": "",
        "similarity": similarity, "similarity_error": "",
        "real_person": real_person, "real_name": real_name, "real_conf": real_conf, "real_image": real_image,
        "video": _text(sk, "video"), "frame": _text(sk, "frame"), "ref_label": ref_label,
        "celebrity": _text(sk, "celebrity", target), "vendor_target_name": target_name,
    }
    out = pd.DataFrame({c: (np.full(n, v, dtype=object) if isinstance(v, str) else v) for c, v in columns.items()})
    for c in out.columns:
        if c not in SCORE_COLUMNS and c != "schema_version":
            out[c] = out[c].astype("str")
    return out[[*COLUMN_NAMES, *STUDY_COLUMNS]]
