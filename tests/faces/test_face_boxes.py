"""FacePipeline.face_boxes: the boxes and scores of detect(), without running the landmark model."""

from __future__ import annotations

import numpy as np
import pytest

from harness.faces import FaceTooSmallError, NoFaceError, default_pipeline, load_image
from harness.models import demo_image_paths

pytestmark = pytest.mark.models


def test_same_boxes_and_scores_as_detect_on_real_photos(models, shared_data):
    pipeline = default_pipeline()
    paths = [*demo_image_paths().values(), *sorted((shared_data / "faces").glob("*.jpg")),
             *sorted((shared_data / "paper-samples").rglob("*.jpg"))[:6]]
    for path in paths:
        image = load_image(path)
        full, boxes = pipeline.detect(image), pipeline.face_boxes(image)
        assert [(f.box, f.score) for f in boxes] == [(f.box, f.score) for f in full], path
    assert len(pipeline.face_boxes(load_image(demo_image_paths()["t1.jpg"]))) == 6


def test_no_face_and_too_small_are_the_same_errors(models):
    pipeline = default_pipeline()
    with pytest.raises(NoFaceError):
        pipeline.face_boxes(np.full((200, 200, 3), 127, np.uint8))
    face = load_image(demo_image_paths()["Tom_Hanks_54745.png"])
    tiny = np.full((400, 400, 3), 127, np.uint8)
    tiny[:12, :12] = face[::max(1, face.shape[0] // 12), ::max(1, face.shape[1] // 12)][:12, :12]
    for fn in (pipeline.detect, pipeline.face_boxes):
        with pytest.raises((NoFaceError, FaceTooSmallError)):
            fn(tiny)
