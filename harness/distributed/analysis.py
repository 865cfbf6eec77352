"""Face analysis of a campaign's images as a Ray Data batch stage, before the shards run.

Against the in-process mocks a campaign's cost is the face models: the crop (a detection on the
image as given) and each vendor's analysis of the crop (detection, landmarks, embedding). This
stage does that work once per distinct image, on a pool of Ray Data actors (:class:`FaceStage`),
each holding one set of model sessions for its whole life: it builds the campaign's vendors from the
same picklable factory the shards use, so the analyzer, its models and its settings are the ones
the shards would have used.

* the crops land in the campaign's crops folder (the shards' preparers read them from there);
* each image is analysed by every recognizer the vendors use (the mocks' profiles may name
  different ones); the analyses are written to ``<out>/shards/faces/<model>/<sha256>.pkl``
  (:class:`FaceStore`), so the driver holds none of them however large the campaign, and a rerun
  after a killed driver finds the ones already made;
* each shard reads the analyses of its own images from there and seeds its vendors' analyzers
  (:func:`seed_analyzers`); the vendors' own logic (image checks, gallery, thresholds) runs in
  the shard as before, so answers are those of the single-process run;
* an image that cannot be prepared or analysed gets no entry: its shard meets the same error itself
  and answers it as the single-process run does (a row error, never "no celebrity").

Backends whose vendors analyse faces elsewhere (HTTP mocks, real services, cassettes) have no
analyzer in this process (:func:`vendor_analyzers` is empty) and skip the stage.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.campaign.prepare import ImagePreparer
from harness.distributed.cluster import quiet_ray_data
from harness.errors import DfiError
from harness.models.runtime import THREADS_ENV

BATCH_SIZE = 16  # images per batch: long enough to amortise Ray Data's per-batch overhead

ImageRef = tuple[str, str]  # (image reference, role the campaign prepares it as)


def _analyzer_of(vendor: Any) -> Any | None:
    """The face analyzer an in-process mock vendor (batched or not) analyses with, or None."""
    analyzer = getattr(vendor, "analyzer", None) or getattr(getattr(vendor, "behaviour", None), "analyzer", None)
    return analyzer if analyzer is not None and hasattr(analyzer, "put") and hasattr(analyzer, "analyze") else None


def vendor_analyzers(vendors: Mapping[str, Any]) -> dict[str, Any]:
    """model id -> a face analyzer of the vendors that analyse faces in this process (the in-process mocks:
    vendors of one recognizer share one embedding cache; each may have its own recognizer)."""
    out: dict[str, Any] = {}
    for model_id, analyzer in _all_analyzers(vendors):
        out.setdefault(model_id, analyzer)
    return out


def _all_analyzers(vendors: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """Every distinct analyzer object of the vendors, with its model id."""
    seen: dict[int, tuple[str, Any]] = {}
    for vendor in vendors.values():
        analyzer = _analyzer_of(vendor)
        if analyzer is not None:
            seen.setdefault(id(analyzer), (str(analyzer.model_id), analyzer))
    return list(seen.values())


class FaceStore:
    """The face stage's analyses on the campaign's filesystem: one pickle per (model, prepared image)."""

    def __init__(self, root: Path):
        self.root = Path(root)

    def path(self, model_id: str, sha256: str) -> Path:
        model = hashlib.sha256(model_id.encode()).hexdigest()[:16]
        return self.root / model / sha256[:2] / f"{sha256}.pkl"

    def has(self, model_id: str, sha256: str) -> bool:
        return self.path(model_id, sha256).is_file()

    def put(self, model_id: str, analysis: Any) -> None:
        target = self.path(model_id, analysis.sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")  # two actors may analyse one image
        tmp.write_bytes(pickle.dumps(analysis, protocol=pickle.HIGHEST_PROTOCOL))
        tmp.replace(target)

    def get(self, model_id: str, sha256: str) -> Any | None:
        try:
            return pickle.loads(self.path(model_id, sha256).read_bytes())  # noqa: S301 - the stage's own output
        except (OSError, pickle.UnpicklingError, EOFError):
            return None  # absent or torn: the shard analyses the image itself


def seed_analyzers(vendors: Mapping[str, Any], store: FaceStore, sha256s: Iterable[str]) -> int:
    """Put the stored analyses of the images ``sha256s`` into the vendors' analyzers of each model; how
    many analyses were found."""
    by_model: dict[str, list[Any]] = {}
    for model_id, analyzer in _all_analyzers(vendors):
        by_model.setdefault(model_id, []).append(analyzer)
    n = 0
    for sha in sorted(set(sha256s)):
        for model_id, analyzers in by_model.items():
            analysis = store.get(model_id, sha)
            if analysis is None:
                continue
            n += 1
            for analyzer in analyzers:
                analyzer.put(analysis)
    return n


def analysis_misses(vendors: Mapping[str, Any]) -> int:
    """Images the vendors' analyzers have analysed themselves so far (cache misses)."""
    return sum(int(getattr(a, "misses", 0)) for _, a in _all_analyzers(vendors))


