"""`propscope analyze` and `propscope techniques` (owned by the foundation work)."""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from ..detect.base import load_detector
from ..errors import InputError, ModelNotInstalledError
from ..pipeline import analyze_articles
from . import app

if TYPE_CHECKING:
    from ..detect.base import Detector
    from ..schema import Article

BATCH = 16
"""Articles handed to the detector at once."""

_SUFFIX_FORMATS = {".json": "json", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "ptc",
                   ".ptc": "ptc", ".txt": "text"}


class Format(StrEnum):
    text = "text"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    ptc = "ptc"


@app.command()
def techniques() -> None:
    """List the 14 PTC propaganda techniques with a one-line definition each."""
    from rich.console import Console
    from rich.table import Table

    from ..techniques import all_techniques

    table = Table(title="PTC propaganda techniques")
    table.add_column("Technique (PTC label)")
    table.add_column("Definition")
    for t in all_techniques():
        table.add_row(f"[{t.colour}]■[/] {t.name}", t.definition)
    Console().print(table)


def _error(console: Console, source: str, reason: str) -> None:
    console.print(f"error: {source}: {reason}", markup=False, highlight=False, soft_wrap=True)


InputsArg = Annotated[list[str], typer.Argument(
    metavar="PATH",
    help="Article files (.txt, .html, .jsonl, also .gz), directories (searched recursively), or - for stdin.",
)]
FormatOpt = Annotated[Format | None, typer.Option(
    "--format", "-f",
    help="Output format. Default: the highlighted text view for one article, a summary table for several "
         "(or taken from the -o file's extension: .json, .jsonl, .csv, .tsv).",
)]
OutputOpt = Annotated[Path | None, typer.Option(
    "--output", "-o", help="Write the output to this file.", dir_okay=False,
)]
NoCleanOpt = Annotated[bool, typer.Option(
    "--no-clean", help="Keep the text exactly as read (for offsets that refer to the raw files).",
)]
ModelOpt = Annotated[Path | None, typer.Option(
    "--model", help="Model folder, or a shipped model's name: default, fast (3 layers, about twice as fast). "
    "Default: $PROPSCOPE_MODEL, else the default model.",
)]


@app.command()
def analyze(
    inputs: InputsArg,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    no_clean: NoCleanOpt = False,
    model: ModelOpt = None,
) -> None:
    """Find propaganda techniques in news articles.

    One article gives a readable view with each technique highlighted; several give a summary table.

    --format json|jsonl|csv|ptc gives machine output (see docs/output-format.md).

    Exit code 0: all inputs analysed; 1: some inputs failed (the others are still written); 2: usage error.
    """
    from ..read import iter_articles

    err = Console(stderr=True, highlight=False)
    fmt_name = fmt.value if fmt is not None else None
    if fmt_name is None and output is not None:
        fmt_name = _SUFFIX_FORMATS.get(output.suffix.lower())
        if fmt_name is None:
            raise typer.BadParameter(f"cannot tell the format from {output.name!r}; add --format",
                                     param_hint="'--output'")

    try:
        detector = load_detector(model)
    except ModelNotInstalledError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None

    articles: list[Article] = []
    failed = 0
    for item in iter_articles(inputs, clean=not no_clean):
        if isinstance(item, InputError):
            failed += 1
            _error(err, item.source, item.reason)
        else:
            articles.append(item)

    one_input = len(inputs) == 1 and (inputs[0] == "-" or not Path(inputs[0]).is_dir())
    single = one_input and len(articles) == 1 and failed == 0
    if fmt_name is None:
        fmt_name = "text" if single else "summary"

    try:
        out_ctx = (nullcontext(sys.stdout) if output is None
                   else open(output, "w", encoding="utf-8", newline=""))
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {output}: {exc.strerror or exc}", param_hint="'--output'"
                                 ) from None
    try:
        with out_ctx as stream:
            analysed, bad = _run(articles, detector, fmt_name, stream, single=one_input, err=err)
    except BrokenPipeError:  # e.g. `propscope analyze DIR -f jsonl | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    failed += bad

    if len(inputs) > 1 or not single or failed:
        spans = sum(analysed)
        msg = f"{len(analysed)} article{'s' if len(analysed) != 1 else ''} analysed, {spans} spans found"
        if failed:
            msg += f"; {failed} input{'s' if failed != 1 else ''} failed"
        if output is not None:
            msg += f"; written to {output}"
        err.print(msg, markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _run(
    articles: list[Article], detector: Detector, fmt: str, stream: TextIO, *, single: bool, err: Console
) -> tuple[list[int], int]:
    """Analyse ``articles`` in batches and write them; return span counts per analysis and failures."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..export import Writer
    from ..render import render_analysis, render_summary

    writer = Writer(fmt, stream, single=single) if fmt not in ("text", "summary") else None
    kept = []
    counts: list[int] = []
    failed = 0
    progress = Progress(TextColumn("analysing"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                        console=err, transient=True, disable=len(articles) < 2 or not err.is_terminal)
    with progress:
        task = progress.add_task("analyse", total=len(articles))
        for i in range(0, len(articles), BATCH):
            chunk = articles[i:i + BATCH]
            try:
                analyses = analyze_articles(chunk, detector)  # type: ignore[arg-type]
            except Exception as exc:  # a model failure on one batch must not lose the others
                for a in chunk:
                    failed += 1
                    reason = f"analysis failed ({type(exc).__name__}: {exc})"
                    _error(progress.console, a.source or a.id, reason)
                progress.advance(task, len(chunk))
                continue
            for a in analyses:
                counts.append(len(a.spans))
                if writer is not None:
                    writer.write(a)
                else:
                    kept.append(a)
            progress.advance(task, len(chunk))
    if writer is not None:
        writer.close()
    else:
        console = Console(highlight=False) if stream is sys.stdout else Console(file=stream, highlight=False)
        if fmt == "text":
            for a in kept:
                render_analysis(a, console)
        else:
            render_summary(kept, console)
    return counts, failed
