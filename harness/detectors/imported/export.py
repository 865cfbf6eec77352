"""A PyTorch detector network -> ONNX in the user's cache, checked against the PyTorch forward.

The check is end to end: sample face crops (random uint8 images, one at the input size and one
larger, so the resize runs) are fed (a) to the PyTorch network after the preprocessing written
independently here from the import's conventions (RGB, resize, (x/255 - mean)/std) and (b) to the
exported file through the harness's own runtime (:class:`harness.detectors.OnnxDetector` and the
spec), and the two fake-probabilities are compared. The largest absolute difference, and that of
the raw outputs, is printed by the CLI and stored in the spec's ``extra`` record.
"""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from harness.detectors.imported import store
from harness.detectors.imported.errors import ImportDetectorError
from harness.detectors.spec import DetectorSpec

OPSET = 17
TOLERANCE = 1e-4  # largest accepted difference of fake-probabilities, torch vs the exported file
_CV2_INTERP = {"cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}


@dataclass(frozen=True)
class ImportResult:
    spec: DetectorSpec
    spec_file: Path
    max_abs_diff: float  # fake-probabilities, torch vs ONNX through the harness runtime
    max_abs_diff_raw: float  # raw outputs (logits), torch vs onnxruntime
    samples: int


def sample_crops(spec: DetectorSpec, seed: int = 0) -> list[np.ndarray]:
    """Face crops for the check: smooth random images (noise alone is not what a detector sees)."""
    rng = np.random.default_rng(seed)
    h, w = spec.input_size
    crops = []
    for size in ((h, w), (h, w), (int(h * 1.4) + 3, int(w * 1.2) + 5)):
        low = rng.integers(0, 256, size=(max(2, size[0] // 8), max(2, size[1] // 8), 3)).astype(np.uint8)
        img = cv2.resize(low, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        noise = rng.integers(-12, 13, size=img.shape)
        crops.append(np.clip(img.astype(int) + noise, 0, 255).astype(np.uint8))
    return crops


def reference_input(spec: DetectorSpec, crops: list[np.ndarray]) -> np.ndarray:
    """The network's input as the import's conventions describe it (not the runtime's code)."""
    h, w = spec.input_size
    out = []
    for crop in crops:
        if crop.shape[:2] != (h, w):
            interp = _CV2_INTERP.get(spec.interpolation, cv2.INTER_AREA if crop.shape[0] > h else cv2.INTER_LINEAR)
            crop = cv2.resize(crop, (w, h), interpolation=interp)
        img = crop[..., ::-1] if spec.color_order == "RGB" else crop
        x = (img.astype(np.float64) - np.array(spec.mean)) / np.array(spec.std)
        out.append(x.transpose(2, 0, 1))
    return np.stack(out).astype(np.float32)


def probabilities(spec: DetectorSpec, raw: np.ndarray) -> np.ndarray:
    """Fake-probabilities from raw outputs, written out per ``output_kind`` (independent of the runtime)."""
    z = np.asarray(raw, dtype=np.float64).reshape(len(raw), -1)
    if spec.output_kind == "softmax":
        e = np.exp(z - z.max(axis=1, keepdims=True))
        p = e[:, spec.class_index] / e.sum(axis=1)
    elif spec.output_kind == "logit":
        p = 1.0 / (1.0 + np.exp(-z[:, spec.class_index]))
    else:
        p = z[:, spec.class_index]
    return 1.0 - p if spec.positive == "real" else p


def _export(net: Any, x: np.ndarray, path: Path) -> None:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(net, (torch.from_numpy(x),), str(path), input_names=["image"], output_names=["output"],
                          dynamic_axes={"image": {0: "batch"}, "output": {0: "batch"}}, opset_version=OPSET,
                          dynamo=False)


def export_and_register(net: Any, spec: DetectorSpec, *, record: Mapping[str, Any], replace_existing: bool = False,
                        seed: int = 0) -> ImportResult:
    """Export ``net`` (eval mode) for ``spec`` (its ``model`` is ignored), verify, save in the cache.

    Nothing is written to the cache unless the check passes (difference <= :data:`TOLERANCE`)."""
    import onnxruntime as ort
    import torch

    from harness.detectors.runtime import OnnxDetector

    store.check_name(spec.name)
    if (store.detector_folder(spec.name) / store.SPEC_FILE).exists() and not replace_existing:
        raise ImportDetectorError(f"a detector named {spec.name!r} is already imported; pass --replace to overwrite it")
    crops = sample_crops(spec, seed)
    x = reference_input(spec, crops)
    net = net.eval()
    try:
        with torch.no_grad():
            want_raw = net(torch.from_numpy(x)).detach().cpu().numpy()
    except RuntimeError as exc:
        raise ImportDetectorError(f"{spec.name}: the network does not run on {spec.input_size[0]}x"
                                  f"{spec.input_size[1]} inputs: {str(exc).splitlines()[0][:160]}") from None
    want = probabilities(spec, want_raw)
    store.imported_root().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.imported_root(), prefix=".import-") as tmp:
        onnx_path = Path(tmp) / store.MODEL_FILE
        _export(net, x, onnx_path)
        session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        got_raw = session.run(None, {session.get_inputs()[0].name: x})[0]
        raw_diff = float(np.max(np.abs(np.asarray(got_raw, np.float64) - want_raw)))
        staged = replace(spec, model=onnx_path)
        got = OnnxDetector(staged, threads=1).score_crops(crops)
        diff = float(np.max(np.abs(got - want)))
        if not np.isfinite(diff) or diff > TOLERANCE:
            raise ImportDetectorError(f"{spec.name}: the exported model disagrees with the PyTorch forward "
                                      f"(max abs difference {diff:.3g} > {TOLERANCE:g}); nothing was imported")
        verification = {"max_abs_diff": diff, "max_abs_diff_raw": raw_diff, "samples": len(crops),
                        "tolerance": TOLERANCE, "compared": "fake-probability: PyTorch forward on the conventions' "
                        "preprocessing vs the ONNX file through the harness runtime and this spec"}
        extra = {**dict(spec.extra), **dict(record), "exporter": f"torch {torch.__version__} (TorchScript, "
                 f"opset {OPSET})", "verification": verification}
        final = replace(spec, model=store.detector_folder(spec.name) / store.MODEL_FILE, extra=extra)
        spec_file = store.save(final, onnx_path, replace=replace_existing)
    return ImportResult(final, spec_file, diff, raw_diff, len(crops))
