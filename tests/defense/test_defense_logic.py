"""DD1/DD2/DD3 logic and the vendor wrapper, with hypothesis over detectors, thresholds and images."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from harness.defense.policy import DD1, DD2, DD3, PolicyError, StackingCombiner, train_dd3
from harness.defense.wrapper import DefendedVendor, DefenseError
from harness.detectors import DetectorSpecError, ImageTruth, SimulatedDetector, UnscorableImageError, image_key
from harness.vendors.base import Recognition, RecognizedFace, Vendor


class TableVendor:
    """A test double: answers from a table image -> (name, confidence); unknown images: no face named."""

    name = "aws"
    supports_similarity = False

    def __init__(self, answers: dict[bytes, tuple[str | None, float]]):
        self.answers = answers
        self.seen: list[bytes] = []

    def recognize(self, image: bytes) -> Recognition:
        self.seen.append(image)
        name, conf = self.answers.get(image, (None, 0.0))
        return Recognition((RecognizedFace(name, conf if name else 0.0, conf),))

    def similarity(self, image_a: bytes, image_b: bytes) -> float | None:
        return None


class FixedDetector:
    def __init__(self, name: str, scores: dict[bytes, float]):
        self.name = name
        self.scores = scores

    def score(self, image: bytes) -> float:
        return self.scores[image]


# no subnormals: the face models' runtime flushes denormals process-wide (FTZ/DAZ), and hypothesis
# refuses to draw floats it cannot represent once another test has loaded them
unit = st.floats(0, 1, allow_subnormal=False)

score_matrices = st.integers(1, 4).flatmap(
    lambda k: st.tuples(
        arrays(np.float64, st.tuples(st.integers(1, 40), st.just(k)), elements=unit),
        st.lists(unit, min_size=k, max_size=k),
    )
)


@given(score_matrices)
def test_dd2_never_passes_more_than_any_single_member(case):
    scores, thresholds = case
    k = scores.shape[1]
    dets = [FixedDetector(f"d{j}", {}) for j in range(k)]
    dd2_pass = ~DD2(dets, thresholds).flags(scores)
    for j in range(k):
        member_pass = ~DD1(dets[j], thresholds[j]).flags(scores[:, [j]])
        assert not (dd2_pass & ~member_pass).any()


@st.composite
def image_sets(draw):
    """Images (distinct byte strings), which are fakes, and the vendor's answer on each."""
    n = draw(st.integers(2, 30))
    images = [f"img-{i}".encode() for i in range(n)]
    is_fake = draw(st.lists(st.booleans(), min_size=n, max_size=n))
    names = draw(st.lists(st.sampled_from([None, "Tom Hanks", "Emma Stone"]), min_size=n, max_size=n))
    confs = draw(st.lists(st.floats(1, 100, allow_subnormal=False), min_size=n, max_size=n))
    return images, is_fake, dict(zip(images, zip(names, confs)))


def _truth(images, is_fake, answers):
    return {image_key(im): ImageTruth(f, quality=answers[im][1]) for im, f in zip(images, is_fake)}


@given(image_sets(), unit, st.integers(0, 1000))
def test_perfect_detector_drives_attack_success_to_zero(case, rho, seed):
    images, is_fake, answers = case
    truth = _truth(images, is_fake, answers)
    perfect = SimulatedDetector("perfect", tpr=1.0, fpr=0.0, truth=truth, correlation=rho, seed=seed)
    vendor = TableVendor(answers)
    defended = DefendedVendor(vendor, DD1(perfect))
    for im, fake in zip(images, is_fake):
        rec = defended.recognize(im)
        if fake:
            assert rec.name is None and rec.faces == ()
        else:
            assert rec == vendor.recognize(im)  # genuine images untouched
    assert defended.blocked_calls == sum(is_fake)
    assert not any(im in vendor.seen for im, f in zip(images, is_fake) if f)  # fakes never reached the vendor


@given(image_sets(), st.integers(0, 1000))
def test_detector_that_flags_nothing_changes_nothing(case, seed):
    images, is_fake, answers = case
    blind = SimulatedDetector("blind", tpr=0.0, fpr=0.0, truth=_truth(images, is_fake, answers), seed=seed)
    for policy in (DD1(blind), DD2([blind, blind])):
        vendor = TableVendor(answers)
        defended = DefendedVendor(vendor, policy)
        for im in images:
            assert defended.recognize(im) == TableVendor(answers).recognize(im)
        assert defended.blocked_calls == 0
        assert vendor.seen == images


