"""Reference deepfake-detector architectures from the study's defense, built as ONNX graphs.

Their weights are RANDOM AND UNTRAINED: they exist to measure speed (and to exercise the detector
registry end to end), not to detect anything. Each is built on first use into the user cache
(``<cache>/detectors/reference/``), never committed.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import onnx

from harness.detectors.reference.efficientnet import build_efficientnet_b4
from harness.detectors.reference.graph import parameter_counts
from harness.detectors.reference.meso import build_meso4, build_meso_inception4
from harness.detectors.reference.xception import build_xception
from harness.paths import cache_dir

# bump when a builder changes, so stale cached graphs are not reused
BUILD_VERSION = 1


@dataclass(frozen=True)
class ReferenceArchitecture:
    name: str
    build: Callable[[], onnx.ModelProto]
    published_params: int  # trainable parameters of the published architecture (see `published_note`)
    published_note: str


REFERENCE_ARCHITECTURES: dict[str, ReferenceArchitecture] = {
    a.name: a
    for a in [
        ReferenceArchitecture("meso4", build_meso4, 27_977, "MesoNet paper (Afchar et al. 2018), Table 1"),
        ReferenceArchitecture("mesoinception4", build_meso_inception4, 28_615,
                              "MesoNet paper (Afchar et al. 2018), Table 1"),
        ReferenceArchitecture("xception", build_xception, 20_811_050,
                              "Keras Xception 22,855,952 with its 1000-class head; 20,811,050 with the "
                              "FaceForensics++ 2-class head"),
        ReferenceArchitecture("efficientnet_b4", build_efficientnet_b4, 17_550_409,
                              "EfficientNet-B4 19,341,616 with its 1000-class head (Tan & Le 2019); "
                              "17,550,409 with a 1-logit head"),
    ]
}


def reference_model_path(name: str, *, root: Path | None = None) -> Path:
    """Path of the built ONNX file for a reference architecture, building it on first use."""
    arch = REFERENCE_ARCHITECTURES[name]
    folder = (root or cache_dir() / "detectors" / "reference")
    path = folder / f"{name}-v{BUILD_VERSION}.onnx"
    if not path.exists():
        folder.mkdir(parents=True, exist_ok=True)
        model = arch.build()
        # write then rename, so a concurrent reader never sees half a file
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".onnx.part")
        os.close(fd)
        try:
            onnx.save(model, tmp)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path


__all__ = ["REFERENCE_ARCHITECTURES", "ReferenceArchitecture", "parameter_counts", "reference_model_path",
           "BUILD_VERSION"]
