"""A profile names the face models its vendor answers from; vendors with different models get their own."""

from __future__ import annotations

import numpy as np
import pytest

from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
from mockvendors.behaviour import behaviours
from mockvendors.gallery import Gallery, GalleryError, resolve_gallery
from mockvendors.profile import ProfileError, load_profile


def test_the_three_vendors_answer_from_three_recognizers():
    models = {v: (load_profile(v).recognizer, load_profile(v).detector) for v in ("aws", "ms", "nav")}
    assert models == {"aws": ("faceplugin", "faceplugin"), "ms": ("mobilefacenet", "faceplugin"),
                      "nav": ("dlib_resnet", "faceplugin")}


def test_a_profile_without_models_uses_the_default_pair():
    from mockvendors.profile import default_profile_dict, profile_from_dict

    d = default_profile_dict("ms")
    del d["recognizer"], d["detector"]
    p = profile_from_dict(d)
    assert (p.recognizer, p.detector) == ("faceplugin", "faceplugin")


@pytest.mark.parametrize(("vendor", "recognition", "similarity"), [
    ("aws", (0.41, 0.05), (0.40, 0.05)), ("ms", (0.41, 0.045), (0.40, 0.06)), ("nav", (0.45, 0.07), None)])
def test_the_calibrations_are_the_reference_choices_carried_to_each_recognizer(vendor, recognition, similarity):
    """Carried back to the reference (faceplugin) scale through the anchors, every built-in calibration is
    the faceplugin-scale choice documented in mockvendors/README.md."""
    ref = load_profile(vendor).on_scale_of("faceplugin")
    assert (ref.calibration.midpoint, ref.calibration.width) == pytest.approx(recognition, abs=2e-4)
    if similarity is None:
        assert ref.similarity is None
    else:
        sim = ref.similarity.calibration
        assert (sim.midpoint, sim.width) == pytest.approx(similarity, abs=2e-4)


def test_a_profile_names_its_recognizer_and_an_unknown_one_is_refused():
    p = load_profile("aws", {"recognizer": "dlib_resnet", "detector": "mtcnn"})
    assert (p.recognizer, p.detector) == ("dlib_resnet", "mtcnn")
    with pytest.raises(ProfileError, match="recognizer must be one of faceplugin, mobilefacenet, dlib_resnet"):
        load_profile("ms", {"recognizer": "arcface9"})
    with pytest.raises(ProfileError, match="detector must be one of faceplugin, mtcnn"):
        load_profile("ms", {"detector": "retina"})


def test_saved_embeddings_of_another_model_are_refused(tmp_path):
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
    default = CachingAnalyzer(PipelineAnalyzer())
    gallery = Gallery.enrol(photos, default)
    probe = (shared_data / "faces" / "obama3.jpg").read_bytes()
    by_vendor = behaviours(["aws", "ms"], gallery, default, {"aws": {"recognizer": "faceplugin"},
                                                             "ms": {"recognizer": "dlib_resnet"}})
    aws, ms = by_vendor["aws"], by_vendor["ms"]
    assert aws.analyzer is default and aws.gallery is gallery           # the analyzer given serves its model
    assert ms.analyzer is not default and ms.gallery.dim == 128         # the same photos, enrolled with dlib
    assert [i.name for i in ms.gallery.identities] == ["Barack Obama", "Joe Biden"]
    assert ms.gallery is gallery.for_analyzer(ms.analyzer)              # enrolled once per model
    assert aws.recognize(probe).named[0].identity.name == "Barack Obama"
    assert ms.recognize(probe).named[0].identity.name == "Barack Obama"
