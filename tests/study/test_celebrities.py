"""Per-celebrity tables: hand-computed fixtures and real rows of the study's files counted by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.study.celebrities import AVERAGE, COLUMNS, per_celebrity
from harness.study.data import load_study
from harness.study.definitions import StudyDefinitions

from support.study_tables import paper_rows, study_table


def _row(table: pd.DataFrame, celebrity: str, dataset: str = "D", vendor: str = "ms") -> dict:
    (row,) = table[(table["dataset"] == dataset) & (table["vendor"] == vendor)
                   & (table["celebrity"] == celebrity)].to_dict("records")
    return row


def _probe(pid: str, target: str, fake: str, conf: float | None, sim: float | None, real: tuple[str, str, float | None],
           **extra: object) -> dict:
    image, name, real_conf = real
    return dict(dataset=extra.pop("dataset", "D"), vendor=extra.pop("vendor", "ms"), probe_id=pid, target=target,
                target_name=name, target_conf=real_conf, fake_name=fake, fake_conf=conf, similarity=sim,
                real_person=extra.pop("real_person", target), real_name=name, real_conf=real_conf, real_image=image,
                **extra)


def test_means_by_hand_with_an_empty_celebrity_and_an_average_row():
    table = study_table([
        _probe("a1", "A", "A", 80.0, 60.0, ("A/1", "A", 90.0)),
        _probe("a2", "A", "A", 70.0, None, ("A/1", "A", 90.0)),
        _probe("a3", "A", "X", 90.0, 30.0, ("A/1", "A", 90.0)),
        _probe("a4", "A", "", None, 0.5, ("A/2", "A", 70.0)),   # a second real image of A
        _probe("b1", "B", "", None, 30.0, ("B/1", "", None)),     # B: no named answer anywhere
    ])
    out = per_celebrity(table)
    assert tuple(out.columns) == COLUMNS
    a = _row(out, "A")
    # each real image once: (90 + 70) / 2, not weighted by its 3 and 1 probes
    assert a["reference_conf"] == pytest.approx(80.0)
    assert a["target_conf"] == pytest.approx((80 + 70 + 90) / 3)
    assert a["similarity"] == pytest.approx((60 + 30 + 0.5) / 3)
    assert a["n_probes"] == 4
    b = _row(out, "B")
    assert math.isnan(b["reference_conf"]) and math.isnan(b["target_conf"])
    assert b["similarity"] == 30.0 and b["n_probes"] == 1
    avg = _row(out, AVERAGE)
    assert avg["reference_conf"] == pytest.approx(80.0)            # B has none: left out
    assert avg["target_conf"] == pytest.approx(80.0)
    assert avg["similarity"] == pytest.approx(((60 + 30 + 0.5) / 3 + 30) / 2)
    assert avg["n_probes"] == 5
    assert list(out["celebrity"]) == ["A", "B", AVERAGE]


def test_failed_deepfake_call_is_not_a_confidence_and_nav_has_no_similarity():
    table = study_table([
        _probe("a1", "A", "A", 95.0, None, ("A/1", "A", 99.0), vendor="nav"),
        _probe("a2", "A", "", None, None, ("A/1", "A", 99.0), vendor="nav", fake_error="ThrottlingException"),
    ])
    a = _row(per_celebrity(table), "A", vendor="nav")
    assert a["target_conf"] == 95.0 and math.isnan(a["similarity"]) and a["n_probes"] == 2


def test_celebfom_rows_are_keyed_by_the_driver_under_the_study_key():
    rows = [
        # deepfakes of target T driven by D's clip; the real image in the row is T's
        _probe("t1", "T", "T", 90.0, 85.0, ("T/v1", "T", 99.0), dataset="CelebFOM", references="D"),
        _probe("t2", "T", "T", 80.0, 75.0, ("T/v1", "T", 99.0), dataset="CelebFOM", references="E"),
        # D as a target somewhere else in the file: its real image
        _probe("d1", "D", "", None, 40.0, ("D/v1", "D", 95.0), dataset="CelebFOM", references="T"),
    ]
    study = per_celebrity(study_table(rows))
    d = _row(study, "D", dataset="CelebFOM")
    assert (d["n_probes"], d["target_conf"], d["similarity"]) == (1, 90.0, 85.0)
    assert d["reference_conf"] == 95.0          # D's own real image
    assert _row(study, "T", dataset="CelebFOM")["n_probes"] == 1   # t-row d1 is driven by T
    by_target = per_celebrity(study_table(rows, StudyDefinitions(celebrity_key="target")))
    t = _row(by_target, "T", dataset="CelebFOM")
    assert t["n_probes"] == 2 and t["target_conf"] == pytest.approx(85.0) and t["reference_conf"] == 99.0


def test_empty_table_has_the_columns():
    empty = study_table([_probe("a", "A", "", None, None, ("A", "", None))]).iloc[:0]
    assert tuple(per_celebrity(empty).columns) == COLUMNS


@pytest.fixture(scope="module")
def study(shared_data):
    return load_study([shared_data / "paper-results"])


def _mean(values):
    values = list(values)
    return sum(values) / len(values) if values else float("nan")


def test_aws_fcelebdf_bae_suzy_by_hand(shared_data, study):
    rows = [r for r in paper_rows(shared_data, "AWS_Results_CelebDPR.csv") if r["Src"] == "Bae Suzy"]
    got = _row(per_celebrity(study.table), "Bae Suzy", dataset="FCelebDF", vendor="aws")
    assert got["n_probes"] == len(rows)
    assert {r["Src Conf."] for r in rows} == {"100.0"} and got["reference_conf"] == 100.0
    assert got["target_conf"] == pytest.approx(_mean(float(r["Tar Conf."]) for r in rows if r["Tar Pred."]))
    assert got["similarity"] == pytest.approx(_mean(float(r["Similarity"]) for r in rows))   # AWS: every score


def test_celebfom_gal_gadot_as_driver_by_hand(shared_data, study):
    rows = paper_rows(shared_data, "Results_FOM.csv")
    driven = [r for r in rows if r["Tar"] == "Gal Gadot"]
    got = _row(per_celebrity(study.table), "Gal Gadot", dataset="CelebFOM")
    assert got["n_probes"] == len(driven)
    assert got["target_conf"] == pytest.approx(100 * _mean(float(r["Tar Conf."]) for r in driven if r["Tar Pred."]))
    # an Azure similarity of 0 is no score (the default definition)
    assert got["similarity"] == pytest.approx(100 * _mean(float(r["Similarity"]) for r in driven
                                                          if float(r["Similarity"]) != 0))
    # her real images: one per real clip folder of hers
    own = {r["Filename"].rsplit("/", 1)[0]: r for r in rows if r["Src"] == "Gal Gadot"}
    assert got["reference_conf"] == pytest.approx(100 * _mean(float(r["Src Conf."]) for r in own.values()
                                                              if r["Src Pred."]))
