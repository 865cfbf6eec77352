"""``dfi import-paper``: the study's recorded result files as a results table."""

from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table
from rich.text import Text

from harness.cli.console import stdout_console
from harness.vendors.registry import display_name


@click.command("import-paper")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--output", "output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="results table to write (.csv, .parquet or .jsonl)")
@click.option("--zero-similarity", type=click.Choice(["missing", "score"]), default="missing", show_default=True,
              help="Azure find-similar wrote 0 when the similarity call found no face: no score (the study's "
                   "DHS denominator), or keep 0 as a score")
@click.option("--keep-duplicates", is_flag=True,
              help="keep a probe that two files record (Results_CelebDPR.csv repeats part of ms_CelebDPR.csv) twice")
def import_paper_cmd(paths: tuple[Path, ...], output: Path, zero_similarity: str, keep_duplicates: bool) -> None:
    """Import the study's recorded result files (files or a folder such as ../shared/data/paper-results)."""
    from harness.results import write_results
    from harness.results.io import file_format
    from harness.results.paper import import_paper

    file_format(output)  # refuse a bad output suffix before reading anything
    table, summary = import_paper(list(paths), zero_similarity=zero_similarity, keep_duplicates=keep_duplicates)
    console = stdout_console()
    t = Table(title="Imported study result files", title_style="bold")
    for name in ("file", "dataset", "vendor", "rows", "empty fake", "empty real", "sim. 0", "derived real"):
        t.add_column(name, justify="left" if name in ("file", "dataset", "vendor") else "right")
    for f in summary.files:
        t.add_row(f.source, f.dataset, display_name(f.vendor), str(f.rows), str(f.empty_fake_answers),
                  str(f.empty_real_answers), str(f.zero_similarity) if f.vendor == "ms" else "-",
                  str(f.derived_real_answers) if f.derived_real_answers else "-")
    console.print(t)
    console.print(Text("empty fake / empty real: empty answers on the deepfake / on the real image; "
                       "sim. 0: Azure similarities of 0; derived real: real-image answers taken from the rows of "
                       "that person (CelebDF targets, second CelebBlend reference)", style="dim"))
    empty_fake = sum(f.empty_fake_answers for f in summary.files)
    empty_real = sum(f.empty_real_answers for f in summary.files)
    console.print(Text(
        f"note: the study wrote 'no celebrity' and 'the call failed' the same way (an empty cell). "
        f"{empty_fake} empty deepfake answers and {empty_real} empty real-image answers are imported as "
        "'no celebrity'; any vendor errors among them cannot be told apart, so these files show 0 errors.",
        style="yellow"))
    zeros = sum(f.zero_similarity for f in summary.files)
    if zeros:
        how = ("kept as the score 0" if zero_similarity == "score"
               else "treated as 'no score' (left out of DHS denominators)")
        console.print(f"note: {zeros} Azure similarities of 0 (no similar face, or no face found) were {how}.")
    for source, (n, kept_in) in summary.duplicates.items():
        console.print(f"note: {n} rows of {source} are probes {kept_in} records too (same deepfake image): "
                      f"kept once, from {kept_in}; --keep-duplicates keeps both.")
    if summary.skipped:
        console.print(f"skipped (not study result files): {', '.join(summary.skipped)}")
    write_results(table, output)
    console.print(f"wrote {len(table)} rows to {output}")


COMMANDS: list[click.Command] = [import_paper_cmd]
__all__ = ["COMMANDS", "import_paper_cmd"]
