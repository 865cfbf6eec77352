"""The face models run on one dedicated thread with denormals flushed; no other thread's float mode changes."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading

import numpy as np
import pytest

from harness.models import model_path
from harness.models.inference import THREAD_NAME, inference_thread
from harness.models.runtime import inference_session, make_session

x86 = pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"),
                         reason="denormals-as-zero is an x86 SSE mode")


@pytest.fixture
def thread_on(monkeypatch):
    monkeypatch.setenv("DFI_INFERENCE_THREAD", "1")


def _in_fresh_process(code: str, value: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "DFI_INFERENCE_THREAD": value},
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


@x86
def test_the_inference_thread_flushes_denormals_and_the_caller_keeps_them(models):
    # a fresh process: the inference thread's session must be the process's first
    code = ("import json, numpy as np; from harness.models import model_path;"
            "from harness.models.runtime import inference_session;"
            "from harness.models.inference import inference_facts;"
            "s = inference_session(model_path('fr_feature'));"
            "s.run(None, {'input': np.random.default_rng(0).uniform(-1, 1, (2, 3, 112, 112)).astype(np.float32)});"
            "print(json.dumps({'type': type(s).__name__, 'tiny': float(np.array([1e-39], np.float32)[0] * 2),"
            " **inference_facts()}))")
    facts = _in_fresh_process(code, "1")
    assert facts["type"] == "ThreadBoundSession" and facts["inference_thread"]
    assert facts["denormals_flushed_on_inference_thread"]
    assert facts["calling_thread_keeps_denormals"] and facts["tiny"] > 0


def test_auto_turns_it_on_for_intel_only(monkeypatch):
    from harness.models import inference

    monkeypatch.delenv("DFI_INFERENCE_THREAD", raising=False)
    for vendor, on in (("GenuineIntel", True), ("AuthenticAMD", False), ("", False)):
        monkeypatch.setattr(inference, "cpu_vendor", lambda v=vendor: v)
        assert inference.enabled() is on
    monkeypatch.setenv("DFI_INFERENCE_THREAD", "1")
    assert inference.enabled()
    monkeypatch.setenv("DFI_INFERENCE_THREAD", "off")
    assert not inference.enabled()


def test_runs_on_the_inference_thread_with_a_plain_sessions_answers(models, thread_on):
    session = inference_session(model_path("fr_landmark"))
    worker = inference_thread()
    assert worker is not None
    seen = worker.call(lambda: threading.current_thread().name)
    assert seen == THREAD_NAME
    x = np.random.default_rng(1).uniform(0, 1, (3, 1, 64, 64)).astype(np.float32)
    (got,) = session.run(None, {"input": x})
    (want,) = make_session(model_path("fr_landmark")).run(None, {"input": x})
    assert np.abs(got - want).max() < 1e-5
    assert session.get_inputs()[0].name == "input"  # everything but run delegates


def test_concurrent_callers_get_their_own_answers(models, thread_on):
    session = inference_session(model_path("fr_landmark"))
    rng = np.random.default_rng(2)
    inputs = [rng.uniform(0, 1, (1, 1, 64, 64)).astype(np.float32) for _ in range(8)]
    want = [session.run(None, {"input": x})[0] for x in inputs]
    got: dict[int, np.ndarray] = {}

    def call(i: int) -> None:
        got[i] = session.run(None, {"input": inputs[i]})[0]

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(got[i], want[i]) for i in range(8))


def test_an_error_in_a_model_call_reaches_the_caller(models, thread_on):
    session = inference_session(model_path("fr_landmark"))
    with pytest.raises(Exception, match="input"):
        session.run(None, {"input": np.zeros((1, 3, 5, 5), np.float32)})
    assert session.run(None, {"input": np.zeros((1, 1, 64, 64), np.float32)})[0].shape[0] == 1  # still serving


def test_turned_off_sessions_are_plain(models):
    code = ("import json; from harness.models import model_path; from harness.models.runtime import inference_session;"
            "from harness.models.inference import inference_facts;"
            "s = inference_session(model_path('fr_landmark'));"
            "print(json.dumps({'type': type(s).__name__, **inference_facts()}))")
    facts = _in_fresh_process(code, "0")
    assert facts["type"] == "InferenceSession" and not facts["inference_thread"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_runs_model_calls_itself_instead_of_waiting_forever(models, thread_on):
    import time

    # one intra-op thread: onnxruntime's worker pool does not survive a fork (that is onnxruntime's, not ours)
    session = inference_session(model_path("fr_landmark"), threads=1)
    x = np.zeros((1, 1, 64, 64), np.float32)
    session.run(None, {"input": x})  # the inference thread is running in the parent
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: answer through the pipe, then leave without running pytest's teardown
        try:
            os.write(write, str(session.run(None, {"input": x})[0].shape[1]).encode())
        finally:
            os._exit(0)
    os.close(write)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and os.waitpid(pid, os.WNOHANG) == (0, 0):
        time.sleep(0.05)
    else:
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
    answer = os.read(read, 64).decode()
    os.close(read)
    assert answer == "136"
