"""Vendor profiles: what a mock vendor knows, how it turns a cosine into a confidence, what it reports.

A profile is a small YAML file (``mockvendors/profiles/{aws,ms,nav}.yaml`` are the defaults). Users
override any part of it with their own file or a dict (:func:`load_profile`). Every calibration is
a serialisable object (``to_dict``/``calibration_from_dict``) so a later fit to recorded vendor data
can be written back into a profile file.

Scales: calibrations map an embedding cosine (-1..1) to a *fraction* 0..1; the profile's ``scale``
(100 for AWS, 1 for Azure and Naver) turns it into the vendor's own number.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import yaml

from harness.errors import DfiError, InputFileError
from harness.faces.anchors import Anchors, scale_slope, to_scale
from harness.faces.registry import DEFAULT_DETECTOR, DEFAULT_RECOGNIZER, DETECTORS, RECOGNIZERS, anchors
from harness.vendors import registry

if TYPE_CHECKING:
    from mockvendors.fitted.model import VendorModel


class ProfileError(DfiError):
    """A vendor profile is malformed."""


DEFAULT_SET = "default"
# Named profile sets besides the hand-set defaults: a folder of mockvendors/profiles with one override
# file per vendor (``<vendor>.yaml``) and its behaviour model (``<vendor>.model.yaml``).
NAMED_SETS: dict[str, str] = {
    "study-2020": "fitted to the study's recorded answers and published aggregates (dfi vendorfit)",
}


class Calibration(Protocol):
    """A monotone non-decreasing map from cosine similarity to a confidence fraction in [0, 1]."""

    def __call__(self, cosine: np.ndarray) -> np.ndarray: ...

    def to_dict(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LogisticCalibration:
    """``floor + (ceiling - floor) / (1 + exp(-(cos - midpoint) / width))``.

    ``midpoint`` is the cosine at which the confidence is half-way between floor and ceiling;
    ``width`` is the cosine distance over which it rises from ~27% to ~73% of that range.
    """

    midpoint: float
    width: float
    floor: float = 0.0
    ceiling: float = 1.0

    def __post_init__(self) -> None:
        if not self.width > 0:
            raise ProfileError(f"logistic calibration: width must be > 0, got {self.width}")
        if not 0.0 <= self.floor < self.ceiling <= 1.0:
            raise ProfileError(
                f"logistic calibration: need 0 <= floor < ceiling <= 1, got {self.floor}, {self.ceiling}"
            )

    def __call__(self, cosine: np.ndarray) -> np.ndarray:
        z = (np.asarray(cosine, dtype=np.float64) - self.midpoint) / self.width
        return self.floor + (self.ceiling - self.floor) / (1.0 + np.exp(-np.clip(z, -60.0, 60.0)))

    def inverse(self, fraction: float) -> float:
        """The cosine at which the calibration reaches ``fraction`` (for documentation and tests)."""
        p = (fraction - self.floor) / (self.ceiling - self.floor)
        if not 0.0 < p < 1.0:
            raise ValueError(f"{fraction} is outside the calibration's open range")
        return float(self.midpoint - self.width * np.log(1.0 / p - 1.0))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "logistic",
            "midpoint": self.midpoint,
            "width": self.width,
            "floor": self.floor,
            "ceiling": self.ceiling,
        }


@dataclass(frozen=True)
class PiecewiseLinearCalibration:
    """Linear interpolation through knots ``(cosine, fraction)``; flat outside the first/last knot."""

    cosines: tuple[float, ...]
    fractions: tuple[float, ...]

    def __post_init__(self) -> None:
        c, f = np.asarray(self.cosines, float), np.asarray(self.fractions, float)
        if len(c) < 2 or len(c) != len(f):
            raise ProfileError("piecewise-linear calibration: need >= 2 knots with as many fractions as cosines")
        if np.any(np.diff(c) <= 0):
            raise ProfileError("piecewise-linear calibration: knot cosines must be strictly increasing")
        if np.any(np.diff(f) < 0):
            raise ProfileError("piecewise-linear calibration: fractions must not decrease (monotone)")
        if f.min() < 0 or f.max() > 1:
            raise ProfileError("piecewise-linear calibration: fractions must lie in [0, 1]")

    def __call__(self, cosine: np.ndarray) -> np.ndarray:
        return np.interp(np.asarray(cosine, dtype=np.float64), self.cosines, self.fractions)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "piecewise_linear", "knots": [[c, f] for c, f in zip(self.cosines, self.fractions)]}


def calibration_from_dict(d: dict[str, Any]) -> Calibration:
    kind = d.get("kind")
    try:
        if kind == "logistic":
            return LogisticCalibration(
                float(d["midpoint"]), float(d["width"]), float(d.get("floor", 0.0)), float(d.get("ceiling", 1.0))
            )
        if kind == "piecewise_linear":
            knots = d["knots"]
            return PiecewiseLinearCalibration(tuple(float(k[0]) for k in knots), tuple(float(k[1]) for k in knots))
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise ProfileError(f"calibration {d!r}: {exc}") from exc
    raise ProfileError(f"unknown calibration kind {kind!r} (use 'logistic' or 'piecewise_linear')")


def rescale_calibration(cal: Calibration, source: Anchors, target: Anchors) -> Calibration:
    """The calibration that answers on ``target``'s cosine scale what ``cal`` answers on ``source``'s
    (scales matched linearly through their anchors, :func:`harness.faces.anchors.to_scale`)."""
    if isinstance(cal, LogisticCalibration):
        return LogisticCalibration(float(to_scale(cal.midpoint, source, target)),
                                   cal.width * scale_slope(source, target), cal.floor, cal.ceiling)
    if isinstance(cal, PiecewiseLinearCalibration):
        return PiecewiseLinearCalibration(tuple(float(c) for c in to_scale(np.asarray(cal.cosines), source, target)),
                                          cal.fractions)
    raise ProfileError(f"cannot carry a {type(cal).__name__} to another recognizer's scale")


@dataclass(frozen=True)
class CoverageRule:
    """Identities whose tags contain every ``match`` pair are known with probability ``known``."""

    match: dict[str, str]
    known: float

    def matches(self, tags: dict[str, str]) -> bool:
        return all(str(tags.get(k, "")).lower() == str(v).lower() for k, v in self.match.items())


@dataclass(frozen=True)
class Coverage:
    """Which gallery identities a vendor knows. The first matching rule decides; ``default`` otherwise.

    A fractional ``known`` is resolved deterministically per (vendor, identity id), so the same
    identity is always known or always unknown to a given vendor.
    """

    rules: tuple[CoverageRule, ...] = ()
    default: float = 1.0

    def knows(self, vendor: str, identity_id: str, tags: dict[str, str]) -> bool:
        p = self.default
        for rule in self.rules:
            if rule.matches(tags):
                p = rule.known
                break
        if p >= 1.0:
            return True
        if p <= 0.0:
            return False
        h = hashlib.sha256(f"{vendor}:{identity_id}".encode()).digest()
        return int.from_bytes(h[:8], "big") / 2**64 < p


@dataclass(frozen=True)
class SimilarityCall:
    """The vendor's face-similarity call (AWS CompareFaces, Azure verify/find-similar)."""

    calibration: Calibration
    scale: float  # 100 (AWS Similarity) or 1 (Azure confidence)
    threshold: float  # vendor scale: AWS SimilarityThreshold default 80; Azure isIdentical at 0.5


