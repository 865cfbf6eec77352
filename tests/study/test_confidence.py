"""Confidence statistics: hand-computed quartiles, the study's files read independently, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.study.confidence import CONFIDENCE_COLUMNS, confidence_stats
from harness.study.data import ALL_DATASETS

from support.study_tables import study_table

CELEBDF = dict(dataset="CelebDF", vendor="ms")
FCELEBDF = dict(dataset="FCelebDF")
ROWS = [
    # CelebDF / ms deepfakes 90, 80, 70, 85 (the errored 99 is not counted); real images 99, 95, 75
    dict(CELEBDF, probe_id="1", target="Anna", fake_name="Xavier", fake_conf=90,
         real_image="Anna/1", real_name="Anna", real_conf=99),
    dict(CELEBDF, probe_id="2", target="Anna", fake_name="Xavier", fake_conf=80,
         real_image="Anna/1", real_name="Anna", real_conf=99),
    dict(CELEBDF, probe_id="3", target="Anna", fake_name="Carl", fake_conf=70, real_image="Anna/2", real_name=""),
    dict(CELEBDF, probe_id="4", target="Bob", fake_name="", real_image="Bob/1", real_name="Bob", real_conf=95),
    dict(CELEBDF, probe_id="5", target="Bob", fake_name="Xavier", fake_conf=99, fake_error="ThrottlingException",
         real_image="Bob/1", real_name="Bob", real_conf=95),
    dict(CELEBDF, probe_id="6", target="Bob", fake_name="Anna", fake_conf=85,
         real_image="Bob/2", real_name="Carl", real_conf=75),
    # FCelebDF / aws: one named answer of each kind
    dict(FCELEBDF, vendor="aws", probe_id="7", target="Anna", fake_name="Xavier", fake_conf=60,
         real_image="Anna", real_name="Anna", real_conf=100),
    dict(FCELEBDF, vendor="aws", probe_id="8", target="Eve", fake_name="", real_image="Eve", real_name=""),
    # FCelebDF / nav: no named answer (both groups empty); a name without a confidence is not counted
    dict(FCELEBDF, vendor="nav", probe_id="9", target="Eve", fake_name="", real_image="Eve", real_name=""),
    dict(FCELEBDF, vendor="nav", probe_id="12", target="Eve", fake_name="Xavier", fake_conf=None,
         real_image="Eve", real_name=""),
    # FCelebDF / ms: deepfake 72; real images 88 and 97
    dict(FCELEBDF, vendor="ms", probe_id="10", target="Eve", fake_name="", fake_error="timeout",
         real_image="Eve", real_name="Eve", real_conf=88),
    dict(FCELEBDF, vendor="ms", probe_id="11", target="Anna", fake_name="Anna", fake_conf=72,
         real_image="Anna/1", real_name="Anna", real_conf=97),
]
NAN = math.nan


def _stats(frame, dataset, vendor, images):
    (row,) = frame[(frame["dataset"] == dataset) & (frame["vendor"] == vendor)
                   & (frame["images"] == images)].to_dict("records")
    return (row["n"], *(row[c] for c in ("mean", "median", "q1", "q3", "min", "max")))


def _same(got, expected):
    assert got[0] == expected[0]
    for g, e in zip(got[1:], expected[1:]):
        assert (math.isnan(g) and math.isnan(e)) or g == pytest.approx(e), (got, expected)


@pytest.fixture(scope="module")
def stats():
    return confidence_stats(study_table(ROWS))


def test_columns_and_groups(stats):
    assert tuple(stats.columns) == CONFIDENCE_COLUMNS
    assert stats[["dataset", "vendor", "images"]].apply(tuple, axis=1).tolist() == [
        (d, v, i) for d, v in [("CelebDF", "ms"), ("FCelebDF", "aws"), ("FCelebDF", "ms"), ("FCelebDF", "nav"),
                               (ALL_DATASETS, "aws"), (ALL_DATASETS, "ms"), (ALL_DATASETS, "nav")]
        for i in ("deepfake", "real")]
    assert stats["n"].dtype == np.int64


def test_linear_quartiles_by_hand(stats):
    # sorted 70, 80, 85, 90: q1 at position 0.75 -> 77.5, median 82.5, q3 at 2.25 -> 86.25
    _same(_stats(stats, "CelebDF", "ms", "deepfake"), (4, 81.25, 82.5, 77.5, 86.25, 70, 90))
    # one value per real image: 75, 95, 99 (Anna/1 once although two rows show it)
    _same(_stats(stats, "CelebDF", "ms", "real"), (3, 269 / 3, 95, 85, 97, 75, 99))
    _same(_stats(stats, "FCelebDF", "aws", "deepfake"), (1, 60, 60, 60, 60, 60, 60))
    _same(_stats(stats, "FCelebDF", "ms", "real"), (2, 92.5, 92.5, 90.25, 94.75, 88, 97))


def test_empty_groups_are_there_with_nan(stats):
    for images in ("deepfake", "real"):
        _same(_stats(stats, "FCelebDF", "nav", images), (0, NAN, NAN, NAN, NAN, NAN, NAN))
        _same(_stats(stats, ALL_DATASETS, "nav", images), (0, NAN, NAN, NAN, NAN, NAN, NAN))


def test_pooled_over_datasets(stats):
    # ms deepfakes 70, 72, 80, 85, 90; real images 75, 95, 99 (CelebDF) and 88, 97 (FCelebDF's own Anna/1)
    _same(_stats(stats, ALL_DATASETS, "ms", "deepfake"), (5, 79.4, 80, 72, 85, 70, 90))
    _same(_stats(stats, ALL_DATASETS, "ms", "real"), (5, 90.8, 95, 88, 97, 75, 99))


def test_empty_table():
    out = confidence_stats(study_table(ROWS).iloc[:0])
    assert out.empty and tuple(out.columns) == CONFIDENCE_COLUMNS


# ------------------------------------------------------------------ the study's own files
@pytest.fixture(scope="module")
def study_stats(shared_data):
    from harness.study.data import load_study

    return confidence_stats(load_study([shared_data / "paper-results"]).table)


def _named_conf(shared_data, name, pred, conf, scale, distinct=None):
    raw = pd.read_csv(shared_data / "paper-results" / name, dtype=str, keep_default_na=False)
    if distinct:
        raw = raw.drop_duplicates(distinct)
    return raw.loc[raw[pred] != "", conf].astype(float).to_numpy() * scale


@pytest.mark.shared
def test_aws_matches_its_file(shared_data, study_stats):
    fake = _named_conf(shared_data, "AWS_Results_CelebDPR.csv", "Tar Pred.", "Tar Conf.", 1.0)
    real = _named_conf(shared_data, "AWS_Results_CelebDPR.csv", "Src Pred.", "Src Conf.", 1.0, distinct="Src")
    assert (fake.size, fake.min(), np.median(fake)) == (1639, 55.0, 78.0)  # AWS's reporting floor: 55
    _same(_stats(study_stats, "FCelebDF", "aws", "deepfake"),
          (1639, fake.mean(), 78.0, *np.quantile(fake, [0.25, 0.75]), 55.0, fake.max()))
    assert (real.size, real.min()) == (47, 86.0)
    assert _stats(study_stats, "FCelebDF", "aws", "real")[0] == 47
    assert _stats(study_stats, "FCelebDF", "aws", "real")[5] == pytest.approx(86.0)


@pytest.mark.shared
def test_azure_floor_and_pooled_minimum(shared_data, study_stats):
    azure = ["ms_CelebDPR.csv", "Results_celebDF.csv", "Results_FOM.csv", "Results_FaceApp.csv",
             "Results_vox1.csv", "Results_vox2.csv"]
    fake = np.concatenate([_named_conf(shared_data, f, "Tar Pred.", "Tar Conf.", 100.0) for f in azure])
    real = np.concatenate([_named_conf(shared_data, f, "Src Pred.", "Src Conf.", 100.0) for f in azure])
    pooled_fake = _stats(study_stats, ALL_DATASETS, "ms", "deepfake")
    assert pooled_fake[0] == fake.size == 5071
    assert pooled_fake[5] == pytest.approx(fake.min()) and fake.min() == pytest.approx(70.006, abs=1e-3)
    assert pooled_fake[2] == pytest.approx(np.median(fake))
    # every row of one real image carries its one answer, so the minimum over rows is the minimum over images
    assert _stats(study_stats, ALL_DATASETS, "ms", "real")[5] == pytest.approx(real.min())
    assert real.min() == pytest.approx(70.147, abs=1e-3)
    blend = _named_conf(shared_data, "Results_FaceApp.csv", "Src Pred.", "Src Conf.", 100.0, distinct="Src")
    _same(_stats(study_stats, "CelebBlend", "ms", "real"),
          (15, blend.mean(), np.median(blend), *np.quantile(blend, [0.25, 0.75]), blend.min(), blend.max()))


# ------------------------------------------------------------------ properties
maybe_conf = st.one_of(st.none(), st.floats(0, 100, allow_nan=False, allow_subnormal=False))


@st.composite
def conf_rows(draw):
    rows = []
    for i in range(draw(st.integers(1, 25))):
        fake = draw(st.sampled_from(["", "Anna", "Bob"]))
        rows.append(dict(dataset=draw(st.sampled_from(["CelebDF", "CelebFOM"])),
                         vendor=draw(st.sampled_from(["aws", "ms"])), probe_id=str(i), target="Anna", fake_name=fake,
                         fake_conf=draw(maybe_conf) if fake else None,
                         fake_error=draw(st.sampled_from(["", "", "timeout"])),
                         real_image=str(i), real_name="", real_conf=None))
    return rows


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(conf_rows())
def test_statistics_are_ordered_and_count_named_confidences(rows):
    out = confidence_stats(study_table(rows))
    for r in out[out["images"] == "deepfake"].to_dict("records"):
        pooled = r["dataset"] == ALL_DATASETS
        values = [x["fake_conf"] for x in rows
                  if (pooled or x["dataset"] == r["dataset"]) and x["vendor"] == r["vendor"]
                  and x["fake_name"] and not x["fake_error"] and x["fake_conf"] is not None]
        assert r["n"] == len(values)
        if values:
            assert r["min"] <= r["q1"] <= r["median"] <= r["q3"] <= r["max"]
            assert r["min"] == min(values) and r["max"] == max(values)
            assert r["mean"] == pytest.approx(sum(values) / len(values))
            assert r["median"] == pytest.approx(float(np.median(values)))
        else:
            assert all(math.isnan(r[c]) for c in ("mean", "median", "q1", "q3", "min", "max"))
    assert (out.loc[out["images"] == "real", "n"] == 0).all()
