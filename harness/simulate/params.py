"""Parameters of the embedding-space simulation, with where each number comes from.

The defaults live in ``harness/simulate/params.json`` (written by ``dfi simulate --estimate``
from real measurements with the installed embedding model; see :mod:`harness.simulate.estimate`).
Scale defaults follow the study: 286 celebrities; five datasets with the study's probe counts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from importlib import resources
from pathlib import Path
from typing import Any

from harness.errors import DfiError, InputFileError

FAMILIES = ("replacement", "reenactment", "synthesis")
# Region tags of the synthetic celebrities: the study's targets are mostly Western, with Korean
# (e.g. IU) and Indian celebrities among them; vendor coverage rules key on these tags.
DEFAULT_REGIONS = {"western": 0.75, "east-asia": 0.15, "south-asia": 0.10}


class SimulationError(DfiError):
    """The simulation is misconfigured."""


@dataclass(frozen=True)
class Spread:
    mean: float
    sd: float

    def __post_init__(self) -> None:
        if self.sd < 0:
            raise SimulationError(f"a spread needs sd >= 0, got {self.sd}")


@dataclass(frozen=True)
class EmbeddingStats:
    """Cosine statistics of real face photos under the embedding model."""

    same_person: Spread  # two different photos of one person
    different_person: Spread  # photos of two different people
    dim: int = 512
    provenance: str = ""


@dataclass(frozen=True)
class GeneratorStats:
    """How far a generation family moves a face, as cosines of the deepfake's embedding to the
    photo it takes the identity from (``to_identity``) and to the other person's photo
    (``to_other``: the reference video's person; for synthesis, the second blended source)."""

    to_identity: Spread
    to_other: Spread
    provenance: str = ""


@dataclass(frozen=True)
class Coupling:
    """How much of one recognizer's view of the world it shares with the reference recognizer's.

    Every random draw of the world (identity centres, photos, deepfakes) is a standard normal;
    a recognizer's draw is ``sqrt(c) * shared + sqrt(1 - c) * own``, so its marginal statistics are
    its own (its measured spreads) whatever ``c`` is, and ``c`` sets how far its mistakes follow the
    reference recognizer's: 1 = the same world seen on another scale, 0 = independent mistakes.
    ``identity`` couples who looks like whom (centres and photos), ``deepfake`` how strongly each fake
    carries its target (the generator's draws)."""

    identity: float
    deepfake: float
    provenance: str = ""

    def __post_init__(self) -> None:
        for name, value in (("identity", self.identity), ("deepfake", self.deepfake)):
            if not 0.0 <= value <= 1.0:
                raise SimulationError(f"a coupling needs 0 <= {name} <= 1, got {value}")


@dataclass(frozen=True)
class RecognizerStats:
    """The world as one more recognizer sees it: its own cosine statistics and its coupling to the
    reference recognizer (:attr:`SimulationParams.recognizer`)."""

    embedding: EmbeddingStats
    generators: dict[str, GeneratorStats]
    coupling: Coupling


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    method: str
    probes: int
    targets: int
    # optional per-dataset override of the family's to_identity spread (e.g. fitted to the study)
    to_identity: Spread | None = None

    def __post_init__(self) -> None:
        if self.method not in FAMILIES:
            raise SimulationError(f"dataset {self.name}: method must be one of {FAMILIES}")
        if self.probes < 1 or self.targets < 1:
            raise SimulationError(f"dataset {self.name}: needs at least one probe and one target")


@dataclass(frozen=True)
class SimulationParams:
    embedding: EmbeddingStats
    generators: dict[str, GeneratorStats]
    datasets: tuple[DatasetSpec, ...]
    celebrities: int = 286
    regions: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_REGIONS))
    gallery_photos: int = 5
    seed: int = 0
    notes: str = ""
    # the recognizer ``embedding`` and ``generators`` were measured with, and the others' views
    recognizer: str = "faceplugin"
    recognizers: dict[str, RecognizerStats] = field(default_factory=dict)

    def __post_init__(self) -> None:
        need = max((d.targets for d in self.datasets), default=0) + 1
        if self.celebrities < need:
            raise SimulationError(f"{self.celebrities} celebrities are fewer than a dataset's targets plus a reference")
        missing = {d.method for d in self.datasets} - set(self.generators)
        if missing:
            raise SimulationError(f"no generator statistics for {sorted(missing)}")
        if abs(sum(self.regions.values()) - 1.0) > 1e-6:
            raise SimulationError("region shares must add up to 1")
        for name, view in self.recognizers.items():
            gaps = {d.method for d in self.datasets} - set(view.generators)
            if gaps:
                raise SimulationError(f"recognizer {name}: no generator statistics for {sorted(gaps)}")
        if self.recognizer in self.recognizers:
            raise SimulationError(f"{self.recognizer} is the reference recognizer; it cannot also be a view")

    @property
    def recognizer_names(self) -> tuple[str, ...]:
        """The reference recognizer, then every other one the world has a view for."""
        return (self.recognizer, *self.recognizers)

    def stats_of(self, recognizer: str) -> tuple[EmbeddingStats, dict[str, GeneratorStats]]:
        if recognizer == self.recognizer:
            return self.embedding, self.generators
        view = self.recognizers[recognizer]
        return view.embedding, view.generators

    @property
    def total_probes(self) -> int:
        return sum(d.probes for d in self.datasets)

    def scaled(self, factor: float) -> SimulationParams:
        """Same world with every dataset's probe count multiplied by ``factor`` (at least 1 each)."""
        ds = tuple(replace(d, probes=max(1, round(d.probes * factor))) for d in self.datasets)
        return replace(self, datasets=ds)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["datasets"] = [asdict(x) for x in self.datasets]
        return d

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str = "<dict>") -> SimulationParams:
        try:
            return cls(
                embedding=_embedding_stats(d["embedding"]),
                generators=_generator_stats(d["generators"]),
                datasets=tuple(DatasetSpec(**{**x, "to_identity": Spread(**x["to_identity"])})
                               if x.get("to_identity")
                               else DatasetSpec(**{k: v for k, v in x.items() if k != "to_identity"})
                               for x in d["datasets"]),
                celebrities=int(d.get("celebrities", 286)),
                regions={str(k): float(v) for k, v in (d.get("regions") or DEFAULT_REGIONS).items()},
                gallery_photos=int(d.get("gallery_photos", 5)),
                seed=int(d.get("seed", 0)),
                notes=str(d.get("notes", "")),
                recognizer=str(d.get("recognizer", "faceplugin")),
                recognizers={str(name): RecognizerStats(_embedding_stats(v["embedding"]),
                                                        _generator_stats(v["generators"]),
                                                        Coupling(**v["coupling"]))
                             for name, v in (d.get("recognizers") or {}).items()},
            )
        except SimulationError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise InputFileError(source, f"bad simulation parameters: {type(exc).__name__}: {exc}") from exc

    @classmethod
    def load(cls, path: Path | None = None) -> SimulationParams:
        """``path``, or the packaged defaults (``harness/simulate/params.json``)."""
        if path is None:
            text = resources.files("harness.simulate").joinpath("params.json").read_text(encoding="utf-8")
            return cls.from_dict(json.loads(text), "harness/simulate/params.json")
        try:
            return cls.from_dict(json.loads(Path(path).read_text()), str(path))
        except OSError as exc:
            raise InputFileError(str(path), f"cannot read: {exc.strerror}") from exc
        except json.JSONDecodeError as exc:
            raise InputFileError(str(path), f"not JSON: {exc}") from exc


def _embedding_stats(emb: dict[str, Any]) -> EmbeddingStats:
    return EmbeddingStats(Spread(**emb["same_person"]), Spread(**emb["different_person"]),
                          int(emb.get("dim", 512)), str(emb.get("provenance", "")))


def _generator_stats(gens: dict[str, Any]) -> dict[str, GeneratorStats]:
    return {k: GeneratorStats(Spread(**g["to_identity"]), Spread(**g["to_other"]), str(g.get("provenance", "")))
            for k, g in gens.items()}


# The study's datasets: probe counts are the rows of its recorded result files (FCelebDF: the AWS/MS
# files' 4,902), targets the distinct impersonated celebrities in them.
STUDY_DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("CelebDF", "replacement", 5639, 57),
    DatasetSpec("FCelebDF", "replacement", 4902, 50),
    DatasetSpec("VoxCelebTH", "reenactment", 3200, 50),
    DatasetSpec("CelebFOM", "reenactment", 2176, 58),
    DatasetSpec("CelebBlend", "synthesis", 179, 20),
)
