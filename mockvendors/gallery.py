"""The celebrity gallery a mock vendor knows: identities and the embeddings of their enrolment photos.

Enrol from a folder per name (``root/<Name>/*.jpg``; underscores in folder names become spaces;
an optional ``root/gallery.yaml`` gives ids, tags and urls), from explicit image lists, or load a
saved embeddings file (``.npz`` or ``.json``, see :meth:`Gallery.save`).

Each enrolment photo is remembered by its sha256. A probe whose bytes equal an enrolment photo is
matched without that photo (hold-out), so a vendor never "recognises" the exact image it learnt from.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from harness.errors import DfiError, InputFileError
from harness.faces.types import FaceError
from mockvendors.analysis import Analyzer, sha256_hex

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".gif", ".tif", ".tiff"}
# ``(photos enrolled, photos in all)``, called as each enrolment photo is analysed: set by a caller
# that shows progress (``dfi run`` while it starts the mock backend) around code that enrols
_ENROLMENT_PROGRESS: ContextVar[Callable[[int, int], None] | None] = ContextVar("enrolment_progress", default=None)
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class GalleryError(DfiError):
    """The gallery cannot be built or loaded."""


def stable_id(name: str) -> str:
    """An AWS-style celebrity id ([0-9A-Za-z], 8 chars) derived from the name: stable across runs."""
    n = int.from_bytes(hashlib.sha256(name.strip().lower().encode()).digest()[:8], "big")
    out = ""
    for _ in range(8):
        n, r = divmod(n, 62)
        out += _B62[r]
    return out


@dataclass(frozen=True)
class Identity:
    name: str
    id: str
    tags: dict[str, str] = field(default_factory=dict)
    urls: tuple[str, ...] = ()

    @property
    def gender(self) -> str | None:
        g = self.tags.get("gender", "").strip().lower()
        return {"male": "Male", "female": "Female", "nonbinary": "Nonbinary"}.get(g)


@dataclass
class EnrolmentReport:
    enrolled: dict[str, int] = field(default_factory=dict)  # name -> photos used
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why)


# A float32 product's rounding depends on its shape: a face's cosines come out about 1e-7 apart when it
# is multiplied with one other face or with fifteen. So probes are multiplied with the gallery in whole
# blocks of this many rows (the (rows x photos) cosines then stay in the cache for the per-identity
# maximum), and the rows after the last whole block one at a time. An image's faces then get the same
# numbers whatever else is asked about in the same call (an HTTP request, a batch of the in-process fast
# path, a Ray shard), and the simulation, which asks in whole blocks, the same numbers in any chunk.
PRODUCT_ROWS = 512


@dataclass(frozen=True)
class _ProductPlan:
    """Which gallery rows one product multiplies, in which column order, and how its columns reduce to
    each identity's best photo. Where every identity asked about has the same number of photos, the
    columns go photo by photo (every identity's first photo, then every second one, ...): the best
    photo is then an elementwise maximum of contiguous column blocks, several times faster than
    ``np.maximum.reduceat`` over identity-ordered columns, which the plan uses otherwise."""

    embeddings: np.ndarray  # (columns, D): the rows multiplied, in column order
    column_of_row: np.ndarray  # each owner-ordered gallery row's column, -1 where it is not multiplied
    identities: np.ndarray  # the identity (output column) of each reduced column, ascending
    photos_each: int  # > 0: photo-major columns; 0: identity-ordered, reduced at ``starts``
    starts: np.ndarray
    every_identity: bool  # ``identities`` is every identity of the gallery, in order

    @classmethod
    def of(cls, owner: np.ndarray, identities: int, embeddings: np.ndarray, among: np.ndarray | None) -> _ProductPlan:
        counts = np.bincount(owner, minlength=identities)
        wanted = counts > 0 if among is None else (counts > 0) & among
        chosen = np.flatnonzero(wanted)
        first = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        n = counts[chosen]
        if len(chosen) and n.min() == n.max():
            photos = int(n[0])
            rows = (first[chosen][None, :] + np.arange(photos)[:, None]).reshape(-1)  # photo-major
            starts = np.zeros(0, dtype=np.int64)
        else:
            photos = 0
            rows = np.concatenate([np.arange(f, f + c) for f, c in zip(first[chosen], n, strict=True)]
                                  ).astype(np.int64) if len(chosen) else np.zeros(0, dtype=np.int64)
            starts = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
        column_of_row = np.full(len(owner), -1, dtype=np.int64)
        column_of_row[rows] = np.arange(len(rows))
        return cls(np.ascontiguousarray(embeddings[rows]), column_of_row, chosen, photos, starts,
                   len(chosen) == identities)

    def best_into(self, sims: np.ndarray, out: np.ndarray) -> None:
        """Each identity's best column of ``sims`` (rows x columns) into ``out`` (rows x identities,
        -inf wherever the plan has no column)."""
        if not len(self.identities):
            return
        k = len(self.identities)
        if self.photos_each:
            best = out if self.every_identity else np.empty((len(sims), k), dtype=sims.dtype)
            np.copyto(best, sims[:, :k])
            for start in range(k, sims.shape[1], k):
                np.maximum(best, sims[:, start:start + k], out=best)
        else:
            best = np.maximum.reduceat(sims, self.starts, axis=1)
            if self.every_identity:
                np.copyto(out, best)
        if not self.every_identity:
            out[:, self.identities] = best


class Gallery:
    """Identities plus one L2-normalised embedding per enrolment photo (rows grouped by identity)."""

    def __init__(self, identities: list[Identity], embeddings: np.ndarray, owner: np.ndarray,
                 image_sha256: list[str], model_id: str = "unknown", holdout: bool = True):
        embeddings = np.asarray(embeddings, dtype=np.float32)
        owner = np.asarray(owner, dtype=np.int64)
        if embeddings.ndim != 2 or len(embeddings) != len(owner) or len(owner) != len(image_sha256):
            raise GalleryError("embeddings, owner and image_sha256 must have one row per enrolment photo")
        if len(identities) and (owner.min(initial=0) < 0 or owner.max(initial=0) >= len(identities)):
            raise GalleryError("owner index out of range")
        ids = [i.id for i in identities]
        if len(set(ids)) != len(ids):
            raise GalleryError("identity ids must be unique")
        order = np.argsort(owner, kind="stable")
        self.identities = list(identities)
        norms = np.linalg.norm(embeddings, axis=1, keepdims=True)
        self.embeddings = (embeddings / np.where(norms > 0, norms, 1.0))[order].astype(np.float32)
        self.owner = owner[order]
        self.image_sha256 = [image_sha256[i] for i in order]
        self.model_id = model_id
        self.holdout = holdout
        self._plans: dict[bytes, _ProductPlan] = {}
        rows_of_sha: dict[str, list[int]] = {}
        for row, sha in enumerate(self.image_sha256):
            rows_of_sha.setdefault(sha, []).append(row)
        self._rows_of_sha: dict[str, np.ndarray] = {k: np.asarray(v) for k, v in rows_of_sha.items()}
        self._by_id = {i.id: i for i in self.identities}
        # how to enrol the same photos with another recognizer (set by enrol, from_folder, demo_gallery);
        # None for a gallery loaded from saved embeddings
        self.rebuild: Callable[[Analyzer], Gallery] | None = None
        # the enrolment photos as files (name -> paths), when every photo was a file: saved with the
        # embeddings, so a loaded gallery can still be enrolled again with another recognizer
        self.photo_files: dict[str, list[str]] | None = None
        self._rebuilt: dict[str, Gallery] = {}
        self._rebuild_lock = threading.Lock()

    def for_analyzer(self, analyzer: Analyzer, what: str = "the gallery") -> Gallery:
        """This gallery in ``analyzer``'s embedding space: itself when the models match, else the same photos
        enrolled again with it (once per model); a gallery of saved embeddings cannot change model."""
        mine, theirs = self.model_id, getattr(analyzer, "model_id", "unknown")
        if "unknown" in (mine, theirs) or mine == theirs:
            return self
        if self.rebuild is None:
            raise GalleryError(f"{what} was enrolled with {mine}, but this vendor's recognizer is {theirs}: enrol "
                               "the photos again with it (give the folder of photos instead of the embeddings)")
        with self._rebuild_lock:
            if theirs not in self._rebuilt:
                self._rebuilt[theirs] = self.rebuild(analyzer)
            return self._rebuilt[theirs]

    # --- queries ------------------------------------------------------------------------------
    @property
    def dim(self) -> int:
        return int(self.embeddings.shape[1]) if self.embeddings.size else 0

    def __len__(self) -> int:
        return len(self.identities)

    def by_id(self, identity_id: str) -> Identity | None:
        return self._by_id.get(identity_id)

    def identity_cosines(self, probes: np.ndarray, exclude_sha256: str | Iterable[str] | None = None,
                         among: np.ndarray | None = None) -> np.ndarray:
        """(N, K) best cosine of each probe to each identity's photos; -inf for an identity with none left.

        ``among``: a mask over the identities; the others are not compared at all (-inf)."""
        probes = np.atleast_2d(np.asarray(probes, dtype=np.float32))
        norms = np.linalg.norm(probes, axis=1, keepdims=True)
        probes = probes / np.where(norms > 0, norms, 1.0)
        k = len(self.identities)
        out = np.full((len(probes), k), -np.inf, dtype=np.float32)
        if not len(self.owner):
            return out
        if probes.shape[1] != self.dim:
            raise GalleryError(f"probe embeddings have {probes.shape[1]} dimensions, the gallery {self.dim}")
        plan = self._plan(among)
        held_out = self._held_out_rows(exclude_sha256)
        masked = None if held_out is None else plan.column_of_row[held_out]
        if masked is not None:
            masked = masked[masked >= 0]
        whole = len(probes) // PRODUCT_ROWS * PRODUCT_ROWS
        for start in range(0, whole, PRODUCT_ROWS):
            self._best_rows(plan, probes[start:start + PRODUCT_ROWS] @ plan.embeddings.T, masked,
                            out[start:start + PRODUCT_ROWS])
        for row in range(whole, len(probes)):  # one at a time: the same numbers in any batch
            self._best_rows(plan, (probes[row] @ plan.embeddings.T)[None, :], masked, out[row:row + 1])
        return out

    @staticmethod
    def _best_rows(plan: _ProductPlan, sims: np.ndarray, masked: np.ndarray | None, out: np.ndarray) -> None:
        if masked is not None and len(masked):
            sims[:, masked] = -np.inf
        plan.best_into(sims, out)

    def _plan(self, among: np.ndarray | None) -> _ProductPlan:
        if among is not None:
            among = np.asarray(among, dtype=bool)
            if among.shape != (len(self.identities),):
                raise GalleryError(f"the identity mask has shape {among.shape}, the gallery {len(self.identities)} "
                                   "identities")
        key = b"all" if among is None else among.tobytes()
        plan = self._plans.get(key)
        if plan is None:  # two threads may both build it: the same plan, so no lock
            plan = self._plans[key] = _ProductPlan.of(self.owner, len(self.identities), self.embeddings, among)
        return plan

    def _held_out_rows(self, exclude_sha256: str | Iterable[str] | None) -> np.ndarray | None:
        if not (self.holdout and exclude_sha256):
            return None
        shas = [exclude_sha256] if isinstance(exclude_sha256, str) else list(exclude_sha256)
        rows = [self._rows_of_sha[s] for s in shas if s in self._rows_of_sha]
        return np.concatenate(rows) if rows else None

    # --- building -----------------------------------------------------------------------------
    @classmethod
    def enrol(cls, photos: Mapping[str, Iterable[bytes | str | Path]], analyzer: Analyzer,
              meta: Mapping[str, Mapping[str, Any]] | None = None, holdout: bool = True,
              report: EnrolmentReport | None = None) -> Gallery:
        """Enrol ``{name: [image bytes or paths]}``; the largest face of each photo is used.

        ``meta[name]`` may give ``id``, ``tags`` (mapping) and ``urls`` (list). Photos without a face
        are skipped and listed in ``report``; a name left without any photo is an error."""
        report = report if report is not None else EnrolmentReport()
        meta = meta or {}
        photos = {name: list(sources) for name, sources in photos.items()}  # kept for rebuild: read once
        identities: list[Identity] = []
        rows: list[np.ndarray] = []
        owner: list[int] = []
        shas: list[str] = []
        progress = _ENROLMENT_PROGRESS.get()
        total, seen = sum(len(list(srcs)) for srcs in photos.values()), 0
        for name, sources in photos.items():
            used = 0
            idx = len(identities)
            for src in sources:
                if progress is not None:
                    progress(seen, total)
                seen += 1
                label = str(src) if not isinstance(src, bytes) else f"<{len(src)} bytes>"
                data = src if isinstance(src, bytes) else _read(Path(src))
                try:
                    analysis = analyzer.analyze(data)
                except FaceError as exc:
                    report.skipped.append((label, str(exc)))
                    continue
                if not analysis.faces:
                    report.skipped.append((label, "no face found"))
                    continue
                rows.append(analysis.faces[0].embedding)
                owner.append(idx)
                shas.append(analysis.sha256)
                used += 1
            if not used:
                raise GalleryError(f"no usable photo for {name!r} (every photo failed or had no face)")
            m = dict(meta.get(name, {}))
            identities.append(Identity(
                name=name, id=str(m.get("id") or stable_id(name)),
                tags={str(k): str(v) for k, v in (m.get("tags") or {}).items()},
                urls=tuple(str(u) for u in (m.get("urls") or ())),
            ))
            report.enrolled[name] = used
        emb = np.stack(rows) if rows else np.zeros((0, 0), np.float32)
        gallery = cls(identities, emb, np.asarray(owner), shas, analyzer.model_id, holdout)
        gallery.rebuild = lambda other: cls.enrol(photos, other, meta, holdout)
        if all(not isinstance(src, bytes) for sources in photos.values() for src in sources):
            gallery.photo_files = {name: [str(src) for src in sources] for name, sources in photos.items()}
        return gallery

    @staticmethod
    @contextmanager
    def enrolment_progress(callback: Callable[[int, int], None]) -> Iterator[None]:
        """Call ``callback(photos enrolled, photos in all)`` as photos are enrolled inside the block
        (in this thread); a gallery enrolled again for a second recognizer starts the count again."""
        token = _ENROLMENT_PROGRESS.set(callback)
        try:
            yield
        finally:
            _ENROLMENT_PROGRESS.reset(token)

    @classmethod
    def from_folder(cls, root: str | Path, analyzer: Analyzer, holdout: bool = True,
                    report: EnrolmentReport | None = None) -> Gallery:
        """``root/<Name>/*.{jpg,png,...}``; optional ``root/gallery.yaml``:
        ``identities: {Name: {id: ..., tags: {region: ..., gender: ...}, urls: [...]}}``."""
        root = Path(root)
        if not root.is_dir():
            raise InputFileError(str(root), "gallery folder not found")
        meta: dict[str, Any] = {}
        meta_file = root / "gallery.yaml"
        if meta_file.exists():
            try:
                meta = (yaml.safe_load(meta_file.read_text(encoding="utf-8")) or {}).get("identities") or {}
            except (yaml.YAMLError, AttributeError) as exc:
                raise InputFileError(str(meta_file), f"not a valid gallery.yaml: {exc}") from exc
        photos: dict[str, list[Path]] = {}
        for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            files = sorted(f for f in d.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
            if files:
                photos[d.name.replace("_", " ")] = files
        if not photos:
            raise InputFileError(str(root), "no <name>/ sub-folders with images (.jpg, .png, ...) found")
        gallery = cls.enrol(photos, analyzer, meta, holdout, report)
        gallery.rebuild = lambda other: cls.from_folder(root, other, holdout)
        return gallery

    @classmethod
    def load(cls, path: str | Path, holdout: bool = True) -> Gallery:
        """A gallery saved by :meth:`save` (``.npz``) or written as JSON:
        ``{"model_id": ..., "identities": [{"name", "id"?, "tags"?, "urls"?, "embeddings": [[...]],
        "image_sha256"?: [...]}]}``."""
        path = Path(path)
        if not path.is_file():
            raise InputFileError(str(path), "gallery file not found")
        try:
            if path.suffix.lower() == ".npz":
                with np.load(path, allow_pickle=False) as z:
                    meta = json.loads(str(z["meta_json"]))
                    emb, owner = z["embeddings"], z["owner"]
                    shas = [str(s) for s in z["image_sha256"]]
                identities = [Identity(m["name"], m["id"], dict(m.get("tags", {})), tuple(m.get("urls", ())))
                              for m in meta["identities"]]
                return _with_photo_files(cls(identities, emb, owner, shas, meta.get("model_id", "unknown"), holdout),
                                         meta.get("photo_files"))
            if path.suffix.lower() == ".json":
                doc = json.loads(path.read_text(encoding="utf-8"))
                identities, rows, owner, shas = [], [], [], []
                for i, m in enumerate(doc["identities"]):
                    identities.append(Identity(str(m["name"]), str(m.get("id") or stable_id(m["name"])),
                                               {str(k): str(v) for k, v in (m.get("tags") or {}).items()},
                                               tuple(m.get("urls") or ())))
                    e = np.atleast_2d(np.asarray(m["embeddings"], dtype=np.float32))
                    s = list(m.get("image_sha256") or [f"json:{i}:{j}" for j in range(len(e))])
                    if len(s) != len(e):
                        raise ValueError(f"identity {m['name']!r}: {len(e)} embeddings but {len(s)} image_sha256")
                    rows.append(e)
                    owner += [i] * len(e)
                    shas += s
                return _with_photo_files(cls(identities, np.concatenate(rows), np.asarray(owner), shas,
                                             str(doc.get("model_id", "unknown")), holdout), doc.get("photo_files"))
        except (KeyError, ValueError, TypeError, OSError, GalleryError) as exc:
            raise InputFileError(str(path), f"not a valid gallery file: {exc}") from exc
        raise InputFileError(str(path), "a gallery file must end in .npz or .json")

    def save(self, path: str | Path) -> Path:
        """Write ``.npz`` (embeddings, owner, image_sha256, meta_json) or ``.json``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        ident = [{"name": i.name, "id": i.id, "tags": i.tags, "urls": list(i.urls)} for i in self.identities]
        if path.suffix.lower() == ".json":
            for k, d in enumerate(ident):
                rows = self.owner == k
                d["embeddings"] = self.embeddings[rows].tolist()
                d["image_sha256"] = [s for s, o in zip(self.image_sha256, self.owner) if o == k]
            doc = {"model_id": self.model_id, "identities": ident, "photo_files": self.photo_files}
            path.write_text(json.dumps(doc), encoding="utf-8")
            return path
        if path.suffix.lower() != ".npz":
            raise InputFileError(str(path), "save the gallery as .npz or .json")
        with path.open("wb") as fh:
            np.savez_compressed(fh, embeddings=self.embeddings, owner=self.owner,
                                image_sha256=np.asarray(self.image_sha256),
                                meta_json=np.asarray(json.dumps({"model_id": self.model_id, "identities": ident,
                                                                 "photo_files": self.photo_files})))
        return path


def _with_photo_files(gallery: Gallery, photo_files: Any) -> Gallery:
    """A loaded gallery that names its enrolment photos can be enrolled again with another recognizer,
    as long as the photos are still there."""
    if not isinstance(photo_files, dict):
        return gallery
    files = {str(n): [str(f) for f in fs] for n, fs in photo_files.items()}
    gallery.photo_files = files
    if all(Path(f).is_file() for fs in files.values() for f in fs):
        meta = {i.name: {"id": i.id, "tags": dict(i.tags), "urls": list(i.urls)} for i in gallery.identities}
        gallery.rebuild = lambda other: Gallery.enrol(files, other, meta, gallery.holdout)
    return gallery


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputFileError(str(path), f"cannot read image: {exc.strerror}") from exc


def demo_gallery(analyzer: Analyzer, cache: bool = True) -> Gallery:
    """The gallery ``dfi serve`` uses when none is given: DEMO identities from the installed demo photos.

    ``Tom_Hanks_54745.png`` enrols "Tom Hanks"; each face of ``t1.jpg`` (six people, unnamed)
    enrols "Demo Person 1".."Demo Person 6" (left to right), tagged ``demo: "true"``. These are
    demonstration identities, not a celebrity database. Hold-out applies: the enrolment photos
    themselves are not recognised, other photos (or crops/re-encodings) of the same people are.
    The enrolled embeddings are cached in the user cache, keyed by the photos and the model."""
    from harness.models import demo_image_paths
    from harness.paths import cache_dir

    paths = demo_image_paths()
    key = hashlib.sha256(("|".join(f"{k}:{sha256_hex(Path(v).read_bytes())}" for k, v in sorted(paths.items()))
                          + "|" + analyzer.model_id).encode()).hexdigest()[:16]
    cached = cache_dir() / "mockvendors" / f"demo-gallery-{key}.npz"
    if cache and cached.is_file():
        loaded = Gallery.load(cached)
        loaded.rebuild = lambda other: demo_gallery(other, cache)
        return loaded
    hanks = next((p for k, p in paths.items() if "hanks" in k.lower() or "hanks" in Path(p).name.lower()), None)
    group = next((p for k, p in paths.items() if Path(p).name.lower() == "t1.jpg" or k.lower() == "t1"), None)
    identities: list[Identity] = []
    rows: list[np.ndarray] = []
    shas: list[str] = []
    if hanks is not None:
        a = analyzer.analyze(Path(hanks).read_bytes())
        if a.faces:
            identities.append(Identity("Tom Hanks", stable_id("Tom Hanks"), {"demo": "true", "gender": "male"},
                                       ("www.imdb.com/name/nm0000158",)))
            rows.append(a.faces[0].embedding)
            shas.append(a.sha256)
    if group is not None:
        a = analyzer.analyze(Path(group).read_bytes())
        for n, f in enumerate(sorted(a.faces, key=lambda f: f.box[0]), start=1):
            name = f"Demo Person {n}"
            identities.append(Identity(name, stable_id(name), {"demo": "true"}))
            rows.append(f.embedding)
            shas.append(a.sha256)
    if not identities:
        raise GalleryError("no demo photos with faces are installed; run `dfi models fetch` or pass --gallery")
    g = Gallery(identities, np.stack(rows), np.arange(len(identities)), shas, analyzer.model_id)
    if cache:
        g.save(cached)
    g.rebuild = lambda other: demo_gallery(other, cache)
    return g


def resolve_gallery(gallery: Gallery | str | Path | None, analyzer: Analyzer) -> Gallery:
    """A Gallery object as is; a folder (one sub-folder per name) enrolled; a .npz/.json loaded;
    None: the demo gallery (demo identities from the installed demo photos)."""
    if gallery is None:
        return demo_gallery(analyzer)
    if isinstance(gallery, Gallery):
        return gallery.for_analyzer(analyzer, "the gallery given")
    p = Path(gallery)
    return Gallery.from_folder(p, analyzer) if p.is_dir() else Gallery.load(p).for_analyzer(analyzer, str(p))
