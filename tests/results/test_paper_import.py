"""Importing the study's recorded result files, checked against counts made independently.

The expected numbers were counted straight from the CSV files with Python's csv module (and the
row counts with ``awk 'NR>1' FILE | wc -l``), not with the harness.
"""

from __future__ import annotations

import csv

import pandas as pd
import pytest

from harness.errors import DfiError, InputFileError
from harness.metrics import compute_metrics
from harness.results import read_results, write_results
from harness.results.paper import import_paper, import_paper_file

ROWS = {
    "AWS_Results_CelebDPR.csv": 4902, "Results_CelebDPR.csv": 2922, "Results_FOM.csv": 2176,
    "Results_FaceApp.csv": 179, "Results_celebDF.csv": 5639, "Results_vox1.csv": 1600,
    "Results_vox2.csv": 1600, "ms_CelebDPR.csv": 4902,
}
EMPTY_FAKE_ANSWERS = {
    "AWS_Results_CelebDPR.csv": 3263, "Results_CelebDPR.csv": 2658, "Results_FOM.csv": 1024,
    "Results_FaceApp.csv": 141, "Results_celebDF.csv": 4378, "Results_vox1.csv": 348,
    "Results_vox2.csv": 568, "ms_CelebDPR.csv": 4566,
}


@pytest.fixture(scope="module")
def paper(shared_data):
    """Every row of every file, as the files hold them (the repeated FCelebDF probes included)."""
    return import_paper([shared_data / "paper-results"], keep_duplicates=True)


def _rec(records, metric, basis="study", **keys):
    sel = (records["metric"] == metric) & (records["basis"] == basis)
    for k, v in keys.items():
        sel &= records[k] == v
    (row,) = records[sel].to_dict("records")
    return row["numerator"], row["denominator"]


def test_every_file_imported_with_its_rows(paper):
    table, summary = paper
    assert {f.source: f.rows for f in summary.files} == ROWS
    assert {f.source: f.empty_fake_answers for f in summary.files} == EMPTY_FAKE_ANSWERS
    assert summary.skipped == ["LICENSE"]
    assert len(table) == sum(ROWS.values()) == 23920
    assert table.groupby("source").size().to_dict() == ROWS
    datasets = table.groupby("source")["dataset"].first().to_dict()
    assert datasets["Results_celebDF.csv"] == "CelebDF" and datasets["Results_FaceApp.csv"] == "CelebBlend"
    assert datasets["Results_FOM.csv"] == "CelebFOM" and datasets["Results_vox2.csv"] == "VoxCelebTH"
    assert datasets["AWS_Results_CelebDPR.csv"] == datasets["ms_CelebDPR.csv"] == "FCelebDF"
    assert set(table.loc[table["source"] == "AWS_Results_CelebDPR.csv", "vendor"]) == {"aws"}
    assert set(table.loc[table["source"] != "AWS_Results_CelebDPR.csv", "vendor"]) == {"ms"}
    assert (table["fake_error"] == "").all()  # empty = no celebrity; failures cannot be told apart
    assert not table["probe_id"].str.contains("/home/").any()
    assert not table.duplicated(["source", "probe_id"]).any()


def test_probes_two_files_record_are_kept_once(shared_data, paper):
    pooled, _ = paper
    table, summary = import_paper([shared_data / "paper-results"])
    # Results_CelebDPR.csv: 2,922 of ms_CelebDPR.csv's 4,902 FCelebDF deepfakes, same images
    assert summary.duplicates == {"Results_CelebDPR.csv": (2922, "ms_CelebDPR.csv")}
    assert len(table) == 23920 - 2922
    fcelebdf_ms = table[(table["dataset"] == "FCelebDF") & (table["vendor"] == "ms")]
    assert len(fcelebdf_ms) == 4902 and not fcelebdf_ms.duplicated("probe_id").any()
    assert set(fcelebdf_ms["source"]) == {"ms_CelebDPR.csv"}
    # the rows kept are the larger file's rows, unchanged
    ms_rows = pooled[pooled["source"] == "ms_CelebDPR.csv"].reset_index(drop=True)
    pd.testing.assert_frame_equal(fcelebdf_ms.reset_index(drop=True), ms_rows)
    # every other dataset x vendor is untouched
    others = ~((pooled["dataset"] == "FCelebDF") & (pooled["vendor"] == "ms"))
    assert len(table[~((table["dataset"] == "FCelebDF") & (table["vendor"] == "ms"))]) == others.sum()


def test_scales(paper):
    table, _ = paper
    aws = table[table["vendor"] == "aws"]
    ms = table[table["vendor"] == "ms"]
    assert aws["fake_conf"].min() == 55.0 and ms["fake_conf"].min() == pytest.approx(70.0056, abs=1e-3)
    assert aws["similarity"].max() == pytest.approx(99.9941, abs=1e-3)   # CompareFaces: already percent
    assert ms["similarity"].max() == pytest.approx(97.6246, abs=1e-3)    # find-similar 0-1, times 100
    assert table[["fake_conf", "target_conf", "target2_conf", "similarity"]].stack().dropna().between(0, 100).all()


