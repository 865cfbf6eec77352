"""`dfi serve` end to end: start it, point unmodified boto3/requests at it, stop it with Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import requests
from botocore.config import Config
from click.testing import CliRunner

from harness.cli.serve import serve

from support.serve import wait_for_endpoints

pytestmark = [pytest.mark.models, pytest.mark.shared]


def test_dfi_serve_with_a_gallery_folder_answers_boto3_and_stops_on_ctrl_c(tmp_path: Path, shared_data: Path):
    (tmp_path / "gallery" / "Barack_Obama").mkdir(parents=True)
    for f in ("obama.jpg", "obama2.jpg"):
        (tmp_path / "gallery" / "Barack_Obama" / f).write_bytes((shared_data / "faces" / f).read_bytes())
    saved = tmp_path / "g.npz"
    env = dict(os.environ, COLUMNS="200", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "serve", "--gallery", str(tmp_path / "gallery"), "--save-gallery", str(saved),
         "--aws-port", "0", "--ms-port", "0", "--nav-port", "0", "--tps", "nav=1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        ep = wait_for_endpoints(proc)
        rek = boto3.client("rekognition", endpoint_url=ep["DFI_AWS_ENDPOINT_URL"], region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x",
                           config=Config(retries={"total_max_attempts": 1}))
        r = rek.recognize_celebrities(Image={"Bytes": (shared_data / "faces/obama3.jpg").read_bytes()})
        assert r["CelebrityFaces"][0]["Name"] == "Barack Obama"
        r = requests.post(ep["DFI_AZURE_VISION_ENDPOINT"] + "/vision/v3.2/models/celebrities/analyze",
                          data=(shared_data / "faces/obama3.jpg").read_bytes(),
                          headers={"Ocp-Apim-Subscription-Key": "k", "Content-Type": "application/octet-stream"})
        assert r.json()["result"]["celebrities"][0]["name"] == "Barack Obama"
        assert saved.is_file()
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert "mock vendors stopped" in err and "Traceback" not in err


def test_dfi_serve_rejects_bad_options():
    runner = CliRunner()
    r = runner.invoke(serve, ["--tps", "aws=fast"])
    assert r.exit_code != 0 and "not a float" in r.output
    r = runner.invoke(serve, ["--profile", "nobody=x.yaml"])
    assert r.exit_code != 0 and "VENDOR=FILE" in r.output
    r = runner.invoke(serve, ["--aws-port", "99999"])
    assert r.exit_code == 2 and "0<=x<=65535" in r.output  # a usage error, not an OverflowError traceback


def test_dfi_serve_names_the_busy_port_and_the_flag_to_change_it():
    import socket

    from mockvendors.server import BindError, bind_socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    try:
        with pytest.raises(OSError):
            bind_socket("127.0.0.1", port)
        r = subprocess.run([sys.executable, "-m", "harness", "serve", "--aws-port", "0", "--nav-port", "0",
                            "--ms-port", str(port), "--exit-after", "1"], capture_output=True, text=True, timeout=300,
                           env=dict(os.environ, COLUMNS="200"))
    finally:
        busy.close()
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert lines[-1].startswith("error: cannot listen: ms on 127.0.0.1:") and f":{port}:" in lines[-1]
    assert "--ms-port" in lines[-1] and "Traceback" not in r.stderr
    assert str(BindError("aws", "h", 1, OSError(98, "busy"))) == "aws on h:1: busy"


@pytest.mark.models
def test_dfi_serve_timeouts_are_options(tmp_path):
    """`dfi serve --header-timeout 0.5` drops a client that never finishes its request head."""
    import re
    import socket
    import time

    port_holder = socket.socket()
    port_holder.bind(("127.0.0.1", 0))
    port = port_holder.getsockname()[1]
    port_holder.close()
    proc = subprocess.Popen([sys.executable, "-m", "harness", "serve", "--vendor", "nav", "--nav-port", str(port),
                             "--header-timeout", "0.5", "--exit-after", "60"], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=dict(os.environ, COLUMNS="200"))
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            line = proc.stdout.readline() if proc.stdout else ""
            if not line and proc.poll() is not None:
                pytest.fail("dfi serve stopped before serving")
            if "not installed" in line:
                pytest.skip("face models not installed")
            if re.search(rf"127\.0\.0\.1:{port}", line):
                break
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"POST /v1/vision/celebrity HTTP/1.1\r\nHost: x\r\n")  # never ends the head
            start = time.monotonic()
            assert client.recv(1024) == b""  # closed by the server
            assert time.monotonic() - start < 8
    finally:
        proc.kill()
        proc.wait()
