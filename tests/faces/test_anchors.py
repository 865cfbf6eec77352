"""Each recognizer's anchors (different / same person cosines) and carrying a calibration between scales."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.faces.anchors import Anchors, measure_anchors, photo_set, to_scale
from harness.faces.registry import RECOGNIZERS, anchors, pipeline_for
from harness.models import ModelsNotInstalledError, demo_image_paths
from mockvendors.profile import LogisticCalibration, PiecewiseLinearCalibration, rescale_calibration

REF = Anchors(impostor=0.15, genuine=0.79)
DLIB = Anchors(impostor=0.875, genuine=0.969)


@pytest.mark.models
@pytest.mark.parametrize("name", list(RECOGNIZERS))
def test_the_recorded_anchors_are_what_the_installed_model_measures(models, shared_data, name):
    try:
        photos = photo_set(shared_data, demo_image_paths())
        measured = measure_anchors(pipeline_for(name), photos)
    except ModelsNotInstalledError as exc:
        pytest.skip(str(exc))
    assert (measured.pairs_genuine, measured.pairs_impostor) == (3, 117)
    recorded = anchors(name)
    assert measured.impostor == pytest.approx(recorded.impostor, abs=0.005)
    assert measured.genuine == pytest.approx(recorded.genuine, abs=0.005)
    # every recognizer separates the anchor photos: the same person above every different pair
    assert measured.genuine_min > measured.impostor_max


def test_the_anchors_map_onto_each_other():
    assert to_scale(REF.impostor, REF, DLIB) == pytest.approx(DLIB.impostor)
    assert to_scale(REF.genuine, REF, DLIB) == pytest.approx(DLIB.genuine)
    assert to_scale(to_scale(0.4, REF, DLIB), DLIB, REF) == pytest.approx(0.4)


@given(st.floats(-0.5, 1.0), st.floats(0.1, 0.7), st.floats(0.01, 0.2))
def test_a_carried_logistic_gives_the_same_confidence_on_the_matched_cosine(cos, midpoint, width):
    cal = LogisticCalibration(midpoint, width)
    carried = rescale_calibration(cal, REF, DLIB)
    assert isinstance(carried, LogisticCalibration)
    assert float(carried(np.array([to_scale(cos, REF, DLIB)]))[0]) == pytest.approx(float(cal(np.array([cos]))[0]),
                                                                                     abs=1e-9)


def test_a_carried_piecewise_calibration_moves_its_knots():
    cal = PiecewiseLinearCalibration((0.2, 0.5, 0.8), (0.0, 0.5, 1.0))
    carried = rescale_calibration(cal, REF, DLIB)
    assert isinstance(carried, PiecewiseLinearCalibration)
    assert carried.fractions == cal.fractions
    assert np.allclose(carried.cosines, to_scale(np.array(cal.cosines), REF, DLIB))
