"""The ``dfi`` command line. Each sub-module under ``harness.cli`` contributes ``COMMANDS``.

One module per top-level command, named after it (``dfi import-paper`` -> ``harness/cli/import_paper.py``),
exposing ``COMMANDS: list[click.Command]``; register it in ``COMMAND_MODULES``. Modules are imported
only when their command runs (or for ``--help``), so a broken optional dependency says so instead
of breaking unrelated commands. The modules parse flags, call a job in :mod:`harness.jobs` and print
through the consoles of :mod:`harness.cli.console`.
"""

from __future__ import annotations

import errno
import importlib
import sys

import click

from harness import __version__
from harness.cli.console import print_error, stderr_console, stdout_console
from harness.errors import DfiError

# the disk refused a write: a one-line error, whatever the path (the write may not name one)
_DISK_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})

# module name -> command names it defines (kept explicit so `dfi --help` stays cheap)
COMMAND_MODULES: dict[str, tuple[str, ...]] = {}
# command name -> its one-line help as `dfi --help` lists it, without importing the command's module
# (tests/cli/test_cli_layout.py keeps each equal to the command's own docstring)
SHORT_HELP: dict[str, str] = {}


def register(module: str, name: str, short_help: str) -> None:
    COMMAND_MODULES[module] = (*COMMAND_MODULES.get(module, ()), name)
    SHORT_HELP[name] = short_help


for _name, _help in (
    ("run", "Run a dataset against vendors, resumably, and write results, metrics, plots and a report."),
    ("models", "Fetch and inspect the offline face models (cache: $DFI_CACHE_DIR or ~/.cache/dfi)."),
    ("faces", "Detect, embed and compare faces in image files."),
    ("serve", "Serve mock AWS Rekognition, Azure and Naver CFR on local ports (Ctrl-C stops)."),
    ("import-paper", "Import the study's recorded result files (files or a folder such as "
                     "../shared/data/paper-results)."),
    ("metrics", "The study's six metrics per dataset x vendor, with 95% Wilson intervals and error counts."),
    ("sweep", "DHC over beta, DHS over gamma, and NA/TA/DHF/SIC over a vendor reporting threshold tau."),
    ("cassettes", "Recorded vendor calls (vcrpy): import, record, list, scan for secrets."),
    ("compare", "Mock versus recorded vendor behaviour: per call (`calls`) and per distribution (`tables`)."),
    ("calibrate", "Fit a mock vendor profile's cosine->confidence map to a recorded table (held-out distances "
                  "reported)."),
    ("defend", "Measure the DD1/DD2/DD3 defense: run the dataset through the vendors without and with each "
               "detector policy, and compare with the study's analytic estimate rate x (1 - accuracy)."),
    ("simulate", "Embedding-space simulation at the study's scale through the mock vendors' behaviour code: "
                 "metrics, sweeps, the defense, and how the conclusions move with beta, gamma and the vendors' "
                 "reporting thresholds."),
    ("detectors", "Deepfake detectors that researchers bring: import checkpoints (DeepfakeBench, timm, ONNX), "
                  "list, remove."),
    ("bench", "Time models: throughput (images/s), latency p50/p95/p99, FLOPs and share of the device's peak."),
    ("study", "Every table and figure the study's recorded files allow: the result grid, the per-celebrity "
              "tables, whom deepfakes are named as, the most-named identities, confidence statistics, "
              "multi-frame aggregation and (with --attributes) attribute groups."),
    ("vendorfit", "Behaviour models of AWS, Azure and Naver fitted to the study's recorded answers (maximum "
                  "likelihood), and their check on held-out celebrities."),
):
    register(f"harness.cli.{_name.replace('-', '_')}", _name, _help)


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

    def resolve_command(self, ctx: click.Context, args: list[str]) -> tuple[str | None, click.Command | None,
                                                                            list[str]]:
        """The command to run; on a terminal a spinner shows while its module imports (up to a second or
        two for the ones that load numpy, pandas and the models' runtimes), so the first output comes at once."""
        console = stdout_console()
        if not console.is_terminal or not args or args[0].startswith("-"):
            return super().resolve_command(ctx, args)
        from harness.cli.feedback import Feedback

        with Feedback(console).step(f"loading dfi {args[0]}..."):
            return super().resolve_command(ctx, args)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``dfi --help`` from :data:`SHORT_HELP`, importing no command module."""
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = [(name, _shorten(SHORT_HELP[name], limit) if name in SHORT_HELP else
                 (self.get_command(ctx, name) or click.Command(name)).get_short_help_str(limit))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def _shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters at a word, with "..." (as click shortens a command's help)."""
    return click.Command("", help=text).get_short_help_str(limit)  # click's own rule, through its public API


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
        disk = exc.errno in _DISK_ERRNOS
        if exc.filename is None and not disk:  # not about a path or the disk: a bug, keep the traceback
            raise
        # e.g. an output file in a folder that cannot be created, or a full disk: one line that says
        # what and where; what was written before stays (journal, results written whole or not at all)
        where = f"{exc.filename}: " if exc.filename else ""
        print_error(f"{where}{exc.strerror or exc}" + (
            "; free some space and run the same command again (a campaign resumes from its journal)"
            if exc.errno in (errno.ENOSPC, errno.EDQUOT) else ""))
        sys.exit(2)
    except KeyboardInterrupt:
        stderr_console().print("[red]interrupted[/red]")
        sys.exit(130)
