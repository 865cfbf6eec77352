"""Columns of the results table (schema version 1).

One row per (probe, vendor). Every score is on the harness's 0-100 scale: answers from 0-1
vendors (Azure, Naver) are multiplied by 100 before they are stored. An empty name means the
vendor named no celebrity; an error column that is not empty means the call failed, and then the
answer columns of that call carry no information (a failed call is never "no celebrity").
"""

from __future__ import annotations

SCHEMA_VERSION = 1

METHODS = ("replacement", "reenactment", "synthesis", "unknown")

# name -> (kind, description). kind is one of "str", "float", "int".
COLUMNS: dict[str, tuple[str, str]] = {
    "schema_version": ("int", "results-table schema version (this file: 1)"),
    "dataset": ("str", "dataset name (CelebDF, FCelebDF, VoxCelebTH, CelebFOM, CelebBlend, or a user name)"),
    "source": ("str", "where the row came from: a recorded results file name or a campaign id"),
    "method": ("str", "generation family: replacement | reenactment | synthesis | unknown"),
    "probe_id": ("str", "probe identifier, unique within (dataset, source)"),
    "vendor": ("str", "a registered vendor: aws | ms | nav (harness.vendors.registry)"),
    "deepfake": ("str", "reference to the deepfake image (path, URL or file name)"),
    "target": ("str", "label of the celebrity the deepfake impersonates"),
    "references": ("str", "'|'-joined labels of the reference identities (two for synthesis)"),
    "target_name": ("str", "vendor's answer on the real target image: celebrity name, empty = none"),
    "target_conf": ("float", "its confidence, 0-100; empty when no name"),
    "target_error": ("str", "error of that call; empty = call succeeded"),
    "target2_name": ("str", "synthesis only: vendor's answer on the second reference image"),
    "target2_conf": ("float", "its confidence, 0-100"),
    "target2_error": ("str", "error of that call"),
    "fake_name": ("str", "vendor's answer on the deepfake: celebrity name, empty = none"),
    "fake_conf": ("float", "its confidence, 0-100; empty when no name"),
    "fake_error": ("str", "error of that call; empty = call succeeded"),
    "similarity": ("float", "Similarity(real target, deepfake), 0-100; empty when the vendor has no similarity call "
                            "or no score"),
    "similarity_error": ("str", "error of the similarity call; empty = succeeded or not applicable"),
}

COLUMN_NAMES: tuple[str, ...] = tuple(COLUMNS)
REQUIRED_COLUMNS: tuple[str, ...] = ("dataset", "vendor", "probe_id", "target", "fake_name", "fake_conf")
