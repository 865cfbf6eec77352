"""The CLI's layout: one module per top-level command, thin over harness.jobs, and the layering
cli -> jobs -> the rest (nothing but the CLI imports the jobs; the jobs never import the CLI)."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import click
from click.testing import CliRunner

import harness

HARNESS = Path(harness.__file__).parent
CLI = HARNESS / "cli"
JOBS = HARNESS / "jobs"
COMMANDS = ("run", "models", "faces", "serve", "import-paper", "metrics", "sweep", "cassettes", "compare",
            "calibrate", "defend", "detectors", "simulate", "bench", "study", "vendorfit")
JOB_MODULES = ("run", "simulate", "defend", "compare", "calibrate", "sweep", "bench", "study", "vendorfit")


def _imports(path: Path) -> set[str]:
    """Every module a file imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``)."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)
    return out


def _names(path: Path) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Name)} | {
        n.attr for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Attribute)}


def test_one_module_per_command_named_after_it():
    from harness.cli import COMMAND_MODULES

    for name in COMMANDS:
        module = f"harness.cli.{name.replace('-', '_')}"
        assert COMMAND_MODULES.get(module) == (name,), module
        mod = importlib.import_module(module)
        assert [c.name for c in mod.COMMANDS] == [name]
    assert set(COMMAND_MODULES) == {f"harness.cli.{n.replace('-', '_')}" for n in COMMANDS}


def test_one_job_module_per_job():
    for name in JOB_MODULES:
        assert (JOBS / f"{name}.py").is_file(), name
        importlib.import_module(f"harness.jobs.{name}")


def test_cli_modules_hold_no_campaign_wiring():
    for path in CLI.glob("*.py"):
        imported = _imports(path)
        wiring = {m for m in imported if m.startswith(("harness.campaign", "harness.backends.factory.make_backend",
                                                       "harness.backends.make_backend", "harness.report.build_report",
                                                       "harness.defense.campaign", "harness.simulate.run"))}
        assert not wiring, f"{path.name} wires jobs itself: {sorted(wiring)}"
        names = _names(path)
        assert not names & {"CampaignRunner", "CampaignOptions", "make_backend", "build_report", "run_defense"}, path
    run_imports = _imports(CLI / "run.py")
    assert "harness.campaign.runner" not in run_imports and "harness.jobs.run" in run_imports


def test_jobs_never_import_the_cli_click_or_print():
    for path in JOBS.glob("*.py"):
        imported = _imports(path)
        assert not {m for m in imported if m.split(".")[0] in ("click", "rich")
                    or m == "harness.cli" or m.startswith("harness.cli.")}, path.name
        tree = ast.parse(path.read_text())
        prints = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
                  and n.func.id == "print"]
        assert not prints, f"{path.name} prints"


def test_only_the_cli_imports_the_jobs():
    for path in HARNESS.rglob("*.py"):
        if CLI in path.parents or JOBS in path.parents:
            continue
        assert not {m for m in _imports(path) if m == "harness.jobs" or m.startswith("harness.jobs.")}, path


def test_rate_and_retry_settings_are_in_one_function():
    """--rate / --max-retries reach the backend in harness.jobs.run.build_backend only."""
    tokens = ("rate_limits", "backoff_s", "ClientOptions", "max_attempts", "client_options")
    for path in [*CLI.glob("*.py"), *JOBS.glob("*.py")]:
        tree = ast.parse(path.read_text())
        outside = tree
        if path == JOBS / "run.py":
            fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "build_backend")
            outside = ast.Module(body=[n for n in tree.body if n is not fn], type_ignores=[])
        found = {t for n in ast.walk(outside) for t in tokens
                 if (isinstance(n, ast.Name) and n.id == t) or (isinstance(n, ast.Attribute) and n.attr == t)
                 or (isinstance(n, ast.keyword) and n.arg == t)
                 or (isinstance(n, ast.alias) and n.name == t)}
        assert not found, f"{path.name}: {found}"


def test_cli_modules_print_through_the_console_factory():
    for path in CLI.glob("*.py"):
        if path.name == "console.py":
            continue
        calls = [n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)
                 and isinstance(n.func, ast.Name) and n.func.id == "Console"]
        assert not calls, f"{path.name} builds its own rich Console"


def test_old_module_names_are_gone():
    for name in ("run_cmds.py", "defend_cmds.py", "cassette_cmds.py"):
        assert not (CLI / name).exists(), name


def test_a_broken_command_module_says_so_and_help_still_works(monkeypatch):
    from harness import cli as cli_pkg

    monkeypatch.setitem(cli_pkg.COMMAND_MODULES, "harness.cli._no_such_module_", ("broken",))
    r = CliRunner().invoke(cli_pkg.cli, ["--help"])
    assert r.exit_code == 0 and "broken" in r.output and "unavailable" in r.output
    r = CliRunner().invoke(cli_pkg.cli, ["broken"])
    assert r.exit_code != 0 and "'dfi broken' is unavailable" in r.output
    for name in COMMANDS:
        assert isinstance(cli_pkg.cli.get_command(click.Context(cli_pkg.cli), name), click.Command)


def test_listed_short_help_is_each_commands_own():
    """`dfi --help` lists commands from SHORT_HELP without importing them: it must say what each says."""
    from harness.cli import SHORT_HELP, cli

    ctx = click.Context(cli)
    assert set(SHORT_HELP) == set(COMMANDS)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.get_short_help_str(10_000) == SHORT_HELP[name], name


def test_top_level_help_imports_no_command_module_and_no_numpy():
    import subprocess
    import sys

    code = ("import sys; from harness.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
            "loaded = [m for m in sys.modules if m.startswith('harness.cli.') or m in ('numpy', 'pandas')]\n"
            "loaded = [m for m in loaded if m not in ('harness.cli.console',)]\n"
            "print('LOADED', sorted(loaded))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert "LOADED []" in out, out


def test_batch_size_flag_default_is_the_campaign_default():
    from harness.campaign.runner import DEFAULT_BATCH_SIZE
    from harness.cli.run import run_cmd

    assert {p.name: p.default for p in run_cmd.params}["batch_size"] == DEFAULT_BATCH_SIZE


def test_cli_choices_mirror_what_the_jobs_accept():
    from harness.campaign.prepare import CROPPERS
    from harness.jobs import choices
    from harness.jobs.sweep import GROUPINGS

    assert choices.CROPPERS == CROPPERS
    assert choices.GROUPINGS == GROUPINGS
