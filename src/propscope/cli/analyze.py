"""`propscope analyze` and `propscope techniques` (owned by the foundation work)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from ..detect.base import load_detector, with_min_confidence
from ..errors import InputError, ModelNotInstalledError
from ..pipeline import MAX_ARTICLE_CHARS, analyze_articles, check_length
from . import app

if TYPE_CHECKING:
    from ..detect.base import Detector
    from ..schema import Analysis, Article

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


MinConfidenceOpt = Annotated[float | None, typer.Option(
    "--min-confidence", min=0.0, max=1.0, metavar="P",
    help="Report the technique labels whose confidence (the estimated probability that a gold span of the "
         "technique overlaps the span) reaches P. Default: the model's decision threshold (0.10 for the "
         "shipped models; docs/output-format.md).")]
MaxCharsOpt = Annotated[int, typer.Option(
    "--max-chars", min=0, metavar="N",
    help=f"Longest article analysed, in characters (default {MAX_ARTICLE_CHARS:,}: about a minute on 2 "
         "cores); longer ones get an error line and the others go on. 0: no limit.",
)]
LangOpt = Annotated[str | None, typer.Option(
    "--lang", metavar="CODE",
    help="Language of the articles (ISO 639-1, e.g. en) instead of identifying it; the model is "
         "English-only, so other languages get a warning.",
)]


@app.command()
def analyze(
    inputs: InputsArg,
    fmt: FormatOpt = None,
    output: OutputOpt = None,
    no_clean: NoCleanOpt = False,
    model: ModelOpt = None,
    max_chars: MaxCharsOpt = MAX_ARTICLE_CHARS,
    lang: LangOpt = None,
    min_confidence: MinConfidenceOpt = None,
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

    if output is not None:
        _refuse_input_as_output(inputs, output)

    try:
        detector = with_min_confidence(load_detector(model), min_confidence)
    except ModelNotInstalledError as exc:
        err.print(f"error: {exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None

    articles: list[Article] = []
    failed = 0
    for item in iter_articles(inputs, clean=not no_clean, skip=[output] if output is not None else []):
        if not isinstance(item, InputError):
            try:
                check_length(item, max_chars or None)
            except InputError as exc:
                item = exc
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
        with _output(output, keep=lambda: bool(articles)) as stream:
            analysed, bad = _run(articles, detector, fmt_name, stream, single=one_input, err=err, lang=lang)
    except BrokenPipeError:  # e.g. `propscope analyze DIR -f jsonl | head`: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise typer.Exit(1) from None
    except OSError as exc:
        where = output if output is not None else "standard output"
        err.print(f"error: cannot write {where}: {exc.strerror or exc}", markup=False, soft_wrap=True)
        raise typer.Exit(1) from None
    failed += bad

    if len(inputs) > 1 or not single or failed:
        spans = sum(analysed)
        msg = f"{len(analysed)} article{'s' if len(analysed) != 1 else ''} analysed, {spans} spans found"
        if failed:
            msg += f"; {failed} input{'s' if failed != 1 else ''} failed"
        if output is not None:
            msg += f"; written to {output}" if articles else f"; nothing written, {output} left as it was"
        err.print(msg, markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _refuse_input_as_output(inputs: list[str], output: Path) -> None:
    """Usage error when ``output`` is one of the input files (writing it would destroy the article)."""
    if not output.exists():
        return
    for inp in inputs:
        if inp != "-" and Path(inp).is_file() and os.path.samefile(inp, output):
            raise typer.BadParameter(f"{output} is also an input; writing it would overwrite the article",
                                     param_hint="'--output'")


@contextmanager
def _output(path: Path | None, keep: Callable[[], bool]) -> Iterator[TextIO]:
    """Standard output, or a temporary file beside ``path`` renamed onto it when done and ``keep()`` is
    true, so that a failed or empty run leaves an existing file as it was. Devices and pipes (not regular
    files) are written directly."""
    if path is None:
        yield sys.stdout
        return
    if path.exists() and not path.is_file():
        with open(path, "w", encoding="utf-8", newline="") as stream:
            yield stream
        return
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent or ".")
    except OSError as exc:
        raise typer.BadParameter(f"cannot write {path}: {exc.strerror or exc}", param_hint="'--output'"
                                 ) from None
    try:
        with open(fd, "w", encoding="utf-8", newline="") as stream:
            yield stream
        if keep():
            mask = os.umask(0)
            os.umask(mask)
            os.chmod(tmp, 0o666 & ~mask)
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _run(
    articles: list[Article], detector: Detector, fmt: str, stream: TextIO, *, single: bool, err: Console,
    lang: str | None = None,
) -> tuple[list[int], int]:
    """Analyse ``articles`` in batches and write them; return span counts per analysis and failures."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    from ..export import Writer
    from ..pipeline import SEGMENT_CHARS
    from ..render import render_analysis, render_summary

    writer = Writer(fmt, stream, single=single) if fmt not in ("text", "summary") else None
    kept = []
    counts: list[int] = []
    failed = 0
    total = sum(len(a.text) for a in articles)
    long_one = any(len(a.text) > SEGMENT_CHARS for a in articles)
    progress = Progress(TextColumn("analysing {task.fields[done]}/{task.fields[n]} articles"), BarColumn(),
                        DownloadColumn(binary_units=False), TimeRemainingColumn(), console=err,
                        transient=True,
                        disable=(len(articles) < 2 and not long_one) or not err.is_terminal)
    with progress:
        task = progress.add_task("analyse", total=total, done=0, n=len(articles))
        for i in range(0, len(articles), BATCH):
            chunk = articles[i:i + BATCH]
            analyses = _analyze_chunk(chunk, detector, lang, progress, task)
            progress.update(task, done=i + len(chunk))
            failed += len(chunk) - len(analyses)
            for a in analyses:
                counts.append(len(a.spans))
                if writer is not None:
                    writer.write(a)
                else:
                    kept.append(a)
    if writer is not None:
        writer.close()
    elif kept:
        console = Console(highlight=False) if stream is sys.stdout else Console(file=stream, highlight=False)
        if fmt == "text":
            for a in kept:
                render_analysis(a, console)
        else:
            render_summary(kept, console)
    return counts, failed


def _analyze_chunk(chunk: list[Article], detector: Detector, lang: str | None, progress, task
                   ) -> list[Analysis]:
    """Analyses of the articles of ``chunk`` that could be analysed, in order; when the batch fails, each
    article is tried alone so that one bad article does not fail the others (each failure gets its error
    line)."""
    advance = lambda n: progress.advance(task, n)  # noqa: E731
    try:
        return analyze_articles(chunk, detector, lang=lang, progress=advance)
    except Exception as exc:  # a model failure on one article must not lose the others
        if len(chunk) == 1:
            a = chunk[0]
            _error(progress.console, a.source or a.id, f"analysis failed ({type(exc).__name__}: {exc})")
            return []
    out: list[Analysis] = []
    for a in chunk:
        out.extend(_analyze_chunk([a], detector, lang, progress, task))
    return out
