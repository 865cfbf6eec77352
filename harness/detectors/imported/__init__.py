"""Detectors that researchers bring: downloaded checkpoints imported as ONNX detectors.

    from harness.detectors.imported import import_deepfakebench, import_timm, import_onnx
    result = import_deepfakebench("xception", "xception_best.pth", name="dfb_xception")
    result.max_abs_diff          # PyTorch forward vs the exported ONNX file through the harness runtime
    resolve_detector("dfb_xception")   # in this and every later process

- :func:`import_deepfakebench`: DeepfakeBench state dicts (Xception, Meso4, MesoInception4,
  EfficientNet-B4) with DeepfakeBench's input size, normalisation, crop and output conventions;
- :func:`import_timm`: a timm model name plus its checkpoint (needs timm and a torchvision that
  imports beside torch);
- :func:`import_onnx`: any ONNX file plus a small YAML spec (the fields of
  :class:`harness.detectors.DetectorSpec`).

The PyTorch paths need the optional extra ``pip install 'dfi[detectors-import]'`` (torch); the
ONNX path needs nothing beyond the base install. Everything lands in
``<cache>/detectors/imported/<name>/`` (:mod:`harness.detectors.imported.store`).
"""

from harness.detectors.imported.errors import CheckpointError, ImportDetectorError
from harness.detectors.imported.export import ImportResult
from harness.detectors.imported.importers import import_deepfakebench, import_onnx, import_timm, imported_specs

__all__ = ["CheckpointError", "ImportDetectorError", "ImportResult", "import_deepfakebench", "import_onnx",
           "import_timm", "imported_specs"]
