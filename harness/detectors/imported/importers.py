"""The three ways in: a DeepfakeBench checkpoint, a timm model plus checkpoint, an ONNX file plus spec."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from harness.detectors.imported import deepfakebench as dfb
from harness.detectors.imported import store
from harness.detectors.imported.errors import ImportDetectorError, require_timm, require_torch
from harness.detectors.imported.export import ImportResult, export_and_register, sample_crops
from harness.detectors.spec import DetectorSpec, DetectorSpecError


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _reserved(name: str) -> None:
    """An import must not shadow a built-in detector or a factory (``spectrum_lr``)."""
    from harness.detectors.registry import builtin_names

    if name in builtin_names():
        raise ImportDetectorError(f"{name!r} is a built-in detector name; choose another --name")


def import_deepfakebench(arch_name: str, checkpoint: str | Path, *, name: str | None = None,
                         input_size: int = dfb.INPUT_SIZE, replace: bool = False) -> ImportResult:
    """A DeepfakeBench checkpoint of ``arch_name`` (xception, meso4, meso4Inception, efficientnetb4)
    as an ONNX detector with DeepfakeBench's conventions (module docstring of
    :mod:`harness.detectors.imported.deepfakebench`). ``input_size`` other than 256 only for the
    fully convolutional ones (tests use small inputs)."""
    require_torch()
    arch = dfb.architecture(arch_name)
    path = Path(checkpoint).expanduser()
    det_name = store.check_name(name or f"dfb_{arch.name.lower()}")
    _reserved(det_name)
    if input_size != dfb.INPUT_SIZE and not arch.fully_convolutional:
        raise ImportDetectorError(f"{arch.name} takes exactly {dfb.INPUT_SIZE}x{dfb.INPUT_SIZE} inputs "
                                  f"(its classifier reads 16x8x8 features), not {input_size}")
    net, classes = dfb.load_network(arch, path)
    two_class = classes >= 2
    spec = DetectorSpec(
        name=det_name, model=path, input_size=(input_size, input_size), color_order="RGB",
        mean=dfb.MEAN_STD_255, std=dfb.MEAN_STD_255, crop_scale=dfb.CROP_SCALE, square_crop=True,
        interpolation="cubic", output_kind="softmax" if two_class else "logit", class_index=1 if two_class else 0,
        positive="fake", trained=True,
        description=f"DeepfakeBench {arch.name}: {arch.paper}; checkpoint {path.name}",
        caveat="")
    record = {"source": f"deepfakebench:{arch.name}", "checkpoint": str(path.resolve()),
              "checkpoint_sha256": _sha256(path), "classes": classes, "crop_note": dfb.CROP_NOTE,
              "conventions": "DeepfakeBench training/config/detector/*.yaml: resolution 256, mean=std=0.5, "
                             "RGB, bicubic resize; prob = softmax(logits)[:, 1]"}
    return export_and_register(net, spec, record=record, replace_existing=replace)


def import_timm(model_name: str, checkpoint: str | Path, *, name: str | None = None, fake_index: int = 1,
                input_size: int | None = None, crop_scale: float = 1.3, replace: bool = False) -> ImportResult:
    """A timm architecture by name with a checkpoint's weights; input size, mean and std from the
    model's ``pretrained_cfg`` unless given; class ``fake_index`` of the softmax is "fake"."""
    require_timm()
    import timm
    import torch

    path = Path(checkpoint).expanduser()
    state = dfb.read_state_dict(path)
    state = {k.removeprefix("module."): v for k, v in state.items()}
    heads = [v for k, v in state.items() if k.endswith("weight") and v.ndim == 2]
    classes = int(heads[-1].shape[0]) if heads else 2
    try:
        net = timm.create_model(model_name, pretrained=False, num_classes=classes)
    except Exception as exc:  # noqa: BLE001 - timm raises RuntimeError/KeyError for unknown names
        raise ImportDetectorError(f"timm cannot build {model_name!r}: {str(exc).splitlines()[0][:160]}") from None
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ImportDetectorError(f"{path} does not fit timm's {model_name}: "
                                  f"{str(exc).splitlines()[0][:200]}") from None
    cfg: dict[str, Any] = dict(getattr(net, "pretrained_cfg", {}) or {})
    size = input_size or int(cfg.get("input_size", (3, 224, 224))[-1])
    mean = tuple(float(m) * 255 for m in cfg.get("mean", (0.485, 0.456, 0.406)))
    std = tuple(float(s) * 255 for s in cfg.get("std", (0.229, 0.224, 0.225)))
    det_name = store.check_name(name or f"timm_{model_name.replace('/', '_')}")
    _reserved(det_name)
    two_class = classes >= 2
    spec = DetectorSpec(
        name=det_name, model=path, input_size=(size, size), color_order="RGB", mean=mean, std=std,  # type: ignore[arg-type]
        crop_scale=crop_scale, square_crop=True, interpolation="cubic",
        output_kind="softmax" if two_class else "logit", class_index=fake_index if two_class else 0,
        positive="fake", trained=True, description=f"timm {model_name}; checkpoint {path.name}")
    record = {"source": f"timm:{model_name}", "checkpoint": str(path.resolve()), "checkpoint_sha256": _sha256(path),
              "classes": classes, "timm": timm.__version__, "torch": torch.__version__}
    return export_and_register(net, spec, record=record, replace_existing=replace)


