"""Every vendor's model from the study table in one call, and their YAML form.

:func:`fit_study_models` is what a mock profile, ``dfi serve`` or the simulation would read:
Azure fitted to its records, AWS to its FCelebDF records plus the published aggregates of the
other datasets, Naver from the published aggregates alone (:mod:`harness.vendorfit.aggregates`).
``half="all"`` (the default here) fits on every recorded row; validation fits on half A.
:func:`fit_study_dependence` adds each dataset's rate spread and confidence copula
(:mod:`harness.vendorfit.dependence`); the YAML keeps them under each vendor's ``dependence`` key,
beside the model's own keys (``VendorModel.from_dict`` ignores it; :func:`load_dependence` reads it).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.study.definitions import StudyDefinitions
from harness.vendorfit.aggregates import nav_model, with_published
from harness.vendorfit.dependence import Dependence, dependence_from_dict, dependence_to_dict, vendor_dependence
from harness.vendorfit.fit import fit_vendor_model
from harness.vendorfit.split import ALL, select_half
from mockvendors.fitted.model import POOLED, VendorModel

DependenceMap = Mapping[str, Mapping[str, Dependence]]


def fit_study_models(table: pd.DataFrame, *, seed: int = 0, half: str = ALL,
                     definitions: StudyDefinitions | None = None,
                     fit_date: str | None = None) -> dict[str, VendorModel]:
    """vendor -> model for aws, ms and nav (see the module notes)."""
    kw: dict[str, Any] = {"seed": seed, "half": half, "definitions": definitions, "fit_date": fit_date}
    ms = fit_vendor_model(table, "ms", **kw)
    aws = with_published(fit_vendor_model(table, "aws", **kw))
    return {"aws": aws, "ms": ms, "nav": nav_model(ms, seed=seed, fit_date=fit_date)}


def fit_study_dependence(table: pd.DataFrame, models: Mapping[str, VendorModel], *, seed: int = 0,
                         half: str = ALL) -> dict[str, dict[str, Dependence]]:
    """vendor -> dataset -> :class:`Dependence`, fitted on the same ``half`` as ``models``; Naver
    (no records) takes Azure's pooled fit, as its confidence shape does (assumed)."""
    rows = select_half(table, half, seed)
    out: dict[str, dict[str, Dependence]] = {}
    for vendor in ("aws", "ms"):
        if vendor in models:
            out[vendor] = vendor_dependence(table, models[vendor], half_rows=rows)
    for vendor, model in models.items():
        if vendor not in out:
            out[vendor] = vendor_dependence(table.iloc[:0], model, fallback=out.get("ms", {}).get(POOLED))
    return out


def to_yaml(models: Mapping[str, VendorModel], dependence: DependenceMap | None = None) -> str:
    data = {}
    for v, m in models.items():
        data[v] = m.to_dict()
        if dependence and dependence.get(v):
            data[v]["dependence"] = dependence_to_dict(dependence[v])
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def from_yaml(text: str) -> dict[str, VendorModel]:
    data = yaml.safe_load(text) or {}
    return {str(v): VendorModel.from_dict(d) for v, d in data.items()}


def dependence_from_yaml(text: str) -> dict[str, dict[str, Dependence]]:
    data = yaml.safe_load(text) or {}
    return {str(v): dependence_from_dict(d.get("dependence")) for v, d in data.items()}


def save_models(models: Mapping[str, VendorModel], path: str | Path, dependence: DependenceMap | None = None,
                header: str = "") -> Path:
    """Write ``models`` (and their ``dependence``) as YAML; ``header``: comment lines put first."""
    path = Path(path)
    path.write_text(header + to_yaml(models, dependence), encoding="utf-8")
    return path


def load_models(path: str | Path) -> dict[str, VendorModel]:
    return from_yaml(Path(path).read_text(encoding="utf-8"))


def load_dependence(path: str | Path) -> dict[str, dict[str, Dependence]]:
    return dependence_from_yaml(Path(path).read_text(encoding="utf-8"))
