"""Most-named identities: hand-counted fixture, the study's files counted independently, properties."""

from __future__ import annotations

from collections import Counter, defaultdict

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.study.data import ALL_DATASETS
from harness.study.identities import MOST_NAMED_COLUMNS, SUMMARY_COLUMNS, most_named, named_summary

from support.study_tables import study_table

CELEBDF = dict(dataset="CelebDF", vendor="ms", method="replacement")
FCELEBDF = dict(dataset="FCelebDF", method="replacement")
ROWS = [
    # CelebDF / ms: deepfakes Xavier x2, Carl, (none), Anna; the errored Xavier is not counted
    dict(CELEBDF, probe_id="1", target="Anna", references="Carl", fake_name="Xavier", fake_conf=90,
         real_image="Anna/1", real_name="Anna", real_conf=99),
    dict(CELEBDF, probe_id="2", target="Anna", references="Carl", fake_name="Xavier", fake_conf=80,
         real_image="Anna/1", real_name="Anna", real_conf=99),
    dict(CELEBDF, probe_id="3", target="Anna", references="Dora", fake_name="Carl", fake_conf=70,
         real_image="Anna/2", real_name="", real_conf=None),
    dict(CELEBDF, probe_id="4", target="Bob", references="Carl", fake_name="", fake_conf=None,
         real_image="Bob/1", real_name="Bob", real_conf=95),
    dict(CELEBDF, probe_id="5", target="Bob", references="Carl", fake_name="Xavier", fake_conf=99,
         fake_error="ThrottlingException", real_image="Bob/1", real_name="Bob", real_conf=95),
    dict(CELEBDF, probe_id="6", target="Bob", references="Dora", fake_name="Anna", fake_conf=85,
         real_image="Bob/2", real_name="Carl", real_conf=75),
    # FCelebDF / aws
    dict(FCELEBDF, vendor="aws", probe_id="7", target="Anna", fake_name="Xavier", fake_conf=60,
         real_image="Anna", real_name="Anna", real_conf=100),
    dict(FCELEBDF, vendor="aws", probe_id="8", target="Eve", fake_name="", fake_conf=None,
         real_image="Eve", real_name="", real_conf=None),
    # FCelebDF / nav: nothing named at all (an empty group; Eve is never named)
    dict(FCELEBDF, vendor="nav", probe_id="9", target="Eve", fake_name="", fake_conf=None,
         real_image="Eve", real_name="", real_conf=None),
    # FCelebDF / ms: its only other deepfake call failed; real image id "Anna/1" repeats CelebDF's,
    # yet is another dataset's image
    dict(FCELEBDF, vendor="ms", probe_id="10", target="Eve", fake_name="", fake_conf=None, fake_error="timeout",
         real_image="Eve", real_name="Eve", real_conf=88),
    dict(FCELEBDF, vendor="ms", probe_id="11", target="Anna", fake_name="Anna", fake_conf=72,
         real_image="Anna/1", real_name="Anna", real_conf=97),
]


@pytest.fixture(scope="module")
def table():
    return study_table(ROWS)


def _names(frame, dataset, vendor, images):
    sel = frame[(frame["dataset"] == dataset) & (frame["vendor"] == vendor) & (frame["images"] == images)]
    return [(r["rank"], r["name"], r["count"], round(r["share"], 4), r["in_dataset"]) for r in sel.to_dict("records")]


def test_deepfake_names_hand_counted(table):
    out = most_named(table)
    assert tuple(out.columns) == MOST_NAMED_COLUMNS
    assert _names(out, "CelebDF", "ms", "deepfake") == [
        (1, "Xavier", 2, 50.0, False), (2, "Anna", 1, 25.0, True), (3, "Carl", 1, 25.0, True)]
    assert _names(out, "FCelebDF", "aws", "deepfake") == [(1, "Xavier", 1, 100.0, False)]
    assert _names(out, "FCelebDF", "ms", "deepfake") == [(1, "Anna", 1, 100.0, True)]
    # pooled: Anna and Xavier tie at 2, ranked by name
    assert _names(out, ALL_DATASETS, "ms", "deepfake") == [
        (1, "Anna", 2, 40.0, True), (2, "Xavier", 2, 40.0, False), (3, "Carl", 1, 20.0, True)]


def test_real_image_names_one_per_distinct_real_image(table):
    out = most_named(table)
    third = round(100 / 3, 4)
    assert _names(out, "CelebDF", "ms", "real") == [(1, "Anna", 1, third, True), (2, "Bob", 1, third, True),
                                                   (3, "Carl", 1, third, True)]
    assert _names(out, ALL_DATASETS, "ms", "real") == [
        (1, "Anna", 2, 40.0, True), (2, "Bob", 1, 20.0, True), (3, "Carl", 1, 20.0, True), (4, "Eve", 1, 20.0, True)]


