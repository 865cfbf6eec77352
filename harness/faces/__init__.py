"""Face pipeline: load image -> detect -> 68/5 landmarks -> align 112x112 -> 512-d embedding."""

from harness.faces.align import ARCFACE_TEMPLATE, align_face, five_from_68
from harness.faces.image import DEFAULT_MAX_PIXELS, load_image
from harness.faces.pipeline import BACKENDS, FacePipeline, default_pipeline
from harness.faces.types import (
    Face,
    FaceError,
    FaceTooSmallError,
    ImageDecodeError,
    ImageTooLargeError,
    NoFaceError,
)

__all__ = [
    "ARCFACE_TEMPLATE", "BACKENDS", "DEFAULT_MAX_PIXELS", "Face", "FaceError", "FacePipeline",
    "FaceTooSmallError", "ImageDecodeError", "ImageTooLargeError", "NoFaceError", "align_face",
    "default_pipeline", "five_from_68", "load_image",
]
