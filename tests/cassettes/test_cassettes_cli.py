"""dfi cassettes import-azure / record / list / scan."""

from __future__ import annotations

import yaml
from click.testing import CliRunner

from harness.cli.cassettes import cassettes_group

from support.vendor_http import Scripted, ScriptedServer

CELEB_OK = {"result": {"celebrities": [{"name": "Jane Doe", "confidence": 0.91,
                                        "faceRectangle": {"left": 1, "top": 2, "width": 3, "height": 4}}]},
            "requestId": "r", "metadata": {"height": 10, "width": 10, "format": "Jpeg"}}


def test_import_azure_list_and_scan(shared_data, tmp_path):
    src = (
        shared_data
        / "vendor-recordings/azure/azure-sdk-for-net/VisionDomainModelTests/AnalyzeImageByDomainModelVersionTest.json"
    )
    out = tmp_path / "satya.yaml"
    res = CliRunner().invoke(cassettes_group, ["import-azure", str(src), "-o", str(out)])
    assert res.exit_code == 0, res.output
    assert "1 interaction(s), vendor ms" in res.output
    res = CliRunner().invoke(cassettes_group, ["list", str(tmp_path)])
    assert res.exit_code == 0 and "CelebritiesAnalyze x1" in res.output and "real" in res.output
    res = CliRunner().invoke(cassettes_group, ["scan", str(tmp_path)])
    assert res.exit_code == 0 and "0 finding(s)" in res.output
    # a planted key makes scan fail
    data = yaml.safe_load(out.read_text())
    data["interactions"][0]["request"]["headers"]["Ocp-Apim-Subscription-Key"] = ["0123456789abcdef0123456789abcdef"]
    out.write_text(yaml.safe_dump(data))
    res = CliRunner().invoke(cassettes_group, ["scan", str(tmp_path)])
    assert res.exit_code == 1 and "3 finding(s)" in res.output  # the header twice (name, shape)...
    assert "corrupt cassette: interaction 0: the interaction was altered" in res.output  # ...and the edit


def test_import_azure_bad_file_is_one_clear_error(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text("[]")
    res = CliRunner().invoke(cassettes_group, ["import-azure", str(bad), "-o", str(tmp_path / "o.yaml")])
    assert res.exit_code != 0 and "not an Azure SDK session record" in str(res.exception)


def test_record_command_through_the_environment(tmp_path, monkeypatch):
    img = tmp_path / "a.jpg"
    img.write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    out = tmp_path / "rec" / "ms.yaml"
    with ScriptedServer([Scripted(200, CELEB_OK)]) as server:
        monkeypatch.setenv("DFI_AZURE_VISION_ENDPOINT", server.url)
        monkeypatch.setenv("DFI_AZURE_VISION_KEY", "0123456789abcdef0123456789abcdef")
        args = ["record", "--vendor", "ms", "--provenance", "mock-recorded", "-o", str(out), str(img), str(img)]
        res = CliRunner().invoke(cassettes_group, args)
        assert res.exit_code == 0, res.output
        assert "Jane Doe 91.00" in res.output
        assert len(server.received) == 1  # the second identical call replayed
    text = out.read_text()
    assert "0123456789abcdef" not in text
    assert yaml.safe_load(text)["metadata"]["provenance"] == "mock-recorded"


def test_record_without_credentials_fails_before_any_call(tmp_path, monkeypatch):
    for v in ("DFI_AZURE_VISION_ENDPOINT", "DFI_AZURE_VISION_KEY"):
        monkeypatch.delenv(v, raising=False)
    res = CliRunner().invoke(
        cassettes_group, ["record", "--vendor", "ms", "--provenance", "real", "-o", str(tmp_path / "ms.yaml")]
    )
    assert res.exit_code != 0 and "DFI_AZURE_VISION_ENDPOINT" in str(res.exception)
    assert not (tmp_path / "ms.yaml").exists()


def test_record_refuses_to_call_a_local_server_real(tmp_path, monkeypatch):
    img = tmp_path / "a.jpg"
    img.write_bytes(b"\xff\xd8\xff\xe0fake-jpeg")
    with ScriptedServer([Scripted(200, CELEB_OK)]) as server:
        monkeypatch.setenv("DFI_AZURE_VISION_ENDPOINT", server.url)
        monkeypatch.setenv("DFI_AZURE_VISION_KEY", "0123456789abcdef0123456789abcdef")
        res = CliRunner().invoke(
            cassettes_group,
            ["record", "--vendor", "ms", "--provenance", "real", "-o", str(tmp_path / "ms.yaml"), str(img)],
        )
        assert res.exit_code == 2 and "mock-recorded" in res.output
        assert server.received == []
    assert not (tmp_path / "ms.yaml").exists()
