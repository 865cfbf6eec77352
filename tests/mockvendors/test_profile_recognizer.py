"""A profile names the face models its vendor answers from; vendors with different models get their own."""

from __future__ import annotations

import numpy as np
import pytest

from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
from mockvendors.behaviour import behaviours
from mockvendors.gallery import Gallery, GalleryError, resolve_gallery
from mockvendors.profile import ProfileError, load_profile


def test_a_profile_without_models_uses_the_default_pair():
    for vendor in ("aws", "ms", "nav"):
        p = load_profile(vendor)
        assert (p.recognizer, p.detector) == ("faceplugin", "faceplugin")


def test_a_profile_names_its_recognizer_and_an_unknown_one_is_refused():
    p = load_profile("aws", {"recognizer": "dlib_resnet", "detector": "mtcnn"})
    assert (p.recognizer, p.detector) == ("dlib_resnet", "mtcnn")
    with pytest.raises(ProfileError, match="recognizer must be one of faceplugin, mobilefacenet, dlib_resnet"):
        load_profile("ms", {"recognizer": "arcface9"})
    with pytest.raises(ProfileError, match="detector must be one of faceplugin, mtcnn"):
        load_profile("ms", {"detector": "retina"})


def test_an_analyzer_running_other_models_is_refused():
    an = CachingAnalyzer(PipelineAnalyzer())
    gallery = Gallery([], np.zeros((0, 4), np.float32), np.zeros(0, int), [], model_id="unknown")
    with pytest.raises(ProfileError, match="names recognizer 'dlib_resnet'.*pass no analyzer"):
        behaviours(["aws"], gallery, an, {"aws": {"recognizer": "dlib_resnet"}})


def test_a_gallery_enrolled_with_another_model_is_refused():
    class Fake:
        model_id = "mobilefacenet.tflite:5233396"

    gallery = Gallery([], np.zeros((0, 4), np.float32), np.zeros(0, int), [], model_id="fr_feature.onnx:1")
    with pytest.raises(GalleryError, match="enrolled with fr_feature.onnx:1, but this vendor's recognizer is mobile"):
        resolve_gallery(gallery, Fake())  # type: ignore[arg-type]
    Fake.model_id = "fr_feature.onnx:1"
    assert resolve_gallery(gallery, Fake()) is gallery  # type: ignore[arg-type]


@pytest.mark.models
def test_vendors_with_different_recognizers_answer_from_different_models(models, shared_data):
    photos = {"Barack Obama": [str(shared_data / "faces" / f) for f in ("obama.jpg", "obama2.jpg")],
              "Joe Biden": [str(shared_data / "faces" / "biden.jpg")]}
    probe = (shared_data / "faces" / "obama3.jpg").read_bytes()
    by_vendor = behaviours(["aws", "ms"], None, None, {"ms": {"recognizer": "dlib_resnet"}})
    # no gallery given: each model pair enrols the demo gallery itself; use a real one instead
    by_vendor = {
        v: type(b)(b.profile, Gallery.enrol(photos, b.analyzer), b.analyzer) for v, b in by_vendor.items()
    }
    aws, ms = by_vendor["aws"], by_vendor["ms"]
    assert aws.analyzer is not ms.analyzer
    assert aws.gallery.dim == 512 and ms.gallery.dim == 128
    assert aws.recognize(probe).named[0].identity.name == "Barack Obama"
    assert ms.recognize(probe).named[0].identity.name == "Barack Obama"
