"""Per-celebrity tables in the layout of the study's appendix (:func:`per_celebrity`).

One row per (dataset, vendor, celebrity), the celebrity being the table's key (``celebrity``
column of the study table: CelebFOM rows by the celebrity whose clip drives the animation under
the study's key, every other dataset by the target). On the 0-100 scale:

* ``reference_conf`` -- mean confidence of the vendor's named answers on that celebrity's real
  images in the dataset: each distinct real image once (``real_image``), whichever probes it
  served; a real image the vendor named no one on is left out;
* ``target_conf`` -- mean confidence of the vendor's named answers on the deepfakes keyed to the
  celebrity (a probe whose deepfake call failed is left out);
* ``similarity`` -- mean similarity score over the celebrity's probes that have a score (under the
  default definitions an Azure 0, "no face found", is no score);
* ``n_probes`` -- the deepfakes keyed to the celebrity.

A value is empty (NaN) where nothing defines it: no named answer, no real image of that person in
the dataset, a vendor without a similarity call. Each dataset x vendor ends with an ``Average``
row: the mean of the celebrity rows above it (each celebrity once, as the study's table averages
its rows; empty values left out) and the sum of their probes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from harness.study.grid import study_order

COLUMNS: tuple[str, ...] = (
    "dataset", "vendor", "celebrity", "reference_conf", "target_conf", "similarity", "n_probes",
)
AVERAGE = "Average"
KEY = ["dataset", "vendor", "celebrity"]


def _real_images(table: pd.DataFrame) -> pd.DataFrame:
    """One row per distinct real image: (dataset, vendor, person, name, conf)."""
    real = table[["dataset", "vendor", "real_image", "real_person", "real_name", "real_conf"]]
    return real.drop_duplicates(["dataset", "vendor", "real_image"])


def per_celebrity(table: pd.DataFrame) -> pd.DataFrame:
    """The per-celebrity table with its Average rows, in :data:`COLUMNS` order."""
    if table.empty:
        return pd.DataFrame({c: pd.Series(dtype=float if c.endswith(("conf", "similarity")) else object)
                             for c in COLUMNS})
    probes = table[KEY].copy()
    named = (table["fake_name"] != "") & (table["fake_error"] == "")
    probes["target_conf"] = table["fake_conf"].where(named)
    scored = table["similarity"].notna() & (table["similarity_error"] == "")
    probes["similarity"] = table["similarity"].where(scored)
    rows = probes.groupby(KEY, sort=False).agg(
        target_conf=("target_conf", "mean"), similarity=("similarity", "mean"),
        n_probes=("celebrity", "size")).reset_index()

    real = _real_images(table)
    real = real[real["real_name"] != ""]
    reference = (real.groupby(["dataset", "vendor", "real_person"])["real_conf"].mean()
                 .rename("reference_conf").reset_index().rename(columns={"real_person": "celebrity"}))
    rows = rows.merge(reference, on=KEY, how="left")
    rows = study_order(rows.assign(_name=rows["celebrity"].str.casefold()), ["dataset", "vendor", "_name"])
    rows = rows.drop(columns="_name")

    parts = []
    for (_, _), group in rows.groupby(["dataset", "vendor"], sort=False):
        average = {"dataset": group["dataset"].iloc[0], "vendor": group["vendor"].iloc[0], "celebrity": AVERAGE,
                   "reference_conf": group["reference_conf"].mean(), "target_conf": group["target_conf"].mean(),
                   "similarity": group["similarity"].mean(), "n_probes": int(group["n_probes"].sum())}
        parts.extend([group, pd.DataFrame([average])])
    out = pd.concat(parts, ignore_index=True)[list(COLUMNS)]
    out["n_probes"] = out["n_probes"].astype(np.int64)
    return out
