"""``dfi compare`` as library calls: a recorded results table against a mock one, distribution by
distribution (:func:`compare_result_tables`), and recorded calls answered again by the mock
(:func:`compare_recorded_calls`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from harness.errors import InputFileError
from harness.metrics.files import write_metric_csv
from harness.results.sources import read_tables


@dataclass
class TablesComparison:
    out_dir: Path
    recorded: pd.DataFrame
    mock: pd.DataFrame
    mock_what: str  # where the mock table came from, in words
    groups: list[Any]  # harness.compare.distributions group comparisons
    side_by_side: pd.DataFrame
    distances: list[dict[str, Any]]
    files: list[Path] = field(default_factory=list)
    # harness.compare.agreement frames (one row per dataset x vendor pair): recorded, mock
    agreement_recorded: pd.DataFrame = field(default_factory=pd.DataFrame)
    agreement_mock: pd.DataFrame = field(default_factory=pd.DataFrame)
    # harness.study.outcomes splits of the named deepfakes (target / reference / other): recorded, mock;
    # empty where a table has no study columns (the recorded study files and fitted-model mocks have them)
    outcomes_recorded: pd.DataFrame = field(default_factory=pd.DataFrame)
    outcomes_mock: pd.DataFrame = field(default_factory=pd.DataFrame)


def compare_result_tables(*, recorded: Sequence[Path], mock: Sequence[Path] = (),
                          profiles: Sequence[tuple[str, str | Path]] = (), seed: int = 1, beta: float = 90.0,
                          gamma: float = 80.0, out_dir: Path = Path("runs/compare"),
                          profile_set: str = "default") -> TablesComparison:
    """Recorded vs mock confidence distributions, metrics and cross-vendor agreement; writes
    distances.csv, metrics_side_by_side.csv, agreement.csv, compare.json and plots/ecdf_*.png.
    Without ``mock`` tables the mock is the study-scale simulation through the mock vendors (with
    ``profiles``: (vendor, YAML file); with ``profile_set="study-2020"`` the vendors answer from their
    fitted behaviour models, :func:`harness.vendorfit.simulate.simulate_with_models`)."""
    import yaml

    from harness.compare.agreement import agreement, stack_agreements
    from harness.compare.distributions import compare_tables, metrics_side_by_side
    from harness.compare.plots import ecdf_overlay

    rec = read_tables(recorded, "recorded")
    vendors = sorted(set(rec["vendor"].astype(str)))
    if mock:
        mock_table = read_tables(mock, "mock")
        mock_what = ", ".join(str(p) for p in mock)
    elif (fitted := fitted_models(profile_set, vendors))[0]:
        from dataclasses import replace

        from harness.simulate.params import SimulationParams
        from harness.vendorfit.simulate import simulate_with_models

        mock_table = simulate_with_models(replace(SimulationParams.load(), seed=seed), fitted[0], vendors,
                                          fitted[1]).results
        mock_what = (f"simulated study-scale world (seed {seed}), vendors answering from their fitted models "
                     f"(profile set {profile_set})")
    else:
        from harness.compare.mock_table import simulated_mock_table

        overrides = {v: yaml.safe_load(Path(f).read_text(encoding="utf-8")) for v, f in profiles}
        mock_table = simulated_mock_table(vendors, seed=seed, overrides=overrides)
        mock_what = (f"simulated study-scale world (seed {seed}) through the mock vendors"
                     + (f", profiles {', '.join(f'{v}={f}' for v, f in profiles)}" if profiles
                        else ", built-in profiles"))
    groups = compare_tables(rec, mock_table)
    if not groups:
        raise InputFileError("tables", "the recorded and mock tables share no (dataset, vendor) group")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    records = []
    files: list[Path] = []
    for g in groups:
        for d in g.distances:
            records.append({"dataset": g.dataset, "vendor": g.vendor, **d.as_dict()})
        png = out_dir / "plots" / f"ecdf_{g.dataset}_{g.vendor}.png"
        ecdf_overlay(g, png)
        files.append(png)
    side = metrics_side_by_side(rec, mock_table, beta, gamma)
    agree_rec, agree_mock = agreement(rec), agreement(mock_table)
    agree = stack_agreements({"recorded": agree_rec, "mock": agree_mock})
    out_rec, out_mock = outcome_splits(recorded, mock_table)
    if not out_rec.empty or not out_mock.empty:
        write_metric_csv(pd.concat([out_rec.assign(table="recorded"), out_mock.assign(table="mock")],
                                   ignore_index=True), out_dir / "outcomes.csv")
        files.append(out_dir / "outcomes.csv")
    pd.DataFrame(records).to_csv(out_dir / "distances.csv", index=False)
    write_metric_csv(side, out_dir / "metrics_side_by_side.csv")
    write_metric_csv(agree, out_dir / "agreement.csv")
    (out_dir / "compare.json").write_text(json.dumps(
        {"recorded": [str(p) for p in recorded], "mock": mock_what, "beta": beta, "gamma": gamma,
         "distances": records, "metrics": json.loads(side.to_json(orient="records")),
         "agreement": json.loads(agree.to_json(orient="records"))}, indent=1))
    files += [out_dir / "distances.csv", out_dir / "metrics_side_by_side.csv", out_dir / "agreement.csv",
              out_dir / "compare.json"]
    return TablesComparison(out_dir=out_dir, recorded=rec, mock=mock_table, mock_what=mock_what, groups=groups,
                            side_by_side=side, distances=records, files=files, agreement_recorded=agree_rec,
                            agreement_mock=agree_mock, outcomes_recorded=out_rec, outcomes_mock=out_mock)


def outcome_splits(recorded: Sequence[Path], mock: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Whom the named deepfakes are named as (harness.study.outcomes), recorded and mock, where each side
    has the study's columns: the recorded side when ``recorded`` are the study's files."""
    from harness.errors import DfiError
    from harness.study.data import load_study
    from harness.study.definitions import StudyDefinitions
    from harness.study.outcomes import outcome_split

    definitions = StudyDefinitions()
    try:
        rec = outcome_split(load_study(recorded, definitions).table, definitions)
    except DfiError:
        rec = pd.DataFrame()
    has_columns = {"ref_label", "real_image", "real_name"} <= set(mock.columns)
    mck = outcome_split(mock, definitions) if has_columns else pd.DataFrame()
    return rec, mck


