"""DeepfakeBench checkpoints: which architecture, how it was fed, and loading its state dict.

Conventions, as DeepfakeBench's own files state them (``training/config/detector/<model>.yaml``,
``training/dataset/abstract_dataset.py``, ``training/detectors/<model>_detector.py``,
``preprocessing/preprocess.py``), the same for the four architectures here:

- input 256x256 (``resolution: 256``), RGB (frames read with OpenCV, converted BGR -> RGB), resized
  with bicubic interpolation;
- normalisation ``mean = std = [0.5, 0.5, 0.5]`` on 0..1 pixels, i.e. (pixel - 127.5) / 127.5;
- faces aligned on dlib's landmarks and cropped with the box enlarged 1.3x (``scale=1.3``). The
  harness crops the detected face box enlarged 1.3x, square, without the landmark alignment: a
  small difference in framing that the spec records;
- two output logits; ``prob = softmax(logits)[:, 1]`` is the fake-probability.

A checkpoint is what DeepfakeBench's trainer saves (``torch.save(model.state_dict())``): keys
``backbone.<parameter>`` (``module.backbone.`` after DataParallel). Both prefixes are accepted,
as is a bare backbone state dict or ``{"state_dict": ...}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.detectors.imported.errors import CheckpointError

MEAN_STD_255 = (127.5, 127.5, 127.5)
CROP_SCALE = 1.3
INPUT_SIZE = 256
CROP_NOTE = ("DeepfakeBench aligns faces on dlib landmarks and crops 1.3x the face; here the detected face box "
             "enlarged 1.3x, square (no landmark alignment)")


@dataclass(frozen=True)
class DfbArchitecture:
    name: str  # DeepfakeBench's model_name
    aliases: tuple[str, ...]
    paper: str
    head: str  # the final linear layer's parameter prefix (its weight's rows = classes)
    fully_convolutional: bool  # False: the input must be exactly 256x256 (MesoNet's 16x8x8 features)


ARCHITECTURES: dict[str, DfbArchitecture] = {a.name: a for a in (
    DfbArchitecture("xception", ("xception",), "Xception as in FaceForensics++ (Rossler et al. 2019)",
                    "last_linear", True),
    DfbArchitecture("meso4", ("meso4",), "Meso4 (Afchar et al. 2018)", "fc2", False),
    DfbArchitecture("meso4Inception", ("meso4inception", "mesoinception4"), "MesoInception4 (Afchar et al. 2018)",
                    "fc2", False),
    DfbArchitecture("efficientnetb4", ("efficientnetb4", "efficientnet_b4", "efficientnet-b4"),
                    "EfficientNet-B4 (Tan & Le 2019)", "last_layer", True),
)}


def architecture(name: str) -> DfbArchitecture:
    key = name.strip()
    for arch in ARCHITECTURES.values():
        if key == arch.name or key.lower() in arch.aliases:
            return arch
    raise CheckpointError(f"unknown DeepfakeBench architecture {name!r}: give one of "
                          f"{', '.join(ARCHITECTURES)}")


def read_state_dict(path: Path) -> dict[str, Any]:
    """The tensors of a checkpoint file (weights only: no code in the file runs)."""
    import torch

    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling/zip failure means the file is not a checkpoint
        text = str(exc)
        detail = text.split("WeightsUnpickler error:")[-1].strip().splitlines()[0] if text.strip() else ""
        raise CheckpointError(f"{path} is not a PyTorch state dict of tensors (torch.load, weights only: "
                              f"{detail[:120] or type(exc).__name__}); a truncated download, another format, or a "
                              "pickle with code, which is refused") from None
    if isinstance(data, Mapping) and isinstance(data.get("state_dict"), Mapping):
        data = data["state_dict"]
    if not isinstance(data, Mapping) or not data or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise CheckpointError(f"{path} holds no state dict (a mapping of parameter names to tensors)")
    return dict(data)


def backbone_keys(state: Mapping[str, Any]) -> dict[str, Any]:
    """Keys without DeepfakeBench's ``backbone.`` (and DataParallel's ``module.``) prefix."""
    out: dict[str, Any] = {}
    for key, value in state.items():
        k = key.removeprefix("module.")
        if k.startswith("backbone."):
            k = k.removeprefix("backbone.")
        elif any(x.startswith("backbone.") or x.startswith("module.backbone.") for x in state):
            continue  # e.g. a loss function's buffers beside the backbone
        out[k.replace("last_linear.1.", "last_linear.")] = value  # the head with dropout: Sequential(Dropout, Linear)
    return out


def load_network(arch: DfbArchitecture, checkpoint: Path) -> tuple[Any, int]:
    """The network with the checkpoint's weights (eval mode) and its number of output classes."""
    from harness.detectors.imported.torchnets import build_network

    state = backbone_keys(read_state_dict(checkpoint))
    head = state.get(f"{arch.head}.weight")
    if head is None or head.ndim != 2:
        raise CheckpointError(f"{checkpoint} does not have DeepfakeBench's {arch.name} key layout: no "
                              f"backbone.{arch.head}.weight (its first keys: {', '.join(list(state)[:3])})")
    classes = int(head.shape[0])
    net = build_network(arch.name, classes)
    expected = net.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:2])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:2])})")
        raise CheckpointError(f"{checkpoint} does not have DeepfakeBench's {arch.name} key layout: "
                              + "; ".join(parts))
    bad = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items()
           if tuple(state[k].shape) != tuple(v.shape)]
    if bad:
        raise CheckpointError(f"{checkpoint}: {len(bad)} tensor(s) of the wrong shape for {arch.name}, e.g. {bad[0]}")
    net.load_state_dict(state, strict=True)
    return net.eval(), classes
