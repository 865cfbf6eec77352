"""What a report or a sweep was made from: the dfi version and the inputs' sha256 hashes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 20


@dataclass(frozen=True)
class InputFile:
    path: str
    sha256: str
    size: int  # bytes; for a folder, of all its files

    def as_dict(self) -> dict[str, object]:
        return {"path": self.path, "sha256": self.sha256, "bytes": self.size}


def dfi_version() -> str:
    from harness import __version__

    return __version__


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        while block := f.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def describe_input(path: Path) -> InputFile | None:
    """sha256 of a file; of a folder, the sha256 of its files' relative paths and hashes in path
    order (so renaming or changing any file changes it). None when ``path`` does not exist."""
    path = Path(path)
    if path.is_file():
        return InputFile(str(path), file_sha256(path), path.stat().st_size)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        digest = hashlib.sha256()
        for p in files:
            digest.update(f"{p.relative_to(path).as_posix()}\0{file_sha256(p)}\n".encode())
        return InputFile(str(path), digest.hexdigest(), sum(p.stat().st_size for p in files))
    return None


def describe_inputs(paths: Iterable[Path]) -> list[InputFile]:
    return [d for p in paths if (d := describe_input(Path(p))) is not None]


__all__ = ["InputFile", "describe_input", "describe_inputs", "dfi_version", "file_sha256"]
