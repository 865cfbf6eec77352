"""Most-named identities per vendor and dataset, on deepfakes and on real images.

The study listed the names each vendor gives most often to show its bias (Azure naming deepfakes
of Western celebrities as other Western celebrities, Naver as Korean ones). Two kinds of answers:

* ``images = "deepfake"``: each row's answer on its deepfake (``fake_name``); rows whose deepfake
  call failed (``fake_error``) are left out;
* ``images = "real"``: each distinct real image's answer (``real_name``), once per distinct
  (dataset, vendor, ``real_image``): many rows share one real image and its answer.

Every (dataset, vendor) is repeated under :data:`~harness.study.data.ALL_DATASETS`, pooling the
vendor's answers over all datasets.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.study.data import ALL_DATASETS, dataset_order

IMAGES: tuple[str, ...] = ("deepfake", "real")
KEY: list[str] = ["dataset", "vendor", "images"]
MOST_NAMED_COLUMNS: tuple[str, ...] = ("dataset", "vendor", "images", "rank", "name", "count", "share", "in_dataset")
SUMMARY_COLUMNS: tuple[str, ...] = ("dataset", "vendor", "images", "answers", "named", "distinct_names")
ANSWER_COLUMNS: tuple[str, ...] = ("dataset", "vendor", "images", "name", "conf")


def _text(series: pd.Series) -> np.ndarray:
    return series.fillna("").astype(str).to_numpy(dtype=object)


def answers(table: pd.DataFrame) -> pd.DataFrame:
    """One row per answer: ``dataset, vendor, images, name, conf`` ("" = no name), pooled copies included.

    Deepfake answers are the rows without a deepfake error; real-image answers are one per distinct
    (dataset, vendor, real_image), the first row's (the study tables give one answer per real image).
    """
    fakes = table[_text(table["fake_error"]) == ""]
    real = table.drop_duplicates(["dataset", "vendor", "real_image"])
    parts = [
        pd.DataFrame({"dataset": _text(rows["dataset"]), "vendor": _text(rows["vendor"]), "images": images,
                      "name": _text(rows[name]), "conf": rows[conf].to_numpy(dtype=np.float64, na_value=np.nan)})
        for images, rows, name, conf in (("deepfake", fakes, "fake_name", "fake_conf"),
                                         ("real", real, "real_name", "real_conf"))
    ]
    per_dataset = pd.concat(parts, ignore_index=True)
    return pd.concat([per_dataset, per_dataset.assign(dataset=ALL_DATASETS)], ignore_index=True)


def answer_groups(table: pd.DataFrame) -> pd.DataFrame:
    """Every (dataset, vendor, images) the table has rows for, pooled included, in report order."""
    pairs = table[["dataset", "vendor"]].drop_duplicates().astype(str)
    pairs = pd.concat([pairs, pairs.assign(dataset=ALL_DATASETS)]).drop_duplicates()
    groups = pairs.merge(pd.DataFrame({"images": list(IMAGES)}), how="cross")
    return sort_groups(groups)


def sort_groups(
    frame: pd.DataFrame, then: list[str] | None = None, ascending: list[bool] | None = None,
) -> pd.DataFrame:
    """Rows in report order: datasets in the study's order (pooled last), vendors, deepfake before real."""
    then = then or []
    order = {d: i for i, d in enumerate(dataset_order(list(frame["dataset"]) + [ALL_DATASETS]))}
    keyed = frame.assign(_dataset=frame["dataset"].map(order), _images=frame["images"].map(IMAGES.index))
    keyed = keyed.sort_values(["_dataset", "vendor", "_images", *then],
                              ascending=[True, True, True, *(ascending or [True] * len(then))], kind="stable")
    return keyed.drop(columns=["_dataset", "_images"]).reset_index(drop=True)


def dataset_labels(table: pd.DataFrame) -> pd.DataFrame:
    """``dataset, name``: each dataset's celebrity labels (targets and "|"-split references), pooled too."""
    refs = table[["dataset", "references"]].assign(name=table["references"].fillna("").astype(str).str.split("|"))
    labels = pd.concat([table[["dataset", "target"]].rename(columns={"target": "name"}),
                        refs[["dataset", "name"]].explode("name")], ignore_index=True)
    labels = labels.astype(str)
    labels = labels[labels["name"] != ""]
    labels = pd.concat([labels, labels.assign(dataset=ALL_DATASETS)], ignore_index=True)
    return labels.drop_duplicates(ignore_index=True)


def most_named(table: pd.DataFrame) -> pd.DataFrame:
    """Every name each vendor gives, per (dataset, vendor, images), most often first.

    Columns :data:`MOST_NAMED_COLUMNS`: ``count`` = answers giving the name; ``share`` = 100 *
    count / the group's named answers; ``rank`` 1, 2, ... by count descending, ties in name order
    (every row its own rank); ``in_dataset`` = the name is one of the dataset's celebrity labels
    (its ``target`` values or ``references`` labels; for the pooled rows, any dataset's), so names
    from outside the dataset stand out. The match is exact: a vendor's spelling of a label
    ("Mario Lopez" for "Mario López") counts as outside. Groups without a named answer have no rows
    (:func:`named_summary` lists every group).
    """
    named = answers(table)
    named = named[named["name"] != ""]
    if named.empty:
        return pd.DataFrame({c: pd.Series(dtype=_dtype(c)) for c in MOST_NAMED_COLUMNS})
    counts = named.groupby([*KEY, "name"], sort=False).size().rename("count").reset_index()
    totals = counts.groupby(KEY, sort=False)["count"].transform("sum")
    counts["share"] = 100.0 * counts["count"] / totals
    labels = dataset_labels(table).assign(in_dataset=True)
    counts = counts.merge(labels, on=["dataset", "name"], how="left")
    counts["in_dataset"] = counts["in_dataset"].fillna(False).astype(bool)
    counts = sort_groups(counts, then=["count", "name"], ascending=[False, True])
    counts["rank"] = counts.groupby(KEY, sort=False).cumcount() + 1
    counts["count"] = counts["count"].astype(np.int64)
    return counts[list(MOST_NAMED_COLUMNS)]


def named_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, vendor, images): ``answers``, ``named`` (answers giving a name), ``distinct_names``.

    Every (dataset, vendor) of the table appears with both kinds of images, zeros included.
    """
    a = answers(table)
    a = a.assign(named=a["name"] != "", named_as=a["name"].where(a["name"] != ""))
    stats = a.groupby(KEY, sort=False).agg(answers=("name", "size"), named=("named", "sum"),
                                           distinct_names=("named_as", "nunique")).reset_index()
    out = answer_groups(table).merge(stats, on=KEY, how="left")
    for column in ("answers", "named", "distinct_names"):
        out[column] = out[column].fillna(0).astype(np.int64)
    return out[list(SUMMARY_COLUMNS)]


def _dtype(column: str) -> str:
    return {"rank": "int64", "count": "int64", "share": "float64", "in_dataset": "bool"}.get(column, "object")
