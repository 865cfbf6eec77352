"""A loaded ONNX detector: crops faces the way its spec says and returns fake-probabilities.

:class:`OnnxDetector` satisfies the harness's one detector protocol
(:class:`harness.detectors.base.Detector`): ``score(image_bytes)`` decodes the image, finds its
largest face with the face pipeline and scores that face's crop; an image it cannot score raises
:class:`harness.detectors.base.UnscorableImageError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np

from harness.detectors.base import UnscorableImageError, largest_face_box
from harness.detectors.spec import DetectorSpec, DetectorSpecError
from harness.errors import DfiError

Box = tuple[float, float, float, float]
_INTERPOLATION = {"cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}


class CropError(UnscorableImageError):
    """A face crop or box is unusable (wrong array shape or type, empty box)."""


def crop_box(image_bgr: np.ndarray, box: Box, scale: float, square: bool = False) -> np.ndarray:
    """The region of ``box`` (x1, y1, x2, y2) enlarged ``scale`` times about its centre.

    The region is shifted to stay inside the image where it fits, then clipped to the image
    (as the liveness model's own code does), so it never contains padding.
    """
    _check_image(image_bgr)
    h, w = image_bgr.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box)
    bw, bh = x2 - x1, y2 - y1
    if not (bw > 0 and bh > 0) or not np.isfinite([x1, y1, x2, y2]).all():
        raise CropError(f"face box {box!r} is empty or not finite")
    if square:
        bw = bh = max(bw, bh)
    cw, ch = min(bw * scale, w), min(bh * scale, h)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    left = min(max(cx - cw / 2, 0.0), w - cw)
    top = min(max(cy - ch / 2, 0.0), h - ch)
    x0, y0 = int(round(left)), int(round(top))
    x1e, y1e = min(w, max(x0 + 1, int(round(left + cw)))), min(h, max(y0 + 1, int(round(top + ch))))
    return image_bgr[y0:y1e, x0:x1e]


def _check_image(image: Any) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        got = f"{type(image).__name__} {getattr(image, 'dtype', '')} {getattr(image, 'shape', '')}"
        raise CropError(f"expected an HxWx3 uint8 BGR image, got {got.strip()}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise CropError("empty image")


def preprocess(spec: DetectorSpec, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Face crops (each HxWx3 uint8 BGR, any size) -> the model's NCHW float32 input."""
    height, width = spec.input_size
    batch = np.empty((len(crops), height, width, 3), dtype=np.float32)
    for i, crop in enumerate(crops):
        _check_image(crop)
        if crop.shape[:2] != (height, width):
            interp = _INTERPOLATION.get(spec.interpolation) or (
                cv2.INTER_AREA if crop.shape[0] > height else cv2.INTER_LINEAR)
            crop = cv2.resize(crop, (width, height), interpolation=interp)
        batch[i] = crop[..., ::-1] if spec.color_order == "RGB" else crop
    batch -= np.asarray(spec.mean, dtype=np.float32)
    batch /= np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(batch.transpose(0, 3, 1, 2))


def fake_probabilities(spec: DetectorSpec, output: np.ndarray) -> np.ndarray:
    """The model's raw output (batch, classes) -> fake-probability per sample, in [0, 1]."""
    out = np.asarray(output, dtype=np.float64).reshape(len(output), -1)
    if spec.class_index >= out.shape[1]:
        raise DetectorSpecError(
            f"detector {spec.name!r}: class_index {spec.class_index} but the output has {out.shape[1]} column(s)")
    if spec.output_kind == "softmax":
        z = out - out.max(axis=1, keepdims=True)
        p = np.exp(z)
        p = (p / p.sum(axis=1, keepdims=True))[:, spec.class_index]
    elif spec.output_kind == "logit":
        p = 1.0 / (1.0 + np.exp(-out[:, spec.class_index]))
    else:
        p = out[:, spec.class_index]
    p = np.clip(p, 0.0, 1.0)
    return 1.0 - p if spec.positive == "real" else p


class OnnxDetector:
    """An ONNX detector session with its spec. ``score`` takes image bytes (the
    :class:`~harness.detectors.base.Detector` protocol); ``score_crops``/``score_faces`` score a batch
    of crops or faces and return fake-probabilities (N,) float64."""

    def __init__(self, spec: DetectorSpec, *, providers: Sequence[str] | str | None = None,
                 threads: int | None = None, batch_size: int = 32):
        from harness.models.runtime import make_session  # shared onnxruntime session policy

        self.spec = spec
        self.model_path = spec.model_path()
        self.session = make_session(self.model_path, providers=providers, threads=threads)
        inputs = self.session.get_inputs()
        if len(inputs) != 1:
            raise DetectorSpecError(f"detector {spec.name!r}: expected one model input, found {len(inputs)}")
        self.input_name = inputs[0].name
        shape = inputs[0].shape
        if len(shape) != 4 or shape[1] != 3:
            raise DetectorSpecError(f"detector {spec.name!r}: expected an NCHW 3-channel input, model has {shape}")
        model_hw = tuple(shape[2:])
        if all(isinstance(v, int) for v in model_hw) and model_hw != tuple(spec.input_size):
            raise DetectorSpecError(
                f"detector {spec.name!r}: spec input_size {spec.input_size} but the model wants {model_hw}")
        n_outputs = len(self.session.get_outputs())
        if spec.output_index >= n_outputs:
            raise DetectorSpecError(
                f"detector {spec.name!r}: output_index {spec.output_index} but the model has {n_outputs} output(s)")
        # a model exported with a fixed batch of 1 runs one crop at a time
        self.batch_size = shape[0] if isinstance(shape[0], int) else batch_size

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def caveat(self) -> str:
        return self.spec.caveat or ""

    def score_array(self, image_bgr: np.ndarray) -> float:
        """Fake-probability of the largest face of a decoded image."""
        return float(self.score_faces(image_bgr, [largest_face_box(image_bgr, self.name)])[0])

    def score(self, image: bytes) -> float:
        """Fake-probability of the largest face in the image bytes (UnscorableImageError: no face, bad bytes)."""
        from harness.faces import load_image

        try:
            return self.score_array(load_image(image))
        except UnscorableImageError:
            raise
        except DfiError as exc:
            raise UnscorableImageError(f"{self.name}: {exc}") from exc

    def score_crops(self, crops: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
        """Fake-probability of each face crop (HxWx3 uint8 BGR, any size: resized to the input)."""
        if len(crops) == 0:
            return np.zeros(0, dtype=np.float64)
        scores = []
        for start in range(0, len(crops), self.batch_size):
            x = preprocess(self.spec, crops[start:start + self.batch_size])
            out = self.session.run(None, {self.input_name: x})[self.spec.output_index]
            scores.append(fake_probabilities(self.spec, out))
        return np.concatenate(scores)

    def crop_faces(self, image_bgr: np.ndarray, boxes: Sequence[Any]) -> list[np.ndarray]:
        """Crops for this detector from a whole image; ``boxes`` are (x1, y1, x2, y2) or Face objects."""
        return [crop_box(image_bgr, tuple(getattr(b, "box", b)), self.spec.crop_scale, self.spec.square_crop)
                for b in boxes]

    def score_faces(self, image_bgr: np.ndarray, boxes: Sequence[Any]) -> np.ndarray:
        """Fake-probability of each face (box or Face) in a whole image, cropped per the spec."""
        return self.score_crops(self.crop_faces(image_bgr, boxes))
