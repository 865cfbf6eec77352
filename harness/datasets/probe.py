"""A probe: one deepfake image with its real target image(s) and labels.

Image references are strings: a file path, optionally followed by a fragment that selects part
of the file (see :mod:`harness.datasets.images`): ``clip.mp4#frame=120`` (one video frame) or
``blend.jpg#crop=0.03,0.73,0.27,0.97`` (a rectangle given as fractions of the width/height).
"""

from __future__ import annotations

from dataclasses import dataclass, field

METHODS = ("replacement", "reenactment", "synthesis", "unknown")


@dataclass(frozen=True)
class Probe:
    """One deepfake probe.

    ``target_images`` are real images of the impersonated celebrity; the campaign recognises the
    first one (P_T) and compares it with the deepfake (S). For synthesis probes the two entries
    are the two blended sources R1 and R2 (``target`` is R1's label, ``references`` both labels).
    ``error`` is set when the dataset reader already knows the probe cannot be measured (missing
    file, undecodable video): the campaign records it as an error row and makes no vendor call.
    """

    probe_id: str
    dataset: str
    method: str
    deepfake: str
    target: str
    target_images: tuple[str, ...] = ()
    references: tuple[str, ...] = ()
    error: str = ""
    meta: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"probe {self.probe_id}: unknown method {self.method!r} (one of {', '.join(METHODS)})")