def test_group_without_named_answer_has_no_names_but_a_summary(table):
    out = most_named(table)
    assert out[out["vendor"] == "nav"].empty
    assert _names(out, "FCelebDF", "aws", "real") == [(1, "Anna", 1, 100.0, True)]


def test_report_order(table):
    out = most_named(table)
    groups = out[["dataset", "vendor", "images"]].drop_duplicates().apply(tuple, axis=1).tolist()
    assert groups == [("CelebDF", "ms", "deepfake"), ("CelebDF", "ms", "real"), ("FCelebDF", "aws", "deepfake"),
                      ("FCelebDF", "aws", "real"), ("FCelebDF", "ms", "deepfake"), ("FCelebDF", "ms", "real"),
                      (ALL_DATASETS, "aws", "deepfake"), (ALL_DATASETS, "aws", "real"),
                      (ALL_DATASETS, "ms", "deepfake"), (ALL_DATASETS, "ms", "real")]


def test_named_summary_hand_counted(table):
    out = named_summary(table)
    assert tuple(out.columns) == SUMMARY_COLUMNS
    got = {(r["dataset"], r["vendor"], r["images"]): (r["answers"], r["named"], r["distinct_names"])
           for r in out.to_dict("records")}
    assert got == {
        ("CelebDF", "ms", "deepfake"): (5, 4, 3), ("CelebDF", "ms", "real"): (4, 3, 3),
        ("FCelebDF", "aws", "deepfake"): (2, 1, 1), ("FCelebDF", "aws", "real"): (2, 1, 1),
        ("FCelebDF", "ms", "deepfake"): (1, 1, 1), ("FCelebDF", "ms", "real"): (2, 2, 2),
        ("FCelebDF", "nav", "deepfake"): (1, 0, 0), ("FCelebDF", "nav", "real"): (1, 0, 0),
        (ALL_DATASETS, "aws", "deepfake"): (2, 1, 1), (ALL_DATASETS, "aws", "real"): (2, 1, 1),
        (ALL_DATASETS, "ms", "deepfake"): (6, 5, 3), (ALL_DATASETS, "ms", "real"): (6, 5, 4),
        (ALL_DATASETS, "nav", "deepfake"): (1, 0, 0), (ALL_DATASETS, "nav", "real"): (1, 0, 0),
    }
    assert list(out["dataset"]).index(ALL_DATASETS) == 8


def test_empty_table():
    empty = study_table([dict(CELEBDF, probe_id="1", target="Anna", fake_name="", fake_conf=None)]).iloc[:0]
    assert most_named(empty).empty and tuple(most_named(empty).columns) == MOST_NAMED_COLUMNS
    assert named_summary(empty).empty