def fitted_models(profile_set: str, vendors: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    from harness.jobs._common import JobInputError
    from harness.vendorfit.simulate import profile_set_models
    from mockvendors.profile import ProfileError

    try:
        return profile_set_models(profile_set, vendors)
    except ProfileError as exc:
        raise JobInputError(str(exc)) from None


@dataclass
class CallsComparison:
    out_dir: Path
    rows: list[Any]  # harness.compare.calls rows
    skipped: int
    calls_csv: Path
    calls_json: Path


def compare_recorded_calls(*, cassettes: Sequence[Path] = (), azure_recordings: bool = True,
                           image_dirs: Sequence[Path] = (), gallery: str | None = None,
                           out_dir: Path = Path("runs/compare")) -> CallsComparison:
    """Every recorded call whose image is available, answered again by the mock; writes calls.csv and
    calls.json. ``azure_recordings``: also the real Azure SDK recordings in ../shared/data."""
    from harness.cassettes.scan import cassette_files
    from harness.compare.calls import azure_recordings_as_cassettes, compare_calls, image_index, temp_dir
    from harness.paths import shared_data_dir
    from mockvendors.analysis import CachingAnalyzer, PipelineAnalyzer
    from mockvendors.behaviour import behaviour_for
    from mockvendors.gallery import resolve_gallery

    shared = shared_data_dir()
    files = cassette_files(cassettes)
    provenance_of: dict[Path, str] = {}
    if azure_recordings:
        if shared is None:
            raise InputFileError("../shared/data", "not found (use --no-azure-recordings or set DFI_SHARED_DATA)")
        real = azure_recordings_as_cassettes(shared, temp_dir())
        provenance_of = {p: "real" for p in real}  # the Azure SDK test suites' recorded traffic (SOURCES.md)
        files += real
    dirs = list(image_dirs) or ([shared] if shared else [])
    images = image_index(dirs)

    analyzer = CachingAnalyzer(PipelineAnalyzer())
    gal = resolve_gallery(gallery, analyzer)
    cache: dict[str, Any] = {}

    def mock_for(vendor: str) -> Any:
        if vendor not in cache:
            cache[vendor] = behaviour_for(vendor, gal, analyzer)
        return cache[vendor]

    rows, skipped = compare_calls(files, images, mock_for, provenance_of)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    pd.DataFrame([r.as_dict() for r in rows]).to_csv(out_dir / "calls.csv", index=False)
    (out_dir / "calls.json").write_text(json.dumps({"skipped": skipped, "calls": [r.as_dict() for r in rows]},
                                                   indent=1))
    return CallsComparison(out_dir, rows, skipped, out_dir / "calls.csv", out_dir / "calls.json")
