"""Named detectors, and the one resolver from a detector spec string to a detector.

Spec strings (:func:`resolve_detector`; the same in ``dfi defend --detector`` and everywhere else):

- ``sim:NAME:TPR,FPR[,CORRELATION]``: a simulated detector
  (:class:`harness.detectors.simulated.SimulatedSpec`, which alone parses the syntax); it needs the
  truth about the images;
- a detector factory's name, e.g. ``spectrum_lr`` (the project's trained detector, registered by
  ``harness.defense.trained_detector``; factories are for detectors built in layers above this one);
- a registered ONNX detector's name: the installed model set's liveness model (``fr_liveness``),
  the reference architectures (``meso4``, ``mesoinception4``, ``xception``, ``efficientnet_b4``),
  the detectors imported into the cache by ``dfi detectors import`` (found in every process:
  :mod:`harness.detectors.imported.store`) and whatever a user or another part of the harness
  registers (:func:`register_detector`, :func:`load_detector_specs`).

Anything else is an :class:`UnknownDetectorError` of one line saying what is accepted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from harness.detectors.spec import DetectorSpec, DetectorSpecError
from harness.errors import InputFileError

if TYPE_CHECKING:
    from harness.detectors.base import Detector
    from harness.detectors.runtime import OnnxDetector
    from harness.detectors.simulated import ImageTruth


class UnknownDetectorError(DetectorSpecError):
    """No detector of that name is registered (and the string is no ``sim:`` spec)."""


_REGISTRY: dict[str, DetectorSpec] = {}
DetectorFactory = Callable[[], "Detector"]
_FACTORIES: dict[str, DetectorFactory] = {}

LIVENESS_CAVEAT = ("anti-spoofing (liveness) model for printed photos and screen replays, not a deepfake "
                   "detector: expected near chance on deepfakes")
UNTRAINED_CAVEAT = "RANDOM UNTRAINED WEIGHTS: for speed measurement only, its scores mean nothing"


_IMPORTED: dict[Path, tuple[int, list[str]]] = {}  # imported spec file -> (mtime, names it registered)


def _sync_imported() -> None:
    """Register the detectors imported into the cache (``dfi detectors import``, any process) and
    drop those removed since; a spec file that does not read is skipped (``dfi detectors list`` says why)."""
    from harness.detectors.locations import imported_spec_files

    files = imported_spec_files()
    for gone in set(_IMPORTED) - set(files):
        for name in _IMPORTED.pop(gone)[1]:
            _REGISTRY.pop(name, None)
    for f in files:
        try:
            mtime = f.stat().st_mtime_ns
        except OSError:
            continue
        if _IMPORTED.get(f, (None,))[0] == mtime:
            continue
        try:
            specs = load_detector_specs(f, register=False)
        except InputFileError:
            specs = []
        names = [s.name for s in specs if s.name not in _BUILTIN and s.name not in _FACTORIES]
        for spec in specs:
            if spec.name in names:
                _REGISTRY[spec.name] = spec
        _IMPORTED[f] = (mtime, names)


def builtin_names() -> set[str]:
    """Names an import may not take: the built-in detectors and the factories (``spectrum_lr``)."""
    return set(_BUILTIN) | set(_FACTORIES)


def register_detector(spec: DetectorSpec, *, replace: bool = False) -> DetectorSpec:
    if spec.name in _REGISTRY and not replace:
        raise DetectorSpecError(f"a detector named {spec.name!r} is already registered (pass replace=True)")
    _REGISTRY[spec.name] = spec
    return spec


def get_detector_spec(name: str) -> DetectorSpec:
    _sync_imported()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownDetectorError(
            f"unknown detector {name!r}; registered: {', '.join(sorted(_REGISTRY))}"
        ) from None


def detector_names(*, trained_only: bool = False) -> list[str]:
    """Registered ONNX detectors (see :func:`resolvable_names` for every name the resolver takes)."""
    _sync_imported()
    return sorted(n for n, s in _REGISTRY.items() if s.trained or not trained_only)


def register_detector_factory(name: str, factory: DetectorFactory) -> None:
    """A detector built on demand by ``factory()`` under ``name`` (e.g. a trained model that loads
    or trains itself). Re-registering a name replaces it."""
    if name.startswith("sim:") or ":" in name:
        raise DetectorSpecError(f"detector factory name {name!r} must not contain ':'")
    _FACTORIES[name] = factory


def resolvable_names() -> list[str]:
    """Every detector name :func:`resolve_detector` takes besides ``sim:`` specs."""
    _sync_imported()
    return sorted(set(_REGISTRY) | set(_FACTORIES))


def spec_detector_name(spec: str) -> str:
    """The name the detector of ``spec`` will have, without building it (``sim:NAME:...`` -> NAME);
    a bad ``sim:`` spec raises the resolver's one-line error."""
    from harness.detectors.simulated import SIM_PREFIX, SimulatedSpec

    text = spec.strip()
    return SimulatedSpec.parse(text).name if text.startswith(SIM_PREFIX) else text