# ------------------------------------------------------------------ the study's own files
def _csv(shared_data, name):
    return pd.read_csv(shared_data / "paper-results" / name, dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def study(shared_data):
    from harness.study.data import load_study

    return load_study([shared_data / "paper-results"]).table


@pytest.mark.shared
def test_aws_deepfake_names_match_the_file(shared_data, study):
    raw = _csv(shared_data, "AWS_Results_CelebDPR.csv")
    expected = Counter(n for n in raw["Tar Pred."] if n)
    out = most_named(study)
    aws = out[(out["dataset"] == "FCelebDF") & (out["vendor"] == "aws") & (out["images"] == "deepfake")]
    assert dict(zip(aws["name"], aws["count"])) == expected
    assert sum(expected.values()) == 1639
    top = aws.iloc[0]
    assert (top["rank"], top["name"], top["count"]) == (1, "Mila Kunis", 78)
    assert top["share"] == pytest.approx(100 * 78 / 1639)
    labels = set()  # FCelebDF's celebrities: the targets (Src) of its three files
    for name in ("AWS_Results_CelebDPR.csv", "ms_CelebDPR.csv", "Results_CelebDPR.csv"):
        labels |= set(_csv(shared_data, name)["Src"])
    assert aws["in_dataset"].tolist() == [n in labels for n in aws["name"]]
    outside = aws[~aws["in_dataset"]]
    assert len(outside) == len(set(expected) - labels) > 0  # AWS names many people outside the dataset


@pytest.mark.shared
def test_azure_fcelebdf_and_blend_names_match_the_files(shared_data, study):
    out = most_named(study)
    for dataset, name in (("FCelebDF", "ms_CelebDPR.csv"), ("CelebBlend", "Results_FaceApp.csv")):
        raw = _csv(shared_data, name)
        expected = Counter(n for n in raw["Tar Pred."] if n)
        sel = out[(out["dataset"] == dataset) & (out["vendor"] == "ms") & (out["images"] == "deepfake")]
        assert dict(zip(sel["name"], sel["count"])) == expected
        # one real image per person in these files: one answer per distinct Src
        real_answers = raw.drop_duplicates("Src")["Src Pred."]
        expected_real = Counter(n for n in real_answers if n)
        sel = out[(out["dataset"] == dataset) & (out["vendor"] == "ms") & (out["images"] == "real")]
        assert dict(zip(sel["name"], sel["count"])) == expected_real
    blend = out[(out["dataset"] == "CelebBlend") & (out["images"] == "deepfake")].head(3)
    assert list(zip(blend["name"], blend["count"])) == [("Barack Obama", 9), ("Shah Rukh Khan", 9), ("Tom Cruise", 5)]


@pytest.mark.shared
def test_study_summary_counts(study):
    out = named_summary(study).set_index(["dataset", "vendor", "images"])
    assert tuple(out.loc[("FCelebDF", "aws", "deepfake")]) == (4902, 1639, 588)
    assert tuple(out.loc[("CelebBlend", "ms", "real")]) == (20, 15, 15)
    pooled = out.loc[(ALL_DATASETS, "ms", "deepfake")]
    per_dataset = out.xs(("ms", "deepfake"), level=("vendor", "images")).drop(ALL_DATASETS)
    assert pooled["answers"] == per_dataset["answers"].sum() and pooled["named"] == per_dataset["named"].sum()


# ------------------------------------------------------------------ properties
PEOPLE = ["Anna", "Bob", "Carl", "Dora"]
NAMES = ["", "", *PEOPLE, "Xavier"]


@st.composite
def identity_rows(draw):
    n = draw(st.integers(1, 30))
    real_answer = {}  # one answer per (dataset, vendor, real image), as in the study's tables
    rows = []
    for i in range(n):
        dataset = draw(st.sampled_from(["CelebDF", "CelebFOM"]))
        vendor = draw(st.sampled_from(["aws", "ms"]))
        real_image = draw(st.sampled_from(["r1", "r2", "r3"]))
        key = (dataset, vendor, real_image)
        if key not in real_answer:
            real_answer[key] = draw(st.sampled_from(NAMES))
        fake = draw(st.sampled_from(NAMES))
        rows.append(dict(dataset=dataset, vendor=vendor, probe_id=str(i), target=draw(st.sampled_from(PEOPLE)),
                         fake_name=fake, fake_conf=50.0 if fake else None,
                         fake_error=draw(st.sampled_from(["", "", "", "timeout"])),
                         real_image=real_image, real_name=real_answer[key],
                         real_conf=90.0 if real_answer[key] else None))
    return rows


def _reference(rows):
    """(dataset, vendor, images) -> Counter of names, counted one row at a time."""
    out: defaultdict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    seen = set()
    for r in rows:
        for dataset in (r["dataset"], ALL_DATASETS):
            if not r["fake_error"] and r["fake_name"]:
                out[(dataset, r["vendor"], "deepfake")][r["fake_name"]] += 1
            image = (dataset, r["dataset"], r["vendor"], r["real_image"])
            if image not in seen:
                seen.add(image)
                if r["real_name"]:
                    out[(dataset, r["vendor"], "real")][r["real_name"]] += 1
    return out


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(identity_rows())
def test_counts_add_up_to_the_named_answers(rows):
    table = study_table(rows)
    out = most_named(table)
    summary = named_summary(table).set_index(["dataset", "vendor", "images"])
    reference = _reference(rows)
    got = defaultdict(Counter)
    for key, group in out.groupby(["dataset", "vendor", "images"]):
        got[key] = Counter(dict(zip(group["name"], group["count"])))
        assert list(group["rank"]) == list(range(1, len(group) + 1))
        assert list(group["count"]) == sorted(group["count"], reverse=True)
        assert group["share"].sum() == pytest.approx(100.0)
        assert group["count"].sum() == summary.loc[key, "named"]
        assert len(group) == summary.loc[key, "distinct_names"]
    assert {k: v for k, v in got.items() if v} == {k: v for k, v in reference.items() if v}
    labels = defaultdict(set)
    for r in rows:
        labels[r["dataset"]].add(r["target"])
        labels[ALL_DATASETS].add(r["target"])
    assert out["in_dataset"].tolist() == [n in labels[d] for d, n in zip(out["dataset"], out["name"])]
