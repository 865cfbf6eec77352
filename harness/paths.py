"""Well-known locations: the user cache (models, demo data) and the shared study data."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

CACHE_ENV = "DFI_CACHE_DIR"
SHARED_DATA_ENV = "DFI_SHARED_DATA"
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """User cache folder (``$DFI_CACHE_DIR``, else ``$XDG_CACHE_HOME/dfi``, else ``~/.cache/dfi``)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dfi"


def models_dir() -> Path:
    return cache_dir() / "models"


def shared_data_dir() -> Path | None:
    """The study's shared data folder (``$DFI_SHARED_DATA`` or ``../shared/data`` beside the project)."""
    if os.environ.get(SHARED_DATA_ENV):
        p = Path(os.environ[SHARED_DATA_ENV]).expanduser()
        return p if p.is_dir() else None
    p = PROJECT_ROOT.parent / "shared" / "data"
    return p if p.is_dir() else None


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """``with atomic_output(p) as tmp: write tmp``: the file appears at ``p`` whole or not at all.

    The temporary file sits in the same folder (so the rename is atomic) and is removed when the
    block fails (a full disk, an interrupt); a file already at ``p`` is left as it was. The new file
    gets the permissions a plain ``open(p, "w")`` would give (the umask's), not mkstemp's 0600."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` whole or not at all (see :func:`atomic_output`)."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)