def import_onnx(onnx_file: str | Path, spec_file: str | Path, *, name: str | None = None,
                replace: bool = False) -> ImportResult:
    """Any ONNX file plus a YAML spec (the fields of :class:`DetectorSpec` but ``model``; ``name``
    optional there). The model is copied into the cache and run once on sample crops through the
    harness runtime; there is no PyTorch forward to compare with (differences are NaN)."""
    import onnx

    from harness.detectors.runtime import OnnxDetector

    src, spec_path = Path(onnx_file).expanduser(), Path(spec_file).expanduser()
    if not src.is_file():
        raise ImportDetectorError(f"ONNX file {src} does not exist")
    try:
        onnx.checker.check_model(str(src))
    except Exception as exc:  # noqa: BLE001 - any parse/check failure is the user's file
        raise ImportDetectorError(f"{src} is not a valid ONNX model: {str(exc).splitlines()[0][:160]}") from None
    try:
        data = yaml.safe_load(spec_path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ImportDetectorError(f"cannot read the spec {spec_path}: {str(exc).splitlines()[0][:160]}") from None
    if not isinstance(data, dict):
        raise ImportDetectorError(f"{spec_path}: expected a mapping of spec fields (input_size, mean, std, ...)")
    data = {k: v for k, v in data.items() if k != "model"}
    det_name = store.check_name(name or str(data.get("name") or src.stem))
    _reserved(det_name)
    try:
        staged = DetectorSpec.from_mapping({**data, "name": det_name, "model": str(src)})
    except (DetectorSpecError, TypeError, ValueError) as exc:
        raise ImportDetectorError(f"{spec_path}: {exc}") from None
    crops = sample_crops(staged)
    scores = OnnxDetector(staged, threads=1).score_crops(crops)
    if not np.all(np.isfinite(scores)):
        raise ImportDetectorError(f"{src}: the model's output on sample crops is not finite")
    record = {"source": "onnx", "onnx_file": str(src.resolve()), "onnx_sha256": _sha256(src),
              "verification": {"max_abs_diff": float("nan"), "max_abs_diff_raw": float("nan"), "samples": len(crops),
                               "compared": "no reference forward (ONNX file as given); ran on sample crops"}}
    from dataclasses import replace as dc_replace

    if (store.detector_folder(det_name) / store.SPEC_FILE).exists() and not replace:
        raise ImportDetectorError(f"a detector named {det_name!r} is already imported; pass --replace to overwrite it")
    final = dc_replace(staged, model=store.detector_folder(det_name) / store.MODEL_FILE,
                       extra={**dict(staged.extra), **record})
    store.imported_root().mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=store.imported_root(), prefix=".import-") as tmp:
        copy = Path(tmp) / store.MODEL_FILE
        shutil.copyfile(src, copy)
        spec_out = store.save(final, copy, replace=replace)
    return ImportResult(final, spec_out, float("nan"), float("nan"), len(crops))


def imported_specs() -> list[DetectorSpec]:
    """Every imported detector's spec (from the cache)."""
    from harness.detectors.registry import load_detector_specs

    out: list[DetectorSpec] = []
    for f in store.spec_files():
        out += load_detector_specs(f, register=False)
    return out
