"""Benchmark engine: the FLOPs counter against hand counts, timing-loop rules, roofline arithmetic,
device peaks, backends that cannot run here, and a `dfi bench` smoke run with its README tables."""

from __future__ import annotations

import json
import os

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

from harness.bench.device import DeviceInfo, fp32_flops_per_cycle, gpu_device
from harness.bench.engine import BenchConfig, latency_stats, roofline, time_step
from harness.bench.flops import ModelCost, count_cost
from harness.bench.report import BEGIN, END, SECTION
from harness.bench.runners import BackendUnavailable, ModelInputError, backend_status, make_runner, synthetic_inputs
from harness.cli import cli, main


def _tiny_model(path=None) -> onnx.ModelProto:
    """Conv 3->4 k3 p1 on 8x8, ReLU, depthwise k3 s2 p1, Flatten, Gemm 64->10, MatMul 10->5."""
    rng = np.random.default_rng(0)
    inits = [numpy_helper.from_array(rng.standard_normal(s).astype(np.float32), n) for n, s in [
        ("w1", (4, 3, 3, 3)), ("b1", (4,)), ("w2", (4, 1, 3, 3)), ("w3", (10, 64)), ("b3", (10,)), ("w4", (10, 5))]]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2"], ["c2"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2],
                         group=4),
        helper.make_node("Flatten", ["c2"], ["f"]),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["g"], transB=1),
        helper.make_node("MatMul", ["g", "w4"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, path)
    return model


# hand count: conv1 (4x8x8 outputs x 3x3x3) + depthwise (4x4x4 outputs x 1x3x3) + gemm 64x10 + matmul 10x5
TINY_MACS = 4 * 8 * 8 * 27 + 4 * 4 * 4 * 9 + 64 * 10 + 10 * 5
TINY_PARAMS = 108 + 4 + 36 + 640 + 10 + 50
TINY_ACTIVATION_FLOATS = 192 + 256 + 256 + 64 + 64 + 10 + 5


def test_flops_counter_matches_hand_count_on_tiny_graph():
    cost = count_cost(_tiny_model())
    assert cost.flops_per_image == 2 * TINY_MACS == 16356
    assert cost.flops_by_op == {"Conv": 2 * (6912 + 576), "Gemm": 1280, "MatMul": 100}
    assert cost.params == TINY_PARAMS and cost.weight_bytes == 4 * TINY_PARAMS
    assert cost.activation_bytes_per_image == 4 * TINY_ACTIVATION_FLOATS
    assert cost.input_shapes == {"x": ["n", 3, 8, 8]} and cost.uncounted_nodes == []
    # most alive at once: conv1's output and the ReLU's (x is dead after conv1): 256 + 256 floats
    assert cost.peak_live_bytes_per_image == 4 * 512


def test_flops_counter_agrees_with_published_xception():
    from harness.detectors.reference import reference_model_path

    # Chollet (2017): about 8.4 G multiply-adds per 299x299 image -> about 16.8 GFLOPs
    gflops = count_cost(reference_model_path("xception")).flops_per_image / 1e9
    assert 16.0 < gflops < 17.5


def test_flops_counter_reads_shapes_inference_cannot_give(models):
    from harness.models import model_path

    cost = count_cost(model_path("fr_liveness"))  # Shape->Gather->Concat->Reshape before its MatMuls
    assert cost.uncounted_nodes == [] and cost.flops_by_op["MatMul"] > 0


def test_memory_traffic_model():
    cost = ModelCost(flops_per_image=10**9, flops_by_op={}, params=10**6, weight_bytes=4 * 10**6,
                     activation_bytes_per_image=10**6, input_shapes={})
    assert cost.bytes_per_image(batch=4) == 10**6 + 2 * 10**6
    assert cost.bytes_per_image(batch=4, dtype_bytes=2) == (10**6 + 2 * 10**6) / 2


def test_roofline_classifies_and_reports_bandwidth_only_when_memory_bound():
    dev = DeviceInfo("gpu", "test", {"fp16": 1e12}, 1e10, "t", "t")
    cost = ModelCost(10**9, {}, 0, 4 * 10**6, 10**6, {})
    # fp16: bytes/img = (4e6/4 + 2e6) / 2 = 1.5e6 -> intensity 667 > ridge 100: compute-bound
    r = roofline(cost, dev, "fp16", 4, images_per_s=100.0)
    assert r["achieved_tflops"] == pytest.approx(0.1) and r["fraction_of_peak"] == pytest.approx(0.1)
    assert r["bound"] == "compute" and "achieved_bandwidth_gbs" not in r
    light = ModelCost(10**6, {}, 0, 4 * 10**6, 10**6, {})  # intensity 1e6 / 1.5e6 < 100
    r = roofline(light, dev, "fp16", 4, images_per_s=1000.0)
    assert r["bound"] == "memory"
    assert r["achieved_bandwidth_gbs"] == pytest.approx(1.5e6 * 1000 / 1e9)
    assert r["fraction_of_bandwidth"] == pytest.approx(1.5e9 / 1e10)


def _counting_step(sleep: float = 0.0):
    calls = []

    def step():
        calls.append(1)
        if sleep:
            import time

            time.sleep(sleep)

    return step, calls


def test_timing_excludes_warmup_and_stops_at_min_iters():
    step, calls = _counting_step()
    timed = time_step(step, BenchConfig(warmup=2, min_iters=5, min_seconds=0.0, max_seconds=10.0))
    assert len(timed.latencies) == 5 and timed.warmup == 2 and len(calls) == 7
    assert timed.wall_seconds >= timed.latencies.sum()


def test_timing_stops_at_max_seconds_once_floor_is_reached():
    step, _ = _counting_step(sleep=0.03)
    timed = time_step(step, BenchConfig(warmup=0, min_iters=1000, min_seconds=0.0, max_seconds=0.05,
                                        floor_iters=3))
    assert len(timed.latencies) == 3
    assert timed.cpu_share(1) < 0.5  # sleeping uses no CPU


def test_latency_stats_hand_computed():
    s = latency_stats(np.array([1.0, 2.0, 3.0, 4.0]), batch=2)
    assert s["images_per_s"] == pytest.approx(8 / 10)
    assert s["latency_ms"]["p50"] == pytest.approx(2500.0)
    assert s["latency_ms"]["p99"] == pytest.approx(3970.0)
    assert s["iterations"] == 4 and "few samples" in s["percentile_note"]


def test_cpu_flops_per_cycle_from_flags():
    assert fp32_flops_per_cycle({"avx512f", "fma", "avx2"})[0] == 64
    assert fp32_flops_per_cycle({"avx512f", "fma"}, "AuthenticAMD", 25)[0] == 32
    assert fp32_flops_per_cycle({"avx2", "fma", "avx"})[0] == 32
    assert fp32_flops_per_cycle({"sse2"})[0] == 8


def test_gpu_peaks_from_datasheets():
    h100 = gpu_device("NVIDIA H100 80GB HBM3", "580.1")
    assert h100.peak_flops == {"fp16": 989.4e12, "fp32": 66.9e12} and h100.peak_bandwidth == 3.35e12
    assert gpu_device("NVIDIA H200").peak_bandwidth == 4.8e12
    assert gpu_device("NVIDIA H200").peak_flops["fp16"] == 989.4e12
    assert gpu_device("NVIDIA H100 PCIe").peak_flops["fp16"] == 756e12
    assert gpu_device("Mystery GPU").peak_flops == {}


def test_synthetic_inputs_refuse_symbolic_non_batch_dims():
    class Arg:
        name, shape, type = "x", ["n", 3, "h", 8], "tensor(float)"

    with pytest.raises(ModelInputError, match="symbolic"):
        synthetic_inputs([Arg()], 2)
    Arg.shape = ["n", 3, 4, 8]
    assert synthetic_inputs([Arg()], 2)["x"].shape == (2, 3, 4, 8)


def test_gpu_backends_skip_cleanly_without_gpu():
    try:
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a CUDA GPU")
    except ImportError:
        pass
    reason = backend_status("torch-cuda")
    assert reason and ("PyTorch" in reason or "CUDA" in reason)
    with pytest.raises(BackendUnavailable):
        make_runner("torch-cuda", "fp16")
    result = CliRunner().invoke(cli, ["bench", "--backend", "torch-cuda", "--model", "meso4", "--quick"])
    assert result.exit_code == 0, result.output
    assert "[skip] torch-cuda fp16" in result.output and "nothing was measured" in result.output


def test_dfi_bench_smoke_writes_json_and_readme_tables(tmp_path):
    user_model = tmp_path / "tiny.onnx"
    _tiny_model(user_model)
    results = tmp_path / "results"
    out = results / "smoke.json"
    runner = CliRunner()
    r = runner.invoke(cli, ["bench", "--quick", "--model", "meso4", "--model", str(user_model),
                            "--threads", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    assert doc["schema"] == "dfi-bench/1" and doc["device"]["kind"] == "cpu" and doc["complete"] is True
    assert doc["libraries"]["onnxruntime"] and doc["backends"]["ort-cpu/fp32"]["available"]
    ok = {(x["model"], x["batch"]): x for x in doc["results"] if x["status"] == "ok"}
    assert set(ok) == {("meso4", 1), ("meso4", 4), ("tiny", 1), ("tiny", 4)}
    assert doc["models"]["tiny"]["flops_per_image"] == 2 * TINY_MACS and doc["models"]["tiny"]["trained"] is None
    assert doc["models"]["meso4"]["trained"] is False
    for x in ok.values():
        assert x["images_per_s"] > 0 and x["iterations"] >= 2 and x["warmup_iterations"] == 1
        assert x["latency_ms"]["p50"] <= x["latency_ms"]["p99"]
        # process CPU time / (wall x 1 thread): the whole test process is counted, so threads left by earlier
        # tests can add to it; bounded by the machine's cores
        assert 0 < x["cpu_share"] <= (os.cpu_count() or 1) + 0.2

    (results / "other_script.json").write_text('{"results": {}}')  # not ours: left out, not an error
    (results / "broken.json.bak").write_text("{")
    readme = tmp_path / "README.md"
    readme.write_text("# Benchmarks\n\n## Someone else's section\n\nkeep me\n")
    for _ in range(2):  # regenerating is idempotent and leaves other sections alone
        r = runner.invoke(cli, ["bench", "--report", "--results-dir", str(results), "--readme", str(readme)])
        assert r.exit_code == 0, r.output
    text = readme.read_text()
    assert text.count(SECTION) == 1 and text.count(BEGIN) == 1 and text.count(END) == 1
    assert "keep me" in text and "**untrained (random)**" in text and "| meso4 |" in text
    assert "GPU (H100)" in text and "not measured" in text


def test_dfi_bench_bad_model_is_one_clear_error(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["bench", "--model", str(tmp_path / "missing.onnx")])
    assert exc.value.code == 2
    assert "does not exist" in " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(SystemExit):
        main(["bench", "--model", str(tmp_path / "junk.onnx")])
    assert "not a valid ONNX model" in " ".join(capsys.readouterr().err.split())


def test_torch_backend_code_path_matches_onnxruntime_on_cpu():
    """The torch-cuda runner's conversion and step code, run on the CPU where PyTorch+onnx2torch exist."""
    torch = pytest.importorskip("torch", reason="PyTorch is not installed (the GPU machine has it)")
    pytest.importorskip("onnx2torch", reason="onnx2torch is not installed")
    import onnxruntime as ort

    from harness.bench.runners import TorchCudaRunner, graph_inputs
    from harness.detectors.reference import reference_model_path

    path = reference_model_path("meso4")
    runner = TorchCudaRunner(dtype="fp32", device="cpu")
    step = runner.prepare(path, 3)
    step()
    assert step.mode == "eager"
    x = step.inputs[0].contiguous().numpy()
    [ref] = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(
        None, {graph_inputs(path)[0].name: x})
    np.testing.assert_allclose(step.outputs.numpy(), ref, atol=1e-5)
    assert isinstance(torch.__version__, str)


def test_memory_guard_refuses_a_batch_that_cannot_fit():
    from harness.bench.suite import _memory_shortfall, available_memory

    if available_memory() is None:
        pytest.skip("no /proc/meminfo here")
    huge = ModelCost(1, {}, 0, 0, 0, {}, peak_live_bytes_per_image=10**12)
    assert "not enough free memory" in _memory_shortfall(huge, 128)
    assert _memory_shortfall(ModelCost(1, {}, 0, 0, 0, {}, peak_live_bytes_per_image=1000), 1) is None


def test_dfi_bench_times_a_detector_declared_in_a_spec_file(tmp_path):
    _tiny_model(tmp_path / "tiny.onnx")
    specs = tmp_path / "dets.yaml"
    specs.write_text("- {name: tiny_det, model: tiny.onnx, input_size: 8, output_kind: logit, trained: false}\n")
    out = tmp_path / "r.json"
    r = CliRunner().invoke(cli, ["bench", "--quick", "--detector-specs", str(specs), "--model", "tiny_det",
                                 "--batch", "2", "--threads", "1", "--out", str(out)])
    assert r.exit_code == 0, r.output
    doc = json.loads(out.read_text())
    [row] = [x for x in doc["results"] if x["status"] == "ok"]
    assert row["model"] == "tiny_det" and row["kind"] == "detector" and row["batch"] == 2
    assert doc["models"]["tiny_det"]["flops_per_image"] == 2 * TINY_MACS


def test_a_batch_predicted_over_the_per_run_limit_is_skipped_with_the_reason(tmp_path):
    from harness.bench.models import resolve_model
    from harness.bench.suite import Combo, run_suite

    user_model = tmp_path / "tiny.onnx"
    _tiny_model(user_model)
    config = BenchConfig(batches=(1, 4, 4096), warmup=0, min_iters=2, min_seconds=0.0, max_seconds=0.2,
                         floor_iters=2, max_run_seconds=1e-9)
    doc = run_suite([resolve_model(str(user_model))], [Combo("ort-cpu", "fp32")], config, threads=1,
                    log=lambda _m: None)
    status = {x["batch"]: x for x in doc["results"]}
    assert status[1]["status"] == "ok"  # nothing to predict from: the first batch always runs
    assert status[4]["status"] == "skipped" and status[4096]["status"] == "skipped"
    assert "over the 0 s per run this suite allows" in status[4]["reason"]
