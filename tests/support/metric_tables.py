"""Hypothesis strategies for results tables, shared by the metric and sweep property tests."""

from __future__ import annotations

from hypothesis import strategies as st

PEOPLE = ["Emma Watson", "Tom Hanks", "Bae Suzy", "IU"]
NAMES = ["", "", *PEOPLE, "Someone Else"]

# Scores include the thresholds themselves, so ">" versus ">=" is exercised.
scores = st.one_of(st.sampled_from([0.0, 55.0, 70.0, 80.0, 90.0, 100.0]),
                   st.floats(0, 100, allow_nan=False, allow_subnormal=False))
maybe_score = st.one_of(st.none(), scores)
errors = st.sampled_from(["", "", "", "", "ThrottlingException", "InvalidImageFormat"])


@st.composite
def probe_rows(draw):
    synthesis = draw(st.booleans())
    row = dict(
        dataset=draw(st.sampled_from(["CelebDF", "CelebBlend"])),
        vendor=draw(st.sampled_from(["aws", "ms", "nav"])),
        probe_id=str(draw(st.integers(0, 10**6))),
        target=draw(st.sampled_from(PEOPLE)),
        target_name=draw(st.sampled_from(NAMES)),
        target_conf=draw(maybe_score),
        target_error=draw(errors),
        fake_name=draw(st.sampled_from(NAMES)),
        fake_conf=draw(maybe_score),
        fake_error=draw(errors),
        similarity=draw(maybe_score),
        similarity_error=draw(errors),
    )
    if synthesis:
        row.update(target2_name=draw(st.sampled_from(NAMES)), target2_conf=draw(maybe_score),
                   target2_error=draw(errors), method="synthesis")
    return row


def row_key(row: dict) -> tuple:
    """What a results table holds once (harness.results refuses a repeated row)."""
    return (row.get("source", ""), row["dataset"], row["vendor"], row["probe_id"])
