"""How a detector's ONNX model wants its face crops and how to read a fake-probability from it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

from harness.detectors.base import DetectorError

ColorOrder = Literal["RGB", "BGR"]
OutputKind = Literal["probability", "logit", "softmax"]
Interpolation = Literal["auto", "cubic", "linear", "area"]
Positive = Literal["fake", "real"]


class DetectorSpecError(DetectorError):
    """A detector spec or name is inconsistent, malformed or unknown."""


@dataclass(frozen=True)
class DetectorSpec:
    """A deepfake (or presentation-attack) detector: an ONNX model plus how to feed and read it.

    Preprocessing, in order: crop the face box enlarged ``crop_scale`` times about its centre
    (``square_crop`` uses the longer side; the crop is shifted to stay inside the image and clipped
    to it), resize to ``input_size`` (height, width), reorder channels to ``color_order``,
    ``(pixel - mean) / std`` with pixels in 0..255, lay out as NCHW float32. ``interpolation``: how
    the crop is resized (``auto``: area when shrinking, bilinear when enlarging; ``cubic`` as
    DeepfakeBench's data loader).

    Reading: output number ``output_index`` is (batch, classes); take column ``class_index``.
    ``output_kind`` says what that is: ``probability`` (already in 0..1), ``logit`` (sigmoid is
    applied) or ``softmax`` (raw class logits: softmax over the classes is applied first).
    ``positive`` says whether the column is the probability of *fake* or of *real*; a real/live
    probability p becomes a fake-probability 1 - p.
    """

    name: str
    model: str | Path | Callable[[], Path]  # a file, or a resolver that returns (and may build) one
    input_size: tuple[int, int]
    color_order: ColorOrder = "RGB"
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)
    crop_scale: float = 1.0
    square_crop: bool = False
    interpolation: Interpolation = "auto"
    output_index: int = 0
    output_kind: OutputKind = "probability"
    class_index: int = 0
    positive: Positive = "fake"
    trained: bool = True
    description: str = ""
    caveat: str = ""  # shown wherever the detector's results are, e.g. "near chance on deepfakes"
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            problems.append(f"input_size must be (height, width) > 0, got {self.input_size!r}")
        if self.color_order not in ("RGB", "BGR"):
            problems.append(f"color_order must be RGB or BGR, got {self.color_order!r}")
        if self.output_kind not in ("probability", "logit", "softmax"):
            problems.append(f"output_kind must be probability, logit or softmax, got {self.output_kind!r}")
        if self.interpolation not in ("auto", "cubic", "linear", "area"):
            problems.append(f"interpolation must be auto, cubic, linear or area, got {self.interpolation!r}")
        if self.positive not in ("fake", "real"):
            problems.append(f"positive must be fake or real, got {self.positive!r}")
        if len(self.mean) != 3 or len(self.std) != 3 or any(s == 0 for s in self.std):
            problems.append("mean and std need three values each, std non-zero")
        if self.crop_scale <= 0:
            problems.append(f"crop_scale must be > 0, got {self.crop_scale}")
        if self.output_index < 0 or self.class_index < 0:
            problems.append("output_index and class_index must be >= 0")
        if problems:
            raise DetectorSpecError(f"detector {self.name!r}: " + "; ".join(problems))

    def model_path(self) -> Path:
        path = self.model() if callable(self.model) else Path(self.model)
        if not Path(path).is_file():
            raise DetectorSpecError(f"detector {self.name!r}: model file {path} does not exist")
        return Path(path)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], *, base_dir: Path | None = None) -> DetectorSpec:
        """A spec from a plain mapping (YAML/JSON); a relative ``model`` path is taken from ``base_dir``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DetectorSpecError(f"detector spec has unknown field(s) {unknown}; known: {sorted(known)}")
        if "name" not in data or "model" not in data or "input_size" not in data:
            raise DetectorSpecError("detector spec needs at least name, model and input_size")
        values = dict(data)
        model = Path(str(values["model"])).expanduser()
        if base_dir is not None and not model.is_absolute():
            model = base_dir / model
        values["model"] = model
        size = values["input_size"]
        values["input_size"] = (int(size), int(size)) if isinstance(size, int) else tuple(int(v) for v in size)
        for key in ("mean", "std"):
            if key in values:
                v = values[key]
                values[key] = (float(v),) * 3 if isinstance(v, (int, float)) else tuple(float(x) for x in v)
        return cls(**values)