@given(image_sets(), unit, unit, unit, unit)
@settings(max_examples=60)
def test_dd2_wrapped_vendor_names_no_more_than_with_any_member(case, tpr1, fpr1, tpr2, fpr2):
    images, is_fake, answers = case
    truth = _truth(images, is_fake, answers)
    a = SimulatedDetector("a", tpr1, fpr1, truth, seed=1)
    b = SimulatedDetector("b", tpr2, fpr2, truth, correlation=0.7, seed=2)

    def named(policy) -> set[bytes]:
        v = DefendedVendor(TableVendor(answers), policy)
        return {im for im in images if v.recognize(im).name}

    both = named(DD2([a, b]))
    assert both <= named(DD1(a)) and both <= named(DD1(b))


def test_simulated_rates_and_correlation():
    n = 4000
    keys = [f"k{i}" for i in range(2 * n)]
    quality = np.random.default_rng(0).uniform(size=n)
    truth = {k: ImageTruth(True, float(q)) for k, q in zip(keys[:n], quality)}
    truth |= {k: ImageTruth(False) for k in keys[n:]}
    indep = SimulatedDetector("x", tpr=0.8, fpr=0.1, truth=truth, correlation=0.0, seed=3)
    fake_flag = indep.score_keys(keys[:n]) >= 0.5
    real_flag = indep.score_keys(keys[n:]) >= 0.5
    assert abs(fake_flag.mean() - 0.8) < 0.03 and abs(real_flag.mean() - 0.1) < 0.02
    # independent detector: misses spread evenly over quality
    assert abs(quality[~fake_flag].mean() - 0.5) < 0.05
    corr = SimulatedDetector("x", tpr=0.8, fpr=0.1, truth=truth, correlation=1.0, seed=3)
    cflag = corr.score_keys(keys[:n]) >= 0.5
    assert abs(cflag.mean() - 0.8) < 0.01
    # fully correlated: it misses exactly the best fifth of the fakes
    assert quality[~cflag].min() > np.quantile(quality, 0.79)


def test_simulated_detector_refuses_unknown_images_and_bad_rates():
    det = SimulatedDetector("x", 0.9, 0.1, {image_key(b"a"): ImageTruth(False)})
    with pytest.raises(UnscorableImageError, match="told nothing"):
        det.score(b"other")
    with pytest.raises(DetectorSpecError):
        SimulatedDetector("x", 1.2, 0.1, {})
    with pytest.raises(DetectorSpecError, match="quality"):
        SimulatedDetector("x", 0.9, 0.1, {"k": ImageTruth(True)}, correlation=0.5)


def test_detector_failure_is_a_vendor_error_not_no_celebrity():
    vendor = TableVendor({b"x": ("Tom Hanks", 99.0)})
    defended = DefendedVendor(vendor, DD1(SimulatedDetector("x", 0.9, 0.1, {})))
    with pytest.raises(DefenseError) as info:
        defended.recognize(b"x")
    assert info.value.code == "DetectorFailed" and vendor.seen == []


def test_defended_vendor_satisfies_the_vendor_protocol():
    v = DefendedVendor(TableVendor({}), DD1(SimulatedDetector("x", 0.9, 0.1, {})))
    assert isinstance(v, Vendor) and v.name == "aws"


def test_dd3_learns_to_trust_the_informative_detector_on_a_held_out_split():
    rng = np.random.default_rng(0)
    n = 600
    y = rng.uniform(size=n) < 0.5
    good = np.clip(np.where(y, 0.8, 0.2) + rng.normal(0, 0.15, n), 0, 1)
    noise1, noise2 = rng.uniform(size=n), rng.uniform(size=n)
    scores = np.column_stack([noise1, good, noise2])
    dets = [FixedDetector(n_, {}) for n_ in ("n1", "good", "n2")]
    dd3 = train_dd3(dets, scores[:300], y[:300])
    assert np.argmax(np.abs(dd3.combiner.coef)) == 1
    acc = (dd3.flags(scores[300:]) == y[300:]).mean()
    single_best = (DD1(dets[1]).flags(scores[300:, [1]]) == y[300:]).mean()
    assert acc >= single_best - 0.02 and acc > 0.9
    again = StackingCombiner.from_json(dd3.combiner.to_json())
    np.testing.assert_allclose(again.predict_proba(scores), dd3.combiner.predict_proba(scores))


def test_dd3_refuses_one_class_training_and_mismatched_detectors():
    dets = [FixedDetector("a", {})]
    with pytest.raises(PolicyError, match="both"):
        train_dd3(dets, np.array([[0.1], [0.9]]), np.array([True, True]))
    comb = StackingCombiner(("a",)).fit(np.array([[0.1], [0.9]]), np.array([False, True]))
    with pytest.raises(PolicyError, match="trained on"):
        DD3([FixedDetector("b", {})], comb)
    with pytest.raises(PolicyError, match="threshold"):
        DD1(dets[0], threshold=1.5)
