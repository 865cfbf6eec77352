"""`dfi detectors import`: DeepfakeBench-layout checkpoints (random weights, built here) -> ONNX in the
cache -> the same fake-probabilities as the PyTorch forward, a correct spec, found by the resolver in
a later process; bad checkpoints give one-line errors. The ONNX path needs no torch."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import yaml

from harness.detectors import UnknownDetectorError, resolve_detector
from harness.detectors.imported import CheckpointError, ImportDetectorError, import_onnx
from harness.detectors.imported.store import imported_root

try:
    import torch
except ImportError:  # the optional extra: pip install 'dfi[detectors-import]'
    torch = None

needs_torch = pytest.mark.skipif(torch is None, reason="torch not installed (pip install 'dfi[detectors-import]')")

# Keys and shapes as DeepfakeBench's networks define them (training/networks/{xception,mesonet,efficientnetb4}.py
# and efficientnet_pytorch), prefixed "backbone." as its trainer saves detector.state_dict().
DFB_KEYS = {
    "xception": {"backbone.conv1.weight": (32, 3, 3, 3), "backbone.block1.rep.0.conv1.weight": (64, 1, 3, 3),
                 "backbone.block1.rep.0.pointwise.weight": (128, 64, 1, 1),
                 "backbone.block1.skipbn.running_var": (128,),
                 "backbone.block4.rep.7.pointwise.weight": (728, 728, 1, 1),
                 "backbone.block12.rep.4.pointwise.weight": (1024, 728, 1, 1),
                 "backbone.conv4.pointwise.weight": (2048, 1536, 1, 1), "backbone.last_linear.weight": (2, 2048),
                 "backbone.adjust_channel.0.weight": (512, 2048, 1, 1)},
    "meso4": {"backbone.conv1.weight": (8, 3, 3, 3), "backbone.bn1.weight": (8,), "backbone.bn2.weight": (16,),
              "backbone.conv4.weight": (16, 16, 5, 5), "backbone.fc1.weight": (16, 1024),
              "backbone.fc2.weight": (2, 16)},
    "meso4Inception": {"backbone.Incption1_conv4_2.weight": (2, 2, 3, 3), "backbone.Incption1_bn.weight": (11,),
                       "backbone.Incption2_conv1.weight": (2, 11, 1, 1), "backbone.Incption2_bn.weight": (12,),
                       "backbone.conv1.weight": (16, 12, 5, 5), "backbone.fc2.bias": (2,)},
    "efficientnetb4": {"backbone.efficientnet._conv_stem.weight": (48, 3, 3, 3),
                       "backbone.efficientnet._blocks.0._depthwise_conv.weight": (48, 1, 3, 3),
                       "backbone.efficientnet._blocks.0._se_reduce.weight": (12, 48, 1, 1),
                       "backbone.efficientnet._blocks.2._expand_conv.weight": (144, 24, 1, 1),
                       "backbone.efficientnet._blocks.31._project_conv.weight": (448, 2688, 1, 1),
                       "backbone.efficientnet._conv_head.weight": (1792, 448, 1, 1),
                       "backbone.last_layer.weight": (2, 1792)},
}
N_KEYS = {"xception": 283, "meso4": 18, "meso4Inception": 35, "efficientnetb4": 706}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DFI_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def dfb_checkpoint(arch: str, path: Path, seed: int = 0) -> Path:
    """A checkpoint in DeepfakeBench's layout with random weights and non-trivial batch-norm statistics."""
    from harness.detectors.imported.torchnets import build_network

    torch.manual_seed(seed)
    net = build_network(arch, 2)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.uniform_(-0.2, 0.2)
                m.running_var.uniform_(0.5, 1.5)
                m.weight.uniform_(0.5, 1.5)
    torch.save({f"backbone.{k}": v for k, v in net.state_dict().items()}, path)
    return path


def deepfakebench_input(crop_bgr: np.ndarray, size: int) -> np.ndarray:
    """DeepfakeBench's loader: BGR -> RGB, bicubic resize, ToTensor, Normalize(0.5, 0.5)."""
    rgb = cv2.resize(cv2.cvtColor(crop_bgr, cv2.COLOR_BGR2RGB), (size, size), interpolation=cv2.INTER_CUBIC)
    return ((rgb.astype(np.float32) / 255.0 - 0.5) / 0.5).transpose(2, 0, 1)[None]


@needs_torch
@pytest.mark.parametrize("arch", list(DFB_KEYS))
def test_our_networks_have_deepfakebenchs_key_layout(arch, tmp_path):
    state = torch.load(dfb_checkpoint(arch, tmp_path / "c.pth"), weights_only=True)
    assert len(state) == N_KEYS[arch]
    for key, shape in DFB_KEYS[arch].items():
        assert tuple(state[key].shape) == shape, key


@needs_torch
@pytest.mark.parametrize(("arch", "size"), [("meso4", 256), ("meso4Inception", 256), ("xception", 64),
                                            ("efficientnetb4", 64)])