@dataclass(frozen=True)
class Faults:
    """Fault injection for users testing their retry code. All off by default."""

    latency_ms: float = 0.0  # added to every request
    error_rate: float = 0.0  # share of requests answered with the vendor's 5xx error
    tps: float | None = None  # requests/s above which the vendor's throttling error is returned
    seed: int = 0  # seeds the error-rate draw so a run is repeatable

    def __post_init__(self) -> None:
        if self.latency_ms < 0 or not 0 <= self.error_rate <= 1 or (self.tps is not None and self.tps <= 0):
            raise ProfileError(f"faults: need latency_ms >= 0, 0 <= error_rate <= 1, tps > 0; got {self}")


@dataclass(frozen=True)
class VendorProfile:
    vendor: str  # "aws" | "ms" | "nav"
    display_name: str
    scale: float  # 100 for AWS, 1 for Azure/Naver
    calibration: Calibration  # recognition: cosine to the best gallery identity -> fraction
    report_threshold: float  # vendor scale; a face is named only at confidence >= this
    always_name_best: bool  # NAV: every detected face gets its best identity, whatever the score
    coverage: Coverage = field(default_factory=Coverage)
    similarity: SimilarityCall | None = None
    max_faces: int = 100
    decimals: int | None = None  # round reported confidences (the study's AWS files hold x.0 / x.5)
    faults: Faults = field(default_factory=Faults)
    source: str = "<built-in>"
    # the face models this vendor answers from (harness.faces.registry); a profile without them uses the
    # default pair, so older profiles keep working
    recognizer: str = "faceplugin"
    detector: str = "faceplugin"
    # a named profile fitted to what the vendor answered (``study-2020``) carries its behaviour model
    # (mockvendors.fitted.model.VendorModel, as a dict) for the simulation, which can draw from it
    behaviour_model: dict[str, Any] | None = None
    profile_set: str = DEFAULT_SET

    def fitted_model(self) -> VendorModel | None:
        """The behaviour model this profile was fitted with, where it has one."""
        if self.behaviour_model is None:
            return None
        from mockvendors.fitted.model import VendorModel

        return VendorModel.from_dict(self.behaviour_model)

    def confidence(self, cosine: np.ndarray) -> np.ndarray:
        """Vendor-scale confidence for cosines (vectorised)."""
        c = self.calibration(cosine) * self.scale
        return np.round(c, self.decimals) if self.decimals is not None else c

    def with_faults(self, faults: Faults) -> VendorProfile:
        return _replace(self, faults=faults)

    def on_scale_of(self, recognizer: str) -> VendorProfile:
        """This profile with its calibrations carried to ``recognizer``'s cosine scale (the embedding-space
        simulation works on the reference recognizer's scale, whatever the vendor's own model is)."""
        if recognizer == self.recognizer:
            return self
        src, dst = anchors(self.recognizer), anchors(recognizer)
        sim = self.similarity
        if sim is not None:
            sim = SimilarityCall(rescale_calibration(sim.calibration, src, dst), sim.scale, sim.threshold)
        return _replace(self, calibration=rescale_calibration(self.calibration, src, dst), similarity=sim,
                        recognizer=recognizer)


