"""The result grid and the non-targeted split: fixtures by hand, real rows by hand, pooled-count properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.metrics.meta import METRICS
from harness.study.data import ALL_DATASETS, load_study
from harness.study.definitions import StudyDefinitions
from harness.study.grid import COLUMNS, result_grid
from harness.study.outcomes import outcome_split

from support.metric_tables import probe_rows, row_key
from support.study_tables import paper_rows, study_table

DEFS = StudyDefinitions()


def _rec(grid, metric, dataset, vendor="ms", subset="", basis="study"):
    sel = ((grid["metric"] == metric) & (grid["basis"] == basis) & (grid["dataset"] == dataset)
           & (grid["vendor"] == vendor) & (grid["subset"] == subset))
    (row,) = grid[sel].to_dict("records")
    return row


def _p(pid, dataset, target, fake, conf, sim=None, source="f.csv", vendor="ms", name=None, **extra):
    return dict(dataset=dataset, source=source, vendor=vendor, probe_id=pid, target=target,
                target_name=target if name is None else name, target_conf=99.0, fake_name=fake, fake_conf=conf,
                similarity=sim, **extra)


def test_grid_rows_pooled_and_per_file():
    table = study_table([
        _p("1", "VoxCelebTH", "A", "A", 95.0, source="Results_vox1.csv"),
        _p("2", "VoxCelebTH", "A", "", None, 85.0, source="Results_vox2.csv"),
        _p("3", "VoxCelebTH", "B", "B", 80.0, source="Results_vox2.csv"),
        _p("4", "CelebDF", "A", "Z", 91.0, source="Results_celebDF.csv"),
        _p("5", "CelebDF", "C", "", None, 10.0, source="Results_celebDF.csv"),
    ])
    grid = result_grid(table, DEFS)
    assert tuple(grid.columns) == COLUMNS
    keys = grid[["dataset", "subset", "vendor"]].drop_duplicates().apply(tuple, axis=1).tolist()
    assert keys == [("CelebDF", "", "ms"), ("VoxCelebTH", "", "ms"), ("VoxCelebTH", "Results_vox1.csv", "ms"),
                    ("VoxCelebTH", "Results_vox2.csv", "ms"), (ALL_DATASETS, "", "ms")]
    vox = _rec(grid, "TA", "VoxCelebTH")
    assert (vox["numerator"], vox["denominator"], vox["probes"]) == (2, 3, 3)
    assert (_rec(grid, "TA", "VoxCelebTH", subset="Results_vox2.csv")["numerator"]) == 1
    dhs = _rec(grid, "DHS", "VoxCelebTH", subset="Results_vox2.csv")
    assert (dhs["numerator"], dhs["denominator"]) == (1, 1)
    assert math.isclose(dhs["value"], 100.0)
    assert dhs["ci_low"] < 100.0 and dhs["ci_high"] == pytest.approx(100.0)
    pooled = {m: _rec(grid, m, ALL_DATASETS) for m in METRICS}
    assert (pooled["NA"]["numerator"], pooled["NA"]["denominator"]) == (3, 5)
    assert (pooled["DHC"]["numerator"], pooled["DHC"]["denominator"]) == (2, 3)   # 95 and 91 > 90
    # SIC pools celebrities by name: A is a target in both datasets and counts once
    assert (pooled["SIC"]["numerator"], pooled["SIC"]["denominator"]) == (2, 3)


def test_grid_dhs_is_undefined_for_a_vendor_without_similarity():
    grid = result_grid(study_table([_p("1", "D", "A", "", None, vendor="nav")]), DEFS)
    row = _rec(grid, "DHS", "D", vendor="nav")
    assert row["denominator"] == 0 and math.isnan(row["value"]) and math.isnan(row["ci_low"])


def test_split_by_hand_vendor_names_and_labels():
    def p(pid, fake, **kw):
        return _p(pid, "CelebDF", "T", fake, 90.0 if fake else None, references="R", real_person="R",
                  real_name="R (vendor)", real_conf=97.0, real_image="R/v1", **kw)

    table = study_table([p("1", "T"), p("2", "R (vendor)"), p("3", "R"), p("4", "Z"), p("5", "")])
    split = outcome_split(table, DEFS)
    row = split[split["dataset"] == "CelebDF"].iloc[0]
    assert (row["na"], row["target"], row["reference"], row["other"]) == (4, 1, 1, 2)
    assert bool(row["reference_recorded"])
    assert row["target_share"] == pytest.approx(25.0) and row["other_share"] == pytest.approx(50.0)
    labels = outcome_split(study_table([p("1", "T"), p("2", "R (vendor)"), p("3", "R"), p("4", "Z")],
                                       StudyDefinitions(ta_against="label")), StudyDefinitions(ta_against="label"))
    row = labels[labels["dataset"] == "CelebDF"].iloc[0]
    assert (row["target"], row["reference"], row["other"]) == (1, 1, 2)   # the label "R", not the vendor's name


def test_split_without_a_recorded_reference_and_for_a_blend():
    table = study_table([
        _p("1", "VoxCelebTH", "A", "A", 90.0), _p("2", "VoxCelebTH", "A", "Q", 90.0),
        _p("3", "CelebBlend", "A", "B", 90.0, references="A|B", method="synthesis", target2_name="B"),
    ])
    split = outcome_split(table, DEFS).set_index("dataset")
    assert not split.loc["VoxCelebTH", "reference_recorded"] and split.loc["VoxCelebTH", "reference"] == 0
    assert split.loc["VoxCelebTH", "other"] == 1
    assert split.loc["CelebBlend", "target"] == 1    # the second blended celebrity is a target too
    assert not split.loc["CelebBlend", "reference_recorded"]


def _tables():
    datasets = st.sampled_from(["CelebDF", "CelebFOM", "VoxCelebTH"])

    @st.composite
    def rows(draw):
        row = draw(probe_rows())
        row["dataset"] = draw(datasets)
        row["source"] = draw(st.sampled_from(["a.csv", "b.csv"]))
        row["references"] = draw(st.sampled_from(["", "Tom Hanks", "IU"]))
        return row

    return st.lists(rows(), unique_by=row_key, min_size=1, max_size=40)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_tables())
def test_pooled_counts_are_the_sums_of_the_datasets(rows):
    table = study_table(rows)
    grid = result_grid(table, DEFS)
    per = grid[(grid["dataset"] != ALL_DATASETS) & (grid["subset"] == "")]
    pooled = grid[grid["dataset"] == ALL_DATASETS]
    for metric in ("TA", "NA", "DHF", "DHC", "DHS"):
        for basis in ("study", "all"):
            sel = (per["metric"] == metric) & (per["basis"] == basis)
            sums = per[sel].groupby("vendor")[["numerator", "denominator"]].sum()
            got = pooled[(pooled["metric"] == metric) & (pooled["basis"] == basis)].set_index("vendor")
            pd.testing.assert_frame_equal(got[["numerator", "denominator"]].sort_index(), sums.sort_index(),
                                          check_dtype=False)
    # per-file rows add up to their dataset's row too
    parts = grid[grid["subset"] != ""]
    for (dataset, vendor, metric, basis), g in parts.groupby(["dataset", "vendor", "metric", "basis"]):
        if metric == "SIC":
            continue
        whole = _rec(grid, metric, dataset, vendor, basis=basis)
        assert g["numerator"].sum() == whole["numerator"] and g["denominator"].sum() == whole["denominator"]
    # the split's three counts add up to NA, per dataset and pooled
    split = outcome_split(table, DEFS)
    assert (split["target"] + split["reference"] + split["other"] == split["na"]).all()
    assert (split[["target", "reference", "other"]] >= 0).all().all()
    na = grid[(grid["metric"] == "NA") & (grid["basis"] == "study") & (grid["subset"] == "")]
    merged = split.merge(na, on=["dataset", "vendor"])
    assert (merged["na"] == merged["numerator"]).all() and len(merged) == len(split)
    ta = grid[(grid["metric"] == "TA") & (grid["basis"] == "study") & (grid["subset"] == "")]
    assert (split.merge(ta, on=["dataset", "vendor"]).eval("target == numerator")).all()


@pytest.fixture(scope="module")
def study(shared_data):
    return load_study([shared_data / "paper-results"])


def test_voxceleb_halves_by_hand(shared_data, study):
    grid = result_grid(study.table, study.definitions)
    for name in ("Results_vox1.csv", "Results_vox2.csv"):
        rows = paper_rows(shared_data, name)
        named = [r for r in rows if r["Tar Pred."]]
        ta = [r for r in named if r["Tar Pred."] == r["Src Pred."]]
        scored_misses = [r for r in rows if not r["Tar Pred."] and float(r["Similarity"]) != 0]
        assert (_rec(grid, "NA", "VoxCelebTH", subset=name)["numerator"]) == len(named)
        assert (_rec(grid, "TA", "VoxCelebTH", subset=name)["numerator"]) == len(ta)
        assert (_rec(grid, "DHS", "VoxCelebTH", subset=name)["denominator"]) == len(scored_misses)
    both = _rec(grid, "NA", "VoxCelebTH")
    assert both["denominator"] == 3200
    # hand counts from the files (see the grid): 1,252 of 1,600 and 1,032 of 1,600 named
    assert _rec(grid, "NA", "VoxCelebTH", subset="Results_vox1.csv")["numerator"] == 1252
    assert both["numerator"] == 1252 + 1032
    pooled = _rec(grid, "NA", ALL_DATASETS)
    per = grid[(grid["metric"] == "NA") & (grid["basis"] == "study") & (grid["vendor"] == "ms")
               & (grid["subset"] == "") & (grid["dataset"] != ALL_DATASETS)]
    assert pooled["numerator"] == per["numerator"].sum() and pooled["denominator"] == 16096


def test_celebdf_named_as_the_source_person_by_hand(shared_data, study):
    rows = paper_rows(shared_data, "Results_celebDF.csv")
    # the vendor's name for each person's real frames (one real frame per clip folder)
    frames: dict[str, dict[str, str]] = {}
    for r in rows:
        frames.setdefault(r["Src"], {})[r["Filename"].rsplit("/", 1)[0]] = r["Src Pred."]
    name_of = {}
    for person, answers in frames.items():
        named = [a for a in answers.values() if a]
        if named:
            name_of[person] = sorted(set(named), key=lambda n: (-named.count(n), n))[0]
    na = [r for r in rows if r["Tar Pred."]]
    as_target = [r for r in na if r["Tar Pred."] == name_of.get(r["Tar"])]
    as_source = [r for r in na if r not in as_target and r["Tar Pred."] == name_of.get(r["Src"], r["Src"])]
    split = outcome_split(study.table, study.definitions)
    row = split[(split["dataset"] == "CelebDF") & (split["vendor"] == "ms")].iloc[0]
    assert (row["na"], row["target"], row["reference"]) == (len(na), len(as_target), len(as_source))
    assert (row["na"], row["target"], row["reference"], row["other"]) == (1261, 1104, 60, 97)
    assert np.isclose(row["reference_share"], 100 * 60 / 1261)


def test_an_empty_table_gives_empty_tables_with_their_columns():
    empty = study_table([])
    assert len(result_grid(empty, DEFS)) == 0 and tuple(result_grid(empty, DEFS).columns) == COLUMNS
    assert len(outcome_split(empty, DEFS)) == 0
