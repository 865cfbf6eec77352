"""Attribute groups: the file format and its errors, hand-computed metrics per group, properties.

The attribute files here are made up (the harness ships no labels).
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import InputFileError
from harness.metrics import compute_metrics
from harness.study.attributes import (
    ATTRIBUTE_METRIC_COLUMNS,
    NOT_IN_FILE,
    UNLABELLED,
    attribute_metrics,
    read_attributes,
)
from harness.study.data import ALL_DATASETS
from harness.study.definitions import StudyDefinitions

from support.metric_tables import PEOPLE, probe_rows, row_key
from support.study_tables import study_table

ATTRIBUTES = "celebrity,region,gender\nAnna,Europe,female\nBob , Asia ,\nDan,Europe,male\n"
CELEBDF = dict(dataset="CelebDF", method="replacement")
ROWS = [
    # CelebDF / ms
    dict(CELEBDF, vendor="ms", probe_id="m1", target="Anna", target_name="Anna", target_conf=95,
         fake_name="Anna", fake_conf=92),                          # NA TA DHC
    dict(CELEBDF, vendor="ms", probe_id="m2", target="Anna", target_name="Anna", target_conf=95,
         fake_name="", similarity=85),                             # DHS
    dict(CELEBDF, vendor="ms", probe_id="m3", target="Anna", target_name="Anna", target_conf=95,
         fake_name="Bob", fake_conf=99),                           # NA DHF DHC
    dict(CELEBDF, vendor="ms", probe_id="m4", target="Bob", target_name="Bob", target_conf=80,
         fake_name="", similarity=50),                             # a miss, no DHS
    dict(CELEBDF, vendor="ms", probe_id="m5", target="Bob", target_name="Bob", target_conf=80,
         fake_name="", fake_error="ThrottlingException"),          # errored: in no denominator
    dict(CELEBDF, vendor="ms", probe_id="m6", target="Cleo", target_name="", fake_name="Cleo", fake_conf=75),
    # CelebDF / nav: no similarity call
    dict(CELEBDF, vendor="nav", probe_id="n1", target="Anna", target_name="Anna", target_conf=60,
         fake_name="Anna", fake_conf=70),                          # NA TA DHF
    dict(CELEBDF, vendor="nav", probe_id="n2", target="Bob", target_name="Bob", target_conf=90,
         fake_name="Anna", fake_conf=10),                          # NA
    # FCelebDF / ms
    dict(dataset="FCelebDF", method="replacement", vendor="ms", probe_id="f1", target="Bob", target_name="Bob",
         target_conf=99, fake_name="", similarity=90),             # DHS
]
NAN = math.nan


@pytest.fixture
def attributes_file(tmp_path):
    path = tmp_path / "attributes.csv"
    path.write_text(ATTRIBUTES, encoding="utf-8")
    return path


@pytest.fixture
def metrics(attributes_file):
    return attribute_metrics(study_table(ROWS), read_attributes(attributes_file), StudyDefinitions())


# ------------------------------------------------------------------ the file
def test_read_attributes(attributes_file):
    out = read_attributes(attributes_file)
    assert list(out.columns) == ["celebrity", "region", "gender"]
    assert out.to_dict("records") == [
        {"celebrity": "Anna", "region": "Europe", "gender": "female"},
        {"celebrity": "Bob", "region": "Asia", "gender": UNLABELLED},
        {"celebrity": "Dan", "region": "Europe", "gender": "male"},
    ]


def test_byte_order_mark_short_rows_and_blank_lines(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeffcelebrity,region,gender\n\nChloë Grace Moretz,North America\n".encode())
    out = read_attributes(path)
    assert out.to_dict("records") == [{"celebrity": "Chloë Grace Moretz", "region": "North America",
                                       "gender": UNLABELLED}]


@pytest.mark.parametrize("text, message", [
    ("name,region\nAnna,Europe\n", "no 'celebrity' column"),
    ("celebrity\nAnna\n", "no attribute column"),
    ("celebrity,region\nAnna,Europe\nBob,Asia\nAnna,Asia\n",
     r"row 4, column 'celebrity': 'Anna' is listed twice \(also row 2\)"),
    ("celebrity,region\nAnna,Europe\n ,Asia\n", "row 3, column 'celebrity': no celebrity name"),
    ("celebrity,,region\nAnna,x,Europe\n", "column 2 of the header has no name"),
    ("celebrity,region,region\nAnna,x,y\n", "'region' appears more than once"),
    ("celebrity,region\nAnna,Europe,extra\n", "row 2: 3 cells, more than the header's 2"),
    ("celebrity,region\n", "no celebrity rows"),
    ("", "is empty"),
])
def test_bad_files_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputFileError, match=message) as info:
        read_attributes(path)
    assert "\n" not in str(info.value) and str(info.value).startswith(str(path))


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(InputFileError, match="no such attribute file"):
        read_attributes(tmp_path / "absent.csv")
    path = tmp_path / "latin1.csv"
    path.write_bytes("celebrity,region\nChlo\xeb,Europe\n".encode("latin-1"))
    with pytest.raises(InputFileError, match="cannot be read as a UTF-8 CSV file"):
        read_attributes(path)


# ------------------------------------------------------------------ metrics per group
def _values(frame, attribute, group, dataset, vendor, basis="study"):
    sel = frame[(frame["attribute"] == attribute) & (frame["group"] == group) & (frame["dataset"] == dataset)
                & (frame["vendor"] == vendor) & (frame["basis"] == basis)]
    return {r["metric"]: (r["numerator"], r["denominator"]) for r in sel.to_dict("records")}


def _value(frame, attribute, group, dataset, vendor, metric, basis="study"):
    (row,) = frame[(frame["attribute"] == attribute) & (frame["group"] == group) & (frame["dataset"] == dataset)
                   & (frame["vendor"] == vendor) & (frame["metric"] == metric)
                   & (frame["basis"] == basis)].to_dict("records")
    return row


def test_columns(metrics):
    assert tuple(metrics.columns) == ATTRIBUTE_METRIC_COLUMNS
    assert metrics["celebrities"].dtype == "int64"
    assert set(metrics["beta"]) == {90.0} and set(metrics["gamma"]) == {80.0}


def test_metrics_per_region_by_hand(metrics):
    assert _values(metrics, "region", "Europe", "CelebDF", "ms") == {
        "TA": (1, 3), "NA": (2, 3), "DHF": (1, 3), "DHC": (2, 2), "DHS": (1, 1), "SIC": (1, 1)}
    # Bob's errored probe is in no denominator; DHC is undefined without an NA success
    assert _values(metrics, "region", "Asia", "CelebDF", "ms") == {
        "TA": (0, 1), "NA": (0, 1), "DHF": (0, 1), "DHC": (0, 0), "DHS": (0, 1), "SIC": (0, 1)}
    assert math.isnan(_value(metrics, "region", "Asia", "CelebDF", "ms", "DHC")["value"])
    # Cleo is not in the file; her real image was named no one, so the deepfake beats confidence 0
    assert _values(metrics, "region", NOT_IN_FILE, "CelebDF", "ms") == {
        "TA": (0, 1), "NA": (1, 1), "DHF": (1, 1), "DHC": (0, 1), "DHS": (0, 0), "SIC": (0, 1)}
    assert _values(metrics, "region", "Asia", "FCelebDF", "ms")["DHS"] == (1, 1)
    assert _value(metrics, "region", "Europe", "CelebDF", "ms", "TA")["value"] == pytest.approx(100 / 3)


def test_vendor_without_similarity_has_undefined_dhs(metrics):
    assert _values(metrics, "region", "Europe", "CelebDF", "nav") == {
        "TA": (1, 1), "NA": (1, 1), "DHF": (1, 1), "DHC": (0, 1), "DHS": (0, 0), "SIC": (1, 1)}
    for group in ("Europe", "Asia"):
        for basis in ("study", "all"):
            row = _value(metrics, "region", group, "CelebDF", "nav", "DHS", basis)
            assert math.isnan(row["value"]) and math.isnan(row["ci_low"])


def test_pooled_over_datasets(metrics):
    asia = _values(metrics, "region", "Asia", ALL_DATASETS, "ms")
    assert asia["NA"] == (0, 2) and asia["DHS"] == (1, 2) and asia["SIC"] == (0, 1)
    assert _value(metrics, "region", "Asia", ALL_DATASETS, "ms", "TA")["celebrities"] == 1


def test_groups_celebrities_and_order(metrics):
    keys = metrics[["attribute", "group", "dataset", "vendor", "celebrities"]].drop_duplicates()
    assert keys.apply(tuple, axis=1).tolist() == [
        ("region", "Asia", "CelebDF", "ms", 1), ("region", "Asia", "CelebDF", "nav", 1),
        ("region", "Asia", "FCelebDF", "ms", 1),
        ("region", "Asia", ALL_DATASETS, "ms", 1), ("region", "Asia", ALL_DATASETS, "nav", 1),
        ("region", "Europe", "CelebDF", "ms", 1), ("region", "Europe", "CelebDF", "nav", 1),
        ("region", "Europe", ALL_DATASETS, "ms", 1), ("region", "Europe", ALL_DATASETS, "nav", 1),
        ("region", NOT_IN_FILE, "CelebDF", "ms", 1), ("region", NOT_IN_FILE, ALL_DATASETS, "ms", 1),
        ("gender", "female", "CelebDF", "ms", 1), ("gender", "female", "CelebDF", "nav", 1),
        ("gender", "female", ALL_DATASETS, "ms", 1), ("gender", "female", ALL_DATASETS, "nav", 1),
        ("gender", UNLABELLED, "CelebDF", "ms", 1), ("gender", UNLABELLED, "CelebDF", "nav", 1),
        ("gender", UNLABELLED, "FCelebDF", "ms", 1),
        ("gender", UNLABELLED, ALL_DATASETS, "ms", 1), ("gender", UNLABELLED, ALL_DATASETS, "nav", 1),
        ("gender", NOT_IN_FILE, "CelebDF", "ms", 1), ("gender", NOT_IN_FILE, ALL_DATASETS, "ms", 1),
    ]  # "male" (Dan) has no deepfakes, so no rows
    first = metrics.head(12)
    assert list(zip(first["metric"], first["basis"]))[:4] == [("TA", "study"), ("TA", "all"), ("NA", "study"),
                                                              ("NA", "all")]


def test_thresholds_from_the_definitions(attributes_file):
    out = attribute_metrics(study_table(ROWS), read_attributes(attributes_file), StudyDefinitions(beta=95, gamma=86))
    assert _values(out, "region", "Europe", "CelebDF", "ms")["DHC"] == (1, 2)   # 99 > 95, 92 is not
    assert _values(out, "region", "Europe", "CelebDF", "ms")["DHS"] == (0, 1)   # 85 is not > 86
    assert set(out["beta"]) == {95.0}


def test_empty_table(attributes_file):
    out = attribute_metrics(study_table(ROWS).iloc[:0], read_attributes(attributes_file), StudyDefinitions())
    assert out.empty and tuple(out.columns) == ATTRIBUTE_METRIC_COLUMNS


# ------------------------------------------------------------------ the study's own files
@pytest.mark.shared
def test_study_targets_grouped(shared_data, tmp_path):
    from harness.study.data import load_study

    path = tmp_path / "made_up.csv"
    path.write_text("celebrity,region\nBae Suzy,East Asia\nEmma Watson,Europe\n", encoding="utf-8")
    data = load_study([shared_data / "paper-results"])
    out = attribute_metrics(data.table, read_attributes(path), data.definitions)
    raw = pd.read_csv(shared_data / "paper-results" / "AWS_Results_CelebDPR.csv", dtype=str, keep_default_na=False)
    suzy = raw[raw["Src"] == "Bae Suzy"]
    hits = int(((suzy["Tar Pred."] != "") & (suzy["Tar Pred."] == suzy["Src Pred."])).sum())
    row = _value(out, "region", "East Asia", "FCelebDF", "aws", "TA")
    assert (row["numerator"], row["denominator"], row["celebrities"]) == (hits, len(suzy), 1)
    assert (hits, len(suzy)) == (2, 100)
    whole = compute_metrics(data.table, 90, 80, by=["dataset", "vendor"])
    na = whole[(whole["metric"] == "NA") & (whole["basis"] == "study") & (whole["dataset"] == "CelebDF")]
    groups = out[(out["attribute"] == "region") & (out["dataset"] == "CelebDF") & (out["metric"] == "NA")
                 & (out["basis"] == "study")]
    assert groups["numerator"].sum() == na["numerator"].sum() and groups["denominator"].sum() == 5639


# ------------------------------------------------------------------ properties
ADDITIVE = ("TA", "NA", "DHF", "DHC", "DHS", "SIC")  # SIC too: the groups split the targets


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(probe_rows(), unique_by=row_key, min_size=1, max_size=30),
       labels=st.dictionaries(st.sampled_from(PEOPLE), st.sampled_from(["a", "b", UNLABELLED]), max_size=3))
def test_group_numerators_add_up_to_the_ungrouped(rows, labels):
    for i, row in enumerate(rows):
        row["probe_id"] = str(i)
    table = study_table(rows)
    attributes = pd.DataFrame({"celebrity": list(labels), "kind": list(labels.values())}, dtype=object)
    out = attribute_metrics(table, attributes, StudyDefinitions())
    whole = compute_metrics(pd.concat([table, table.assign(dataset=ALL_DATASETS)]), 90, 80,
                            by=["dataset", "vendor"])
    summed = out.groupby(["dataset", "vendor", "metric", "basis"])[["numerator", "denominator"]].sum()
    expected = whole.set_index(["dataset", "vendor", "metric", "basis"])[["numerator", "denominator"]]
    expected = expected[expected.index.get_level_values("metric").isin(ADDITIVE)]
    pd.testing.assert_frame_equal(summed.sort_index(), expected.sort_index(), check_dtype=False)
    groups = set(out["group"])
    assert groups <= set(labels.values()) | {NOT_IN_FILE}
    celebrities = out.drop_duplicates(["group", "dataset", "vendor"]).groupby(["dataset", "vendor"])["celebrities"]
    distinct = pd.concat([table, table.assign(dataset=ALL_DATASETS)]).groupby(["dataset", "vendor"])["target"]
    assert celebrities.sum().to_dict() == distinct.nunique().to_dict()