def test_metrics_match_counts_made_from_the_csv(shared_data, paper):
    table, _ = paper
    records = compute_metrics(table, by=("dataset", "vendor", "source"))
    for name, scale in (("AWS_Results_CelebDPR.csv", 1.0), ("Results_FOM.csv", 100.0), ("Results_vox1.csv", 100.0)):
        with open(shared_data / "paper-results" / name, newline="") as fh:
            rows = list(csv.DictReader(fh))
        named = [r for r in rows if r["Tar Pred."]]
        ta = [r for r in named if r["Src Pred."] and r["Tar Pred."] == r["Src Pred."]]
        dhc = [r for r in named if float(r["Tar Conf."]) * scale > 90]
        dhs = [r for r in rows if not r["Tar Pred."] and float(r["Similarity"]) * scale > 80]
        # the study's DHS denominator: NA failures with a score; an Azure 0 (no face found) is no score
        scored_misses = [r for r in rows if not r["Tar Pred."] and (name.startswith("AWS") or float(r["Similarity"]))]
        assert _rec(records, "NA", source=name) == (len(named), len(rows))
        assert _rec(records, "TA", source=name) == (len(ta), len(rows))
        assert _rec(records, "DHC", source=name) == (len(dhc), len(named))
        assert _rec(records, "DHS", source=name) == (len(dhs), len(scored_misses))
        assert _rec(records, "SIC", source=name) == (len({r["Src"] for r in ta}), len({r["Src"] for r in rows}))
    # hand-counted values, as a second check
    assert _rec(records, "TA", source="AWS_Results_CelebDPR.csv") == (521, 4902)
    assert _rec(records, "DHS", source="AWS_Results_CelebDPR.csv") == (993, 3263)
    assert _rec(records, "TA", source="Results_FOM.csv") == (1129, 2176)
    assert _rec(records, "SIC", source="Results_FOM.csv") == (57, 58)


def test_celebdf_target_is_tar_with_answer_from_that_persons_real_images(paper):
    table, _ = paper
    df = table[table["source"] == "Results_celebDF.csv"]
    first = df.iloc[0]
    assert (first["target"], first["references"]) == ("Scarlett Johansson", "Emma Watson")
    assert first["target_name"] == "Scarlett Johansson"
    # the vendor called real images of the label "Amir Khan" "Aamir Khan": TA compares vendor names
    amir = df[df["target"] == "Amir Khan"]
    assert len(amir) and set(amir["target_name"]) == {"Aamir Khan"}
    assert (df["target_error"] == "").all()


def test_celebblend_has_two_references(paper):
    table, _ = paper
    blend = table[table["dataset"] == "CelebBlend"]
    assert (blend["method"] == "synthesis").all()
    row = blend[blend["probe_id"] == "FaceApp/fake/Emma Watson/Scarlett Johansson.jpg"].iloc[0]
    assert row["references"] == "Emma Watson|Scarlett Johansson"
    assert (row["target_name"], row["target2_name"]) == ("Emma Watson", "Scarlett Johansson")
    assert row["target2_conf"] == pytest.approx(99.9859, abs=1e-3)


def test_zero_similarity_is_no_score_by_default(shared_data):
    path = shared_data / "paper-results" / "ms_CelebDPR.csv"
    dropped, summary = import_paper_file(path)  # the default: 0 is no score
    kept, _ = import_paper_file(path, zero_similarity="score")
    assert summary.zero_similarity == 4785
    assert (kept["similarity"] == 0).sum() == 4785 and dropped["similarity"].isna().sum() == 4785
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    missed_scored = sum(1 for r in rows if not r["Tar Pred."] and float(r["Similarity"]) != 0)
    assert _rec(compute_metrics(dropped), "DHS") == (0, missed_scored)
    assert _rec(compute_metrics(kept), "DHS") == (0, 4566)


def test_round_trip_of_the_imported_table(tmp_path, paper):
    table, _ = paper
    back = read_results(write_results(table, tmp_path / "paper.parquet"))
    assert back.equals(table)


def test_bad_paper_files(tmp_path, shared_data):
    with pytest.raises(InputFileError, match="not one of the study's result files"):
        other = tmp_path / "mine.csv"
        other.write_text("a,b\n1,2\n")
        import_paper([other])
    lines = (shared_data / "paper-results" / "Results_FOM.csv").read_text().splitlines()[:4]
    broken = tmp_path / "Results_FOM.csv"
    broken.write_text("\n".join([lines[0], lines[1], lines[2].replace(",0.8510795,", ",85.10795,"), lines[3]]) + "\n")
    with pytest.raises(InputFileError) as info:
        import_paper([broken])
    assert (info.value.row, info.value.column) == (2, "Similarity") and "0-1 scale" in str(info.value)
    assert "85.10795 is outside" in str(info.value)  # the value as in the file, not numpy's repr
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DfiError, match="no study result files"):
        import_paper([empty])
    with pytest.raises(InputFileError, match="no such file or folder"):
        import_paper([tmp_path / "absent"])


def test_missing_column(tmp_path):
    bad = tmp_path / "Results_vox1.csv"
    bad.write_text("Filename,Src,Tar,Src Pred.,Src Conf.,Tar Pred.,Tar Conf.\nx,a,b,a,0.9,,,\n")
    with pytest.raises(InputFileError) as info:
        import_paper([bad])
    assert info.value.column == "Similarity"