def resolve_detector(
    spec: str,
    *,
    truth: Mapping[str, ImageTruth] | None = None,
    factories: Mapping[str, DetectorFactory] | None = None,
    seed: int = 0,
) -> Detector:
    """The detector a spec string names (see the module docstring for the forms).

    ``truth``: what simulated detectors know about the images (required for ``sim:`` specs).
    ``factories``: per-call factories that take precedence over the registered ones (e.g. a
    loader that shows progress). A bad spec raises a one-line :class:`DetectorSpecError`
    (:class:`UnknownDetectorError` for an unknown name).
    """
    from harness.detectors.simulated import SIM_PREFIX, SIM_SYNTAX, SimulatedSpec

    text = spec.strip()
    if text.startswith(SIM_PREFIX):
        sim = SimulatedSpec.parse(text)
        if truth is None:
            raise DetectorSpecError(f"simulated detector {text!r} needs the truth about the images it scores")
        return sim.build(truth, seed=seed)
    factory = (factories or {}).get(text) or _FACTORIES.get(text)
    if factory is not None:
        return factory()
    _sync_imported()
    if text in _REGISTRY:
        return load_detector(text)
    known = sorted(set(_REGISTRY) | set(_FACTORIES) | set(factories or {}))
    raise UnknownDetectorError(f"unknown detector {spec!r}: give {SIM_SYNTAX} or one of {', '.join(known)}")


def load_detector_specs(path: str | Path, *, register: bool = True) -> list[DetectorSpec]:
    """Read detector specs from a YAML/JSON file: a list of mappings, or ``{detectors: [...]}``.

    Relative model paths are taken from the file's folder.
    """
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise InputFileError(str(path), f"cannot read detector specs: {exc}") from exc
    if isinstance(data, dict) and "detectors" in data:
        data = data["detectors"]
    if not isinstance(data, list) or not all(isinstance(d, dict) for d in data):
        raise InputFileError(str(path), "expected a list of detector specs (mappings)")
    specs = []
    for i, entry in enumerate(data):
        try:
            specs.append(DetectorSpec.from_mapping(entry, base_dir=path.parent))
        except (DetectorSpecError, TypeError, ValueError) as exc:
            raise InputFileError(str(path), f"detector spec #{i + 1}: {exc}") from exc
    if register:
        for spec in specs:
            register_detector(spec, replace=True)
    return specs


def _installed(name: str):
    def resolve() -> Path:
        from harness.models import model_path  # imported late: the models package fetches on demand

        return model_path(name)

    return resolve


def _reference(name: str):
    def resolve() -> Path:
        from harness.detectors.reference import reference_model_path

        return reference_model_path(name)

    return resolve


def _register_builtins() -> None:
    register_detector(DetectorSpec(
        # As the model's own JavaScript (faceplugin-face-recognition-js, lib/fr_liveness.js) feeds it:
        # box x2.7 kept inside the image, 128x128, RGB 0..255 unnormalised, softmax, class 0 = live.
        name="fr_liveness", model=_installed("fr_liveness"), input_size=(128, 128), color_order="RGB",
        mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), crop_scale=2.7, output_kind="softmax",
        class_index=0, positive="real", trained=True,
        description="installed model set's presentation-attack classifier (3 classes, 0 = live)",
        caveat=LIVENESS_CAVEAT))
    register_detector(DetectorSpec(
        name="meso4", model=_reference("meso4"), input_size=(256, 256), color_order="RGB",
        std=(255.0,) * 3, crop_scale=1.0, output_kind="probability", class_index=0, positive="fake",
        trained=False, description="Meso4 (Afchar et al. 2018), 256x256, sigmoid output",
        caveat=UNTRAINED_CAVEAT))
    register_detector(DetectorSpec(
        name="mesoinception4", model=_reference("mesoinception4"), input_size=(256, 256), color_order="RGB",
        std=(255.0,) * 3, crop_scale=1.0, output_kind="probability", class_index=0, positive="fake",
        trained=False, description="MesoInception4 (Afchar et al. 2018), 256x256, sigmoid output",
        caveat=UNTRAINED_CAVEAT))
    register_detector(DetectorSpec(
        # FaceForensics++: face box enlarged 1.3x, square, 299x299, (x/255 - 0.5) / 0.5, softmax (real, fake)
        name="xception", model=_reference("xception"), input_size=(299, 299), color_order="RGB",
        mean=(127.5,) * 3, std=(127.5,) * 3, crop_scale=1.3, square_crop=True, output_kind="probability",
        class_index=1, positive="fake", trained=False,
        description="Xception-299 as in FaceForensics++ (2-class softmax inside the graph)",
        caveat=UNTRAINED_CAVEAT))
    register_detector(DetectorSpec(
        name="efficientnet_b4", model=_reference("efficientnet_b4"), input_size=(380, 380), color_order="RGB",
        mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375), crop_scale=1.3, square_crop=True,
        output_kind="logit", class_index=0, positive="fake", trained=False,
        description="EfficientNet-B4-sized MBConv network, 380x380, ImageNet normalisation, 1 logit",
        caveat=UNTRAINED_CAVEAT))


_register_builtins()
_BUILTIN = frozenset(_REGISTRY)


def load_detector(detector: str | DetectorSpec, **kwargs: Any) -> OnnxDetector:
    """A ready ONNX detector by registered name or from a spec; kwargs go to :class:`OnnxDetector`.
    (Any detector spec string, ``sim:`` and the trained ones included: :func:`harness.detectors.resolve_detector`.)"""
    from harness.detectors.runtime import OnnxDetector

    spec = get_detector_spec(detector) if isinstance(detector, str) else detector
    return OnnxDetector(spec, **kwargs)
