"""Every vendor's model from the study table in one call, and their YAML form.

:func:`fit_study_models` is what a mock profile, ``dfi serve`` or the simulation would read:
Azure fitted to its records, AWS to its FCelebDF records plus the published aggregates of the
other datasets, Naver from the published aggregates alone (:mod:`harness.vendorfit.aggregates`).
``half="all"`` (the default here) fits on every recorded row; validation fits on half A.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from harness.study.definitions import StudyDefinitions
from harness.vendorfit.aggregates import nav_model, with_published
from harness.vendorfit.fit import fit_vendor_model
from harness.vendorfit.split import ALL
from mockvendors.fitted.model import VendorModel


def fit_study_models(table: pd.DataFrame, *, seed: int = 0, half: str = ALL,
                     definitions: StudyDefinitions | None = None,
                     fit_date: str | None = None) -> dict[str, VendorModel]:
    """vendor -> model for aws, ms and nav (see the module notes)."""
    kw: dict[str, Any] = {"seed": seed, "half": half, "definitions": definitions, "fit_date": fit_date}
    ms = fit_vendor_model(table, "ms", **kw)
    aws = with_published(fit_vendor_model(table, "aws", **kw))
    return {"aws": aws, "ms": ms, "nav": nav_model(ms, seed=seed, fit_date=fit_date)}


def to_yaml(models: Mapping[str, VendorModel]) -> str:
    return yaml.safe_dump({v: m.to_dict() for v, m in models.items()}, sort_keys=False, allow_unicode=True)


def from_yaml(text: str) -> dict[str, VendorModel]:
    data = yaml.safe_load(text) or {}
    return {str(v): VendorModel.from_dict(d) for v, d in data.items()}


def save_models(models: Mapping[str, VendorModel], path: str | Path) -> Path:
    path = Path(path)
    path.write_text(to_yaml(models), encoding="utf-8")
    return path


def load_models(path: str | Path) -> dict[str, VendorModel]:
    return from_yaml(Path(path).read_text(encoding="utf-8"))