def _replace(p: VendorProfile, **changes: Any) -> VendorProfile:
    from dataclasses import replace

    return replace(p, **changes)


def _deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in override.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict) and "kind" not in v:
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def default_profile_dict(vendor: str) -> dict[str, Any]:
    """The vendor's default profile: the registry's ``profile_ref``, a ``package:file.yaml``
    resource or a file path."""
    if vendor not in registry.names():
        raise ProfileError(f"unknown vendor {vendor!r}; choose one of {', '.join(registry.names())}")
    ref = registry.get(vendor).profile
    package, sep, name = ref.partition(":")
    if sep and not Path(ref).exists():
        text = resources.files(package).joinpath(name).read_text(encoding="utf-8")
    else:
        text = Path(ref).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def profile_from_dict(d: dict[str, Any], source: str = "<dict>") -> VendorProfile:
    try:
        vendor = d["vendor"]
        if vendor not in registry.names():
            raise ProfileError(f"{source}: vendor must be one of {registry.names()}, got {vendor!r}")
        cov = d.get("coverage") or {}
        coverage = Coverage(
            rules=tuple(
                CoverageRule({str(k): str(v) for k, v in r["match"].items()}, float(r["known"]))
                for r in cov.get("rules", []) or []
            ),
            default=float(cov.get("default", 1.0)),
        )
        sim = d.get("similarity")
        similarity = None
        if sim:
            similarity = SimilarityCall(
                calibration_from_dict(sim["calibration"]), float(sim["scale"]), float(sim["threshold"])
            )
        fd = d.get("faults") or {}
        faults = Faults(
            float(fd.get("latency_ms", 0.0)),
            float(fd.get("error_rate", 0.0)),
            None if fd.get("tps") in (None, 0) else float(fd["tps"]),
            int(fd.get("seed", 0)),
        )
        profile = VendorProfile(
            vendor=vendor,
            display_name=str(d.get("display_name", vendor)),
            scale=float(d["scale"]),
            calibration=calibration_from_dict(d["calibration"]),
            report_threshold=float(d["report_threshold"]),
            always_name_best=bool(d.get("always_name_best", False)),
            coverage=coverage,
            similarity=similarity,
            max_faces=int(d.get("max_faces", 100)),
            decimals=None if d.get("decimals") is None else int(d["decimals"]),
            faults=faults,
            source=source,
            recognizer=str(d.get("recognizer") or DEFAULT_RECOGNIZER),
            detector=str(d.get("detector") or DEFAULT_DETECTOR),
            behaviour_model=d.get("behaviour_model"),
            profile_set=str(d.get("profile_set") or DEFAULT_SET),
        )
        _check_scales(profile)
        _check_models(profile)
        return profile
    except ProfileError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProfileError(f"{source}: malformed profile ({type(exc).__name__}: {exc})") from exc