def test_deepfakebench_round_trip(arch, size, tmp_path):
    from harness.detectors.imported import import_deepfakebench
    from harness.detectors.imported.torchnets import build_network

    ckpt = dfb_checkpoint(arch, tmp_path / f"{arch}.pth")
    result = import_deepfakebench(arch, ckpt, name=f"t_{arch}", input_size=size)
    assert result.max_abs_diff <= 1e-4 and result.max_abs_diff_raw <= 1e-3

    # the spec file beside the model: DeepfakeBench's conventions and the stored verification
    entry = yaml.safe_load(result.spec_file.read_text())["detectors"][0]
    assert entry["model"] == "model.onnx" and (result.spec_file.parent / "model.onnx").is_file()
    assert entry["input_size"] == [size, size] and entry["mean"] == [127.5] * 3 and entry["std"] == [127.5] * 3
    assert entry["crop_scale"] == 1.3 and entry["square_crop"] is True and entry["interpolation"] == "cubic"
    assert (entry["output_kind"], entry["class_index"], entry["positive"]) == ("softmax", 1, "fake")
    assert entry["extra"]["verification"]["max_abs_diff"] == pytest.approx(result.max_abs_diff)
    assert entry["extra"]["source"] == f"deepfakebench:{arch}"

    # the resolver's detector scores a crop as DeepfakeBench's own pipeline would
    net = build_network(arch, 2)
    net.load_state_dict({k.removeprefix("backbone."): v for k, v in torch.load(ckpt, weights_only=True).items()})
    rng = np.random.default_rng(1)
    crop = cv2.resize(rng.integers(0, 256, (9, 7, 3), dtype=np.uint8), (size + 37, size + 21))
    with torch.no_grad():
        want = torch.softmax(net.eval()(torch.from_numpy(deepfakebench_input(crop, size))), 1)[0, 1].item()
    got = resolve_detector(f"t_{arch}").score_crops([crop])[0]  # type: ignore[attr-defined]
    assert got == pytest.approx(want, abs=1e-4)


@needs_torch
def test_imported_detector_is_found_by_a_later_process_and_the_cli(tmp_path, cache, capsys):
    from harness.cli import main

    ckpt = dfb_checkpoint("meso4", tmp_path / "ckpt_best.pth")
    # a DataParallel-saved checkpoint ("module.backbone.") imports the same way
    torch.save({f"module.{k}": v for k, v in torch.load(ckpt, weights_only=True).items()}, ckpt)
    main(["detectors", "import", "deepfakebench", "meso4", str(ckpt), "--name", "dfb_m4"])
    printed = capsys.readouterr().out
    assert "imported dfb_m4" in printed and "max abs difference" in printed
    code = ("from harness.detectors import resolve_detector, detector_names; import numpy as np; "
            "d = resolve_detector('dfb_m4'); print('dfb_m4' in detector_names(), "
            "d.score_crops([np.zeros((256, 256, 3), np.uint8)])[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "DFI_CACHE_DIR": str(cache)}).stdout.split()
    assert out[0] == "True" and 0.0 <= float(out[1]) <= 1.0
    # removed: gone for the resolver too
    main(["detectors", "remove", "dfb_m4"])
    with pytest.raises(UnknownDetectorError):
        resolve_detector("dfb_m4")


@needs_torch
def test_bad_checkpoints_give_one_line_errors(tmp_path, capsys):
    from harness.cli import main
    from harness.detectors.imported import import_deepfakebench

    meso = dfb_checkpoint("meso4", tmp_path / "meso4.pth")
    with pytest.raises(CheckpointError, match="xception key layout: no backbone.last_linear.weight"):
        import_deepfakebench("xception", meso)
    state = torch.load(meso, weights_only=True)
    del state["backbone.conv2.weight"]
    torch.save(state, tmp_path / "missing.pth")
    with pytest.raises(CheckpointError, match=r"1 missing \(e.g. conv2.weight\)"):
        import_deepfakebench("meso4", tmp_path / "missing.pth")
    state = torch.load(meso, weights_only=True)
    state["backbone.fc1.weight"] = torch.zeros(16, 512)
    torch.save(state, tmp_path / "shape.pth")
    with pytest.raises(CheckpointError, match="wrong shape"):
        import_deepfakebench("meso4", tmp_path / "shape.pth")
    (tmp_path / "cut.pth").write_bytes(meso.read_bytes()[:2000])
    for bad in (tmp_path / "cut.pth", tmp_path / "absent.pth"):
        with pytest.raises(SystemExit) as exit_info:
            main(["detectors", "import", "deepfakebench", "meso4", str(bad)])
        assert exit_info.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and "\n" not in err and str(bad.name) in err
    with pytest.raises(ImportDetectorError, match="built-in detector name"):
        import_deepfakebench("meso4", meso, name="fr_liveness")
    with pytest.raises(ImportDetectorError, match="exactly 256x256"):
        import_deepfakebench("meso4", meso, input_size=64)
    assert not list(imported_root().glob("*/detector.yaml"))  # nothing half-imported


def test_without_torch_the_error_says_how_to_install(monkeypatch, tmp_path):
    from harness.detectors.imported import import_deepfakebench

    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportDetectorError, match=r"needs torch: pip install 'dfi\[detectors-import\]'"):
        import_deepfakebench("xception", tmp_path / "x.pth")


