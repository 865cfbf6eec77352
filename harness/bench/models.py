"""What can be benchmarked: the installed face models, the reference detectors, the detectors imported
with ``dfi detectors import`` (group ``imported``; in ``all`` too), user ONNX files."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.errors import DfiError

INSTALLED = ("fr_detect", "fr_landmark", "fr_feature", "fr_liveness")
REFERENCE = ("meso4", "mesoinception4", "xception", "efficientnet_b4")
INSTALLED_ROLES = {"fr_detect": "face detector", "fr_landmark": "68-point landmarks",
                   "fr_feature": "face embedder (512-d)", "fr_liveness": "liveness / anti-spoofing detector"}


class BenchModelError(DfiError):
    """A model asked for by name or path cannot be found or loaded."""


@dataclass
class BenchModel:
    name: str
    kind: str  # "installed", "reference", "imported", "detector" (registered by a spec) or "user"
    role: str
    trained: bool | None  # None: unknown (user model)
    path: Path | None = None
    unavailable: str | None = None  # why it cannot run here (e.g. models not fetched)


def resolve_model(name_or_path: str) -> BenchModel:
    if name_or_path in INSTALLED:
        from harness.models import ModelsNotInstalledError, model_path

        try:
            path = model_path(name_or_path)
        except ModelsNotInstalledError as exc:
            return BenchModel(name_or_path, "installed", INSTALLED_ROLES[name_or_path], True, None, str(exc))
        return BenchModel(name_or_path, "installed", INSTALLED_ROLES[name_or_path], True, path)
    if name_or_path in REFERENCE:
        from harness.detectors import get_detector_spec

        spec = get_detector_spec(name_or_path)
        return BenchModel(name_or_path, "reference", f"deepfake detector: {spec.description}", False,
                          spec.model_path())
    from harness.detectors import detector_names, get_detector_spec

    if name_or_path in detector_names():  # any other registered detector (imported, or from a YAML spec file)
        spec = get_detector_spec(name_or_path)
        if name_or_path in imported_names():
            return BenchModel(name_or_path, "imported", f"imported detector: {spec.description}", spec.trained,
                              spec.model_path())
        return BenchModel(name_or_path, "detector", f"registered detector: {spec.description}", spec.trained,
                          spec.model_path())
    path = Path(name_or_path).expanduser()
    if path.suffix.lower() == ".onnx" or path.exists():
        if not path.is_file():
            raise BenchModelError(f"model file {path} does not exist")
        try:
            import onnx

            onnx.checker.check_model(str(path))
        except Exception as exc:  # noqa: BLE001 - any checker/parse failure is the user's file
            raise BenchModelError(f"{path} is not a valid ONNX model: {exc}") from exc
        return BenchModel(path.stem, "user", "user-supplied ONNX model", None, path.resolve())
    raise BenchModelError(
        f"unknown model {name_or_path!r}: give one of {', '.join(INSTALLED + REFERENCE)}, a registered detector, "
        "or a path to an .onnx file")


def imported_names() -> list[str]:
    """The detectors ``dfi detectors import`` put in the cache (read from their spec files)."""
    from harness.detectors import detector_names
    from harness.detectors.locations import imported_spec_files

    registered = set(detector_names())
    return [f.parent.name for f in imported_spec_files() if f.parent.name in registered]


def resolve_models(selection: list[str]) -> list[BenchModel]:
    names: list[str] = []
    for item in selection:
        if item == "all":
            names += [*INSTALLED, *REFERENCE, *imported_names()]
        elif item == "imported":
            names += imported_names()
        elif item == "installed":
            names += list(INSTALLED)
        elif item == "reference":
            names += list(REFERENCE)
        else:
            names.append(item)
    seen: dict[str, BenchModel] = {}
    for name in names:
        model = resolve_model(name)
        seen.setdefault(str(model.path or model.name), model)
    return list(seen.values())
