"""Well-known locations: the user cache (models, demo data) and the shared study data."""

from __future__ import annotations

import os
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
