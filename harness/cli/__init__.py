"""The ``dfi`` command line. Each sub-module under ``harness.cli`` contributes ``COMMANDS``.

One module per top-level command, named after it (``dfi import-paper`` -> ``harness/cli/import_paper.py``),
exposing ``COMMANDS: list[click.Command]``; register it in ``COMMAND_MODULES``. Modules are imported
only when their command runs (or for ``--help``), so a broken optional dependency says so instead
of breaking unrelated commands. The modules parse flags, call a job in :mod:`harness.jobs` and print
through the consoles of :mod:`harness.cli.console`.
"""

from __future__ import annotations

import importlib
import sys

import click

from harness import __version__
from harness.cli.console import print_error, stderr_console
from harness.errors import DfiError

# module name -> command names it defines (kept explicit so `dfi --help` stays cheap)
COMMAND_MODULES: dict[str, tuple[str, ...]] = {}


def register(module: str, *names: str) -> None:
    COMMAND_MODULES[module] = names


for _name in ("run", "models", "faces", "serve", "import-paper", "metrics", "sweep", "cassettes", "compare",
              "calibrate", "defend", "simulate", "bench", "study", "vendorfit"):
    register(f"harness.cli.{_name.replace('-', '_')}", _name)


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        names = set(super().list_commands(ctx))
        for cmds in COMMAND_MODULES.values():
            names.update(cmds)
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        for module, cmds in COMMAND_MODULES.items():
            if cmd_name in cmds:
                try:
                    mod = importlib.import_module(module)
                except Exception as exc:  # a broken optional module says so; --help keeps working
                    return _unavailable(cmd_name, exc)
                for cmd in mod.COMMANDS:
                    if cmd.name == cmd_name:
                        return cmd
        return super().get_command(ctx, cmd_name)


def _unavailable(name: str, exc: Exception) -> click.Command:
    def fail() -> None:
        raise click.ClickException(f"'dfi {name}' is unavailable: {exc}")

    return click.Command(name, callback=fail, help=f"(unavailable: {exc})")


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dfi")
def cli() -> None:
    """dfi: measure how celebrity-recognition APIs respond to deepfake impersonation."""


def _click_message(exc: click.ClickException) -> str:
    """click's message for ``exc``; for a usage error, with where to find the usage."""
    message = exc.format_message()
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        message += f" (see '{exc.ctx.command_path} --help')"
    return message


def main(argv: list[str] | None = None) -> None:
    try:
        cli.main(args=argv, prog_name="dfi", standalone_mode=False)
    except click.exceptions.Abort:
        stderr_console().print("[red]aborted[/red]")
        sys.exit(130)
    except click.ClickException as exc:  # a bad option or argument included: one line, no usage block
        print_error(_click_message(exc))
        sys.exit(exc.exit_code)
    except DfiError as exc:
        print_error(str(exc))
        sys.exit(2)
    except OSError as exc:
        if exc.filename is None:  # not about a path the user gave: a bug, keep the traceback
            raise
        # e.g. an output file in a folder that cannot be created: say which path, in one line
        print_error(f"{exc.filename}: {exc.strerror or exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        stderr_console().print("[red]interrupted[/red]")
        sys.exit(130)
