"""Which frames of a video to use: the study took 16 samples of 5 consecutive frames per video."""

from __future__ import annotations

import numpy as np

DEFAULT_SAMPLES = 16
DEFAULT_RUN = 5


def sample_frame_indices(n_frames: int, samples: int = DEFAULT_SAMPLES, run: int = DEFAULT_RUN) -> list[int]:
    """Start ``samples`` runs of ``run`` consecutive frames evenly over the video.

    Runs never overlap and never pass the last frame; a video shorter than ``samples * run`` frames
    yields fewer runs (all of its frames at most). Deterministic: no randomness is involved.
    """
    if samples < 1 or run < 1:
        raise ValueError("samples and run must be >= 1")
    if n_frames <= 0:
        return []
    run = min(run, n_frames)
    n_runs = min(samples, n_frames // run)
    starts = np.linspace(0, n_frames - run, n_runs).round().astype(int)
    # evenly spaced starts with spacing >= run never overlap; rounding can only shrink a gap by <1
    frames: list[int] = []
    last = -1
    for s in starts:
        s = max(int(s), last + 1)
        frames.extend(range(s, min(s + run, n_frames)))
        last = frames[-1]
    return frames