def test_timm_import_needs_timm(tmp_path):
    try:
        import timm  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - torchvision beside this torch may fail in any way
        pytest.skip(f"timm does not import here ({type(exc).__name__}); the timm path is checked where it does")
    from harness.detectors.imported import import_timm

    net = timm.create_model("resnet18", pretrained=False, num_classes=2)
    torch.save(net.state_dict(), tmp_path / "r18.pth")
    result = import_timm("resnet18", tmp_path / "r18.pth", name="t_r18", input_size=64)
    assert result.max_abs_diff <= 1e-4


def test_onnx_file_plus_spec_imports_without_torch(tmp_path):
    from harness.detectors import load_detector
    from harness.detectors.reference import reference_model_path

    ref = reference_model_path("meso4", root=tmp_path / "ref")
    spec = {"input_size": 256, "color_order": "RGB", "mean": 0, "std": 255, "crop_scale": 1.0,
            "output_kind": "probability", "class_index": 0, "positive": "fake"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(spec))
    result = import_onnx(ref, tmp_path / "m.yaml", name="my_meso")
    assert result.spec_file.parent == imported_root() / "my_meso"
    crops = [np.random.default_rng(2).integers(0, 256, (256, 256, 3), dtype=np.uint8)]
    got = resolve_detector("my_meso").score_crops(crops)  # type: ignore[attr-defined]
    assert got == pytest.approx(load_detector("meso4").score_crops(crops), abs=1e-6)
    (tmp_path / "bad.yaml").write_text("input_size: 256\noutput_kind: sigmoid\n")
    with pytest.raises(ImportDetectorError, match="output_kind must be"):
        import_onnx(ref, tmp_path / "bad.yaml", name="bad")
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(ImportDetectorError, match="not a valid ONNX model"):
        import_onnx(tmp_path / "junk.onnx", tmp_path / "m.yaml", name="junk")


@needs_torch
def test_imported_deepfakebench_detector_in_bench_with_its_flops(tmp_path):
    from harness.bench.flops import count_cost
    from harness.bench.models import resolve_models
    from harness.detectors.imported import import_deepfakebench

    import_deepfakebench("meso4", dfb_checkpoint("meso4", tmp_path / "m.pth"), name="dfb_m4")
    (model,) = resolve_models(["imported"])
    assert (model.name, model.kind) == ("dfb_m4", "imported") and model.path is not None
    assert [m.name for m in resolve_models(["all"])][-1] == "dfb_m4"
    # DeepfakeBench's Meso4 at 256x256, multiply-accumulates counted by hand (bias-free convolutions, two dense)
    macs = (256 * 256 * 8 * 3 * 9 + 128 * 128 * 8 * 8 * 25 + 64 * 64 * 16 * 8 * 25 + 32 * 32 * 16 * 16 * 25
            + 1024 * 16 + 16 * 2)
    assert count_cost(model.path).flops_per_image == 2 * macs


def test_imported_onnx_detector_runs_in_dfi_bench(tmp_path, capsys):
    from harness.cli import main
    from harness.detectors.reference import reference_model_path

    spec = {"input_size": 256, "std": 255, "output_kind": "probability"}
    (tmp_path / "m.yaml").write_text(yaml.safe_dump(spec))
    import_onnx(reference_model_path("meso4", root=tmp_path / "ref"), tmp_path / "m.yaml", name="my_meso")
    main(["bench", "--model", "imported", "--quick", "--batch", "1", "--threads", "1", "--no-pipeline",
          "--out", str(tmp_path / "bench.json")])
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("│ my_meso"))
    cells = [c.strip() for c in row.strip("│").split("│")]
    assert cells[-2] == "0.120" and float(cells[-1]) > 0  # GFLOP/img as the reference meso4's, % of peak


def test_a_broken_import_is_skipped_by_the_resolver_and_named_by_list(tmp_path, capsys):
    from harness.cli import main
    from harness.detectors import detector_names
    from harness.detectors.reference import reference_model_path

    (tmp_path / "m.yaml").write_text(yaml.safe_dump({"input_size": 256, "std": 255}))
    result = import_onnx(reference_model_path("meso4", root=tmp_path / "ref"), tmp_path / "m.yaml", name="ok_meso")
    broken = imported_root() / "broken" / "detector.yaml"
    broken.parent.mkdir()
    broken.write_text("detectors: [{name: broken}]\n")
    assert "ok_meso" in detector_names() and "broken" not in detector_names()
    main(["detectors", "list"])
    out = capsys.readouterr().out
    assert "ok_meso" in out and "skipped import broken" in out and result.spec_file.is_file()
