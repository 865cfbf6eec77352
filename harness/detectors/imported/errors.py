"""The one-line errors of importing a detector."""

from __future__ import annotations

from harness.detectors.spec import DetectorSpecError

TORCH_EXTRA = "pip install 'dfi[detectors-import]'"


class ImportDetectorError(DetectorSpecError):
    """A detector cannot be imported (missing optional dependency, bad name, failed verification)."""


class CheckpointError(ImportDetectorError):
    """A checkpoint file is unreadable or does not match the architecture it was declared as."""


def require_torch() -> None:
    """torch (the optional ``detectors-import`` extra), or a one-line error saying how to install it."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportDetectorError(f"importing a PyTorch checkpoint needs torch: {TORCH_EXTRA}") from None


def require_timm() -> None:
    require_torch()
    try:
        import timm  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - timm imports torchvision, which fails in many ways
        raise ImportDetectorError(f"importing a timm model needs timm and a torchvision that matches torch "
                                  f"(pip install timm torchvision; here: {type(exc).__name__}: "
                                  f"{str(exc).splitlines()[0][:120] if str(exc) else ''})") from None