def _check_models(p: VendorProfile) -> None:
    if p.recognizer not in RECOGNIZERS:
        raise ProfileError(f"{p.source}: recognizer must be one of {', '.join(RECOGNIZERS)}, got {p.recognizer!r}")
    if p.detector not in DETECTORS:
        raise ProfileError(f"{p.source}: detector must be one of {', '.join(DETECTORS)}, got {p.detector!r}")


def _check_scales(p: VendorProfile) -> None:
    """Scales positive, thresholds on their scale (NaN fails every comparison, so it is refused too)."""
    checks = [("scale", p.scale, 0.0, math.inf), ("report_threshold", p.report_threshold, 0.0, p.scale)]
    if p.similarity is not None:
        checks += [
            ("similarity.scale", p.similarity.scale, 0.0, math.inf),
            ("similarity.threshold", p.similarity.threshold, 0.0, p.similarity.scale),
        ]
    for name, value, low, high in checks:
        positive = name.endswith("scale")
        if not ((low < value if positive else low <= value) and value <= high):
            bound = "> 0" if positive else f"within 0..{high:g} (the scale)"
            raise ProfileError(f"{p.source}: {name} must be {bound}, got {value:g}")


def profile_to_dict(p: VendorProfile) -> dict[str, Any]:
    d: dict[str, Any] = {
        "vendor": p.vendor,
        "display_name": p.display_name,
        "scale": p.scale,
        "recognizer": p.recognizer,
        "detector": p.detector,
        "calibration": p.calibration.to_dict(),
        "report_threshold": p.report_threshold,
        "always_name_best": p.always_name_best,
        "coverage": {
            "default": p.coverage.default,
            "rules": [{"match": dict(r.match), "known": r.known} for r in p.coverage.rules],
        },
        "similarity": None
        if p.similarity is None
        else {
            "calibration": p.similarity.calibration.to_dict(),
            "scale": p.similarity.scale,
            "threshold": p.similarity.threshold,
        },
        "max_faces": p.max_faces,
        "decimals": p.decimals,
        "profile_set": p.profile_set,
        "faults": {
            "latency_ms": p.faults.latency_ms,
            "error_rate": p.faults.error_rate,
            "tps": p.faults.tps,
            "seed": p.faults.seed,
        },
    }
    return d


