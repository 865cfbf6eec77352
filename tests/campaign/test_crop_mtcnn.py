"""The crop before upload: the default detector's square crop, or MTCNN's 160x160 facenet-style crop."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from harness.campaign.prepare import MTCNN_SIZE, ImagePreparer, cropper_name
from harness.errors import DfiError

pytestmark = pytest.mark.models


def _decode(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_cropper_names():
    assert cropper_name(True) == "faceplugin" and cropper_name(False) is None and cropper_name("mtcnn") == "mtcnn"
    with pytest.raises(DfiError, match="unknown face cropper 'retina'; choose one of faceplugin, mtcnn"):
        cropper_name("retina")


def test_mtcnn_crop_is_160_square_and_cached_apart(models, shared_data, tmp_path):
    ref = str(shared_data / "faces" / "obama.jpg")
    mtcnn = ImagePreparer(crop="mtcnn", cache_dir=tmp_path).prepare(ref, "deepfake")
    default = ImagePreparer(crop=True, cache_dir=tmp_path).prepare(ref, "deepfake")
    assert not mtcnn.error and not default.error
    assert _decode(mtcnn.data).shape == (MTCNN_SIZE, MTCNN_SIZE, 3)
    assert mtcnn.sha256 != default.sha256
    assert len(list(tmp_path.glob("*-mtcnn-m0-s160.png"))) == 1 and len(list(tmp_path.glob("*-m30.png"))) == 1
    # the MTCNN crop still shows Obama to the default recogniser
    emb = [models.analyze(_decode(p.data))[0].embedding for p in (mtcnn, default)]
    assert float(emb[0] @ emb[1]) > 0.6


def test_no_face_is_an_error_not_an_upload(models, tmp_path):
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 127, np.uint8))
    result = ImagePreparer(crop="mtcnn", cache_dir=tmp_path / "c").prepare(str(blank), "deepfake")
    assert result.data is None and result.error == "no_face: no face detected in the deepfake"


def test_run_accepts_crop_mtcnn_and_no_crop():
    from harness.cli import cli

    help_text = CliRunner().invoke(cli, ["run", "--help"]).output
    assert "--crop [faceplugin|mtcnn]" in help_text and "--no-crop" in help_text
