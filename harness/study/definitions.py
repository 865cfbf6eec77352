"""The definitions a study reproduction depends on, each switchable and named in every output.

:class:`StudyDefinitions` holds them; :meth:`StudyDefinitions.described` says each in words, which
every Markdown table, the terminal summary and ``definitions.json`` repeat, so no number leaves the
command without the choices behind it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.errors import DfiError

TA_AGAINST = ("vendor", "label")
CELEBRITY_KEYS = ("study", "target")
ZERO_SIMILARITY = ("missing", "score")
DEFAULT_FRAMES: tuple[int, ...] = (1, 4, 8)


@dataclass(frozen=True)
class StudyDefinitions:
    beta: float = 90.0
    gamma: float = 80.0
    # "missing": an Azure similarity of exactly 0 (find-similar found no face) is no score and leaves
    # the DHS denominator, as the study counted it; "score": kept as the score 0
    zero_similarity: str = "missing"
    # "vendor": TA when the deepfake gets the name the vendor gives the target's real image;
    # "label": when it gets the dataset's label of the target
    ta_against: str = "vendor"
    # "study": CelebFOM rows keyed by the driving celebrity (Tar), other datasets by the target;
    # "target": every dataset keyed by the target
    celebrity_key: str = "study"
    frames: tuple[int, ...] = DEFAULT_FRAMES
    # reporting threshold (0-100) for a window's averaged answer; None: per vendor, the smallest named
    # confidence in the recorded data (the vendor's own reporting floor)
    frame_threshold: float | None = None
    keep_duplicates: bool = False
    top_names: int = 10
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        choices: tuple[tuple[str, str, tuple[str, ...]], ...] = (
            ("zero_similarity", self.zero_similarity, ZERO_SIMILARITY),
            ("ta_against", self.ta_against, TA_AGAINST),
            ("celebrity_key", self.celebrity_key, CELEBRITY_KEYS))
        for name, choice, allowed in choices:
            if choice not in allowed:
                raise DfiError(f"{name} must be one of {', '.join(allowed)}, not {choice!r}")
        thresholds: tuple[tuple[str, float], ...] = (("beta", self.beta), ("gamma", self.gamma))
        for name, value in thresholds:
            if not 0 <= value <= 100:
                raise DfiError(f"{name} must be within 0-100, not {value!r}")
        if not self.frames or any(int(k) != k or k < 1 for k in self.frames):
            raise DfiError(f"frames must be whole numbers >= 1, not {self.frames!r}")
        if self.frame_threshold is not None and not 0 <= self.frame_threshold <= 100:
            raise DfiError(f"frame_threshold must be within 0-100, not {self.frame_threshold!r}")
        if self.top_names < 1:
            raise DfiError("top_names must be >= 1")

    def described(self) -> list[tuple[str, str, str]]:
        """(name, value, meaning) for every definition."""
        threshold = ("per vendor, its smallest named confidence in the data" if self.frame_threshold is None
                     else f"{self.frame_threshold:g}")
        return [
            ("beta", f"{self.beta:g}", "DHC: a named deepfake counts when its confidence is > beta (0-100)"),
            ("gamma", f"{self.gamma:g}", "DHS: an unnamed deepfake counts when its similarity is > gamma (0-100)"),
            ("zero_similarity", self.zero_similarity,
             "an Azure similarity of exactly 0 (find-similar found no face) is no score and leaves the DHS "
             "denominator, as the study counted it" if self.zero_similarity == "missing" else
             "an Azure similarity of exactly 0 is kept as the score 0 (it stays in the DHS denominator)"),
            ("ta_against", self.ta_against,
             "TA: the deepfake is given the name the vendor gives the target's real image (either reference "
             "for a blend)" if self.ta_against == "vendor" else
             "TA: the deepfake is given the dataset's label of the target (either label for a blend)"),
            ("celebrity_key", self.celebrity_key,
             "per-celebrity rows: CelebFOM by the celebrity whose clip drives the animation (Tar), other "
             "datasets by the target, as the study's tables" if self.celebrity_key == "study" else
             "per-celebrity rows: every dataset by the target"),
            ("frames", ",".join(str(k) for k in self.frames),
             "multi-frame aggregation: windows of k consecutive frames of one video"),
            ("frame_threshold", threshold,
             "a window names the celebrity with the highest mean confidence over its frames when that mean "
             "reaches this threshold"),
            ("keep_duplicates", str(self.keep_duplicates).lower(),
             "a probe two files record (Results_CelebDPR.csv repeats ms_CelebDPR.csv) is counted "
             + ("twice" if self.keep_duplicates else "once")),
            ("intervals", "95% Wilson", "every rate's interval (score interval, no continuity correction)"),
        ]

    def short(self) -> str:
        """One line for a table caption."""
        return (f"beta={self.beta:g}, gamma={self.gamma:g}, zero_similarity={self.zero_similarity}, "
                f"ta_against={self.ta_against}, celebrity_key={self.celebrity_key}, "
                f"duplicates {'kept' if self.keep_duplicates else 'once'}, "
                "95% Wilson intervals")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("notes")
        out["frames"] = list(self.frames)
        return out
