"""Classical, deterministic deepfake generators for offline datasets -- approximations of the
study's three families, NOT neural deepfakes (see each module for what is and is not imitated).

``GENERATORS[method](target_or_first, reference_or_second, seed) -> BGR image``:

* ``replacement``  T's face swapped into R's image (landmark alignment, Lab colour transfer,
  Poisson blending);
* ``reenactment``  T's image warped into R's landmark layout (Delaunay piecewise-affine warp);
* ``synthesis``    a morph of R1 and R2 (average landmark geometry, cross-dissolve).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.generate.reenactment import reenact_face
from harness.generate.replacement import replace_face
from harness.generate.synthesis import blend_faces

Generator = Callable[[np.ndarray, np.ndarray, int], np.ndarray]

GENERATORS: dict[str, Generator] = {
    "replacement": replace_face,
    "reenactment": reenact_face,
    "synthesis": blend_faces,
}

__all__ = ["GENERATORS", "Generator", "blend_faces", "reenact_face", "replace_face"]