def named_profile_dict(name: str, vendor: str) -> dict[str, Any]:
    """The override of ``vendor`` in the named profile set ``name`` (:data:`NAMED_SETS`), with its
    behaviour model read in (``behaviour_model: <vendor>.model.yaml`` names the file beside it)."""
    if name not in NAMED_SETS:
        raise ProfileError(f"unknown profile {name!r}; named profiles: {', '.join([DEFAULT_SET, *NAMED_SETS])}")
    return copy.deepcopy(_named_profile_dict(name, vendor))


@functools.cache
def _named_profile_dict(name: str, vendor: str) -> dict[str, Any]:
    folder = resources.files("mockvendors.profiles").joinpath(name)
    try:
        extra = yaml.safe_load(folder.joinpath(f"{vendor}.yaml").read_text(encoding="utf-8")) or {}
        model_file = extra.get("behaviour_model")
        if isinstance(model_file, str):
            model = yaml.safe_load(folder.joinpath(model_file).read_text(encoding="utf-8")) or {}
            # the model file holds {vendor: model} (harness.vendorfit.build.save_models)
            extra["behaviour_model"] = model.get(vendor, model) if isinstance(model, dict) else model
    except FileNotFoundError as exc:
        raise ProfileError(f"profile {name!r} has no file for {vendor!r} ({exc.filename})") from None
    extra["profile_set"] = name
    return extra


def is_named_profile(override: object) -> bool:
    """``"default"``, a named set (``"study-2020"``) or one of its datasets (``"study-2020/CelebDF"``),
    where no file of that name exists."""
    if not isinstance(override, str) or Path(override).exists():
        return False
    name = override.partition("/")[0]
    return name == DEFAULT_SET and "/" not in override or name in NAMED_SETS


def load_profile(vendor: str, override: str | Path | dict[str, Any] | None = None) -> VendorProfile:
    """The built-in profile of ``vendor``, with ``override`` merged over it: a YAML file, a dict, or the
    name of a profile set (``"default"``: the built-in one; ``"study-2020"``: :data:`NAMED_SETS`)."""
    base = default_profile_dict(vendor)
    source = f"mockvendors/profiles/{vendor}.yaml"
    if override is None or override == DEFAULT_SET and is_named_profile(override):
        return profile_from_dict(base, source)
    if is_named_profile(override):
        name, _, dataset = str(override).partition("/")
        extra = named_profile_dict(name, vendor)
        per_dataset = extra.pop("datasets", None) or {}
        if dataset:
            if dataset not in per_dataset:
                raise ProfileError(f"profile {name!r} has no dataset {dataset!r} for {vendor}; it has "
                                   f"{', '.join(per_dataset) or 'none'}")
            extra = _deep_merge(extra, per_dataset[dataset])
        return profile_from_dict(_deep_merge(base, extra), f"mockvendors/profiles/{name}/{vendor}.yaml"
                                 + (f" ({dataset})" if dataset else ""))
    if isinstance(override, dict):
        extra, where = override, "<override dict>"
    else:
        path = Path(override)
        try:
            extra = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except OSError as exc:
            raise InputFileError(str(path), f"cannot read profile: {exc.strerror}") from exc
        except yaml.YAMLError as exc:
            raise InputFileError(str(path), f"not valid YAML: {exc}") from exc
        if not isinstance(extra, dict):
            raise InputFileError(str(path), "a profile file must hold a mapping")
        where = str(path)
    if extra.get("vendor", vendor) != vendor:
        raise ProfileError(f"{where}: is a profile for {extra['vendor']!r}, not {vendor!r}")
    return profile_from_dict(_deep_merge(base, extra), f"{source} + {where}")
