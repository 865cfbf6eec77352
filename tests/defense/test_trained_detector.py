"""The trained spectrum detector: features, training on the project's own deepfakes with a
person-disjoint split, the saved model, and its report on the study's samples."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from harness.defense import trained_detector as td
from harness.errors import InputFileError


@pytest.fixture(scope="module")
def photos(models, shared_data):
    got = td.training_photos(shared_data)
    assert len({p for p, _ in got}) >= 8  # Tom Hanks, six t1 faces, Obama, Biden, the Azure photo ...
    return got


@pytest.fixture(scope="module")
def small_samples(photos):
    # one photo per person for speed: 6 people -> 30 ordered pairs per family
    by_person = {}
    for person, img in photos:
        by_person.setdefault(person, img)
    chosen = sorted(by_person.items())[:6]
    return chosen, td.build_samples(chosen, real_copies=4, seed=1)


def test_features_are_deterministic_and_see_blur(models, photos):
    img = photos[0][1]
    box = td.largest_face_box(img, td.NAME)
    f1, f2 = td.spectrum_features(img, box), td.spectrum_features(img, box)
    assert f1.shape == (23 + 15 + 2 + 3 + 2,) and np.isfinite(f1).all()
    np.testing.assert_array_equal(f1, f2)
    blurred = cv2.GaussianBlur(img, (0, 0), 2.0)
    fb = td.spectrum_features(blurred, box)
    assert fb[15:23].mean() < f1[15:23].mean() - 1.0  # high-frequency rings lose power
    assert fb[23 + 16] < f1[23 + 16] - 1.0  # interior sharpness (log Laplacian variance)
    # blurring only the face (as a resampled, pasted face is) lowers its sharpness relative to the ring
    x1, y1, x2, y2 = (int(v) for v in box)
    pasted = img.copy()
    pasted[y1:y2, x1:x2] = cv2.GaussianBlur(img[y1:y2, x1:x2], (0, 0), 1.5)
    fp = td.spectrum_features(pasted, box)
    assert fp[23 + 15] < f1[23 + 15] - 0.5


def test_no_face_is_a_detector_error_not_a_score(models):
    from harness.detectors import UnscorableImageError

    blank = np.full((200, 200, 3), 127, np.uint8)
    ok, png = cv2.imencode(".png", blank)
    det = td.SpectrumDetector(td.SpectrumModel(np.zeros(45), np.ones(45), np.zeros(45), 0.0))
    with pytest.raises(UnscorableImageError):
        det.score(png.tobytes())
    with pytest.raises(UnscorableImageError):
        det.score(b"not an image")


def test_training_learns_and_the_held_out_split_is_person_disjoint(small_samples):
    chosen, s = small_samples
    assert s.y.sum() > 50 and (~s.y).sum() >= 20
    folds = td.person_folds([p for p, _ in chosen], 3)
    for test_people in folds:
        train, test = td.held_out_split(s, test_people)
        assert not any(s.people[i] & test_people for i in np.flatnonzero(train))
        assert all(s.people[i] <= test_people for i in np.flatnonzero(test))
    model = td.fit_model(s.X, s.y)
    report = td.scores_report(model.proba(s.X), s.y)
    assert report["auc"] > 0.8  # it fits its own training data


def test_model_json_round_trip_and_bad_file(small_samples, tmp_path):
    _, s = small_samples
    model = td.fit_model(s.X, s.y)
    again = td.SpectrumModel.from_json(model.to_json())
    np.testing.assert_allclose(again.proba(s.X), model.proba(s.X))
    assert len(model.to_json()) < 8000  # a few KB
    with pytest.raises(InputFileError, match="bad spectrum_lr model"):
        td.SpectrumModel.from_json('{"kind": "something else"}', "x.json")


def test_scores_report_against_known_cases():
    y = np.array([1, 1, 1, 0, 0, 0], bool)
    perfect = td.scores_report(np.array([0.9, 0.8, 0.7, 0.1, 0.2, 0.3]), y)
    assert perfect["auc"] == 1.0 and perfect["eer"] == 0.0 and perfect["accuracy"] == 1.0
    inverted = td.scores_report(np.array([0.1, 0.2, 0.3, 0.9, 0.8, 0.7]), y)
    assert inverted["auc"] == 0.0 and inverted["accuracy"] == 0.0
    one_off = td.scores_report(np.array([0.9, 0.8, 0.2, 0.1, 0.6, 0.3]), y)
    assert one_off["tpr"] == pytest.approx(2 / 3) and one_off["fpr"] == pytest.approx(1 / 3)
    assert one_off["eer"] == pytest.approx(1 / 3)


def test_paper_samples_are_scored_and_never_in_training(small_samples, shared_data, photos):
    _, s = small_samples
    det = td.SpectrumDetector(td.fit_model(s.X, s.y))
    report = td.evaluate_paper_samples(det, shared_data)
    assert report["all"]["n_fake"] + len(report["failed"]) >= 26
    assert report["all"]["n_real"] >= 4
    assert 0.0 <= report["all"]["auc"] <= 1.0
    names = {p for p, _ in photos}
    assert not any("FaceApp" in n or n.endswith(("_real", "_fake")) for n in names)