class FaceStage:
    """A Ray Data actor: the campaign's vendors built once (one model session per actor process),
    then batches of image references prepared and analysed by each of the vendors' recognizers."""

    def __init__(self, factory: Any, crop: bool | str, crops_dir: str, faces_dir: str):
        os.environ.setdefault(THREADS_ENV, "1")  # one CPU per actor: onnxruntime must not spread over all cores
        self.analyzers = sorted(vendor_analyzers(factory()).items())
        if not self.analyzers:
            raise DfiError("the face stage needs vendors with a face analyzer (the in-process mocks)")
        self.preparer = ImagePreparer(crop=crop, cache_dir=Path(crops_dir))
        self.store = FaceStore(Path(faces_dir))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        from harness.faces.types import FaceError

        analysed = []
        for ref, role in zip(batch["ref"].tolist(), batch["role"].tolist(), strict=True):
            image = self.preparer.prepare(str(ref), str(role))
            done = False
            if not image.error and image.data is not None and image.sha256:
                for model_id, analyzer in self.analyzers:
                    if self.store.has(model_id, image.sha256):  # an earlier, killed run's
                        done = True
                        continue
                    try:
                        self.store.put(model_id, analyzer.analyze(image.data, image.sha256))
                        done = True
                    except FaceError:
                        pass  # the shard meets the same error and answers it as a row error
            analysed.append(done)
        return {"analysed": np.array(analysed, dtype=bool)}


@dataclass(frozen=True)
class FaceStageReport:
    images: int  # distinct (reference, role) pairs sent through the stage
    analysed: int  # of which analysed by at least one recognizer (the rest: no face crop, unreadable)
    seconds: float
    analysed_in_shards: int = 0  # images the shards still had to analyse themselves (filled in after them)


def analyse_on_ray(ray: Any, factory: Any, images: Iterable[ImageRef], *, crop: bool | str, crops_dir: Path,
                   faces_dir: Path, workers: int, batch_size: int = BATCH_SIZE) -> FaceStageReport:
    """Analyse ``images`` into ``faces_dir`` (a :class:`FaceStore`) with ``workers`` :class:`FaceStage` actors."""
    import ray.data

    start = time.perf_counter()
    todo = sorted(set(images))
    if not todo:
        return FaceStageReport(0, 0, 0.0)
    quiet_ray_data(ray)
    crops_dir.mkdir(parents=True, exist_ok=True)
    faces_dir.mkdir(parents=True, exist_ok=True)
    ds = ray.data.from_items([{"ref": ref, "role": role} for ref, role in todo])
    pool = ray.data.ActorPoolStrategy(size=max(1, min(workers, -(-len(todo) // batch_size))))
    ds = ds.map_batches(FaceStage, fn_constructor_args=(factory, crop, str(crops_dir), str(faces_dir)),
                        batch_size=batch_size, batch_format="numpy", compute=pool, num_cpus=1)
    analysed = sum(int(batch["analysed"].sum()) for batch in ds.iter_batches(batch_format="numpy", batch_size=None))
    return FaceStageReport(len(todo), analysed, time.perf_counter() - start)
