"""`propscope trace`: which articles reuse text from which, passage by passage."""

from __future__ import annotations

import csv
import sys
from contextlib import nullcontext
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer
from rich.console import Console

from . import app
from .corpus import FromOpt, OrientOpt, OutletOpt, SearchOpt, ToOpt, _filters, _guard, _open

if TYPE_CHECKING:
    from ..corpus.api import Corpus
    from ..corpus.filters import Filters
    from ..trace import TraceResult


class TraceFormat(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


_SUFFIX = {".json": "json", ".csv": "csv", ".txt": "table"}

CSV_COLUMNS = [
    "source",
    "copy",
    "direction",
    "kind",
    "share",
    "source_share",
    "similarity",
    "passage",
    "source_start",
    "source_end",
    "copy_start",
    "copy_end",
    "passage_similarity",
    "passage_kind",
    "source_text",
    "copy_text",
]


def write_csv(result: TraceResult, stream: TextIO) -> None:
    """One row per aligned passage, with its pair's fields."""
    w = csv.writer(stream)
    w.writerow(CSV_COLUMNS)
    for lk in result.links:
        for k, p in enumerate(lk.passages, 1):
            w.writerow(
                [
                    lk.source,
                    lk.copy_id,
                    lk.direction,
                    lk.kind,
                    lk.share,
                    lk.source_share,
                    lk.similarity,
                    k,
                    p.source_start,
                    p.source_end,
                    p.copy_start,
                    p.copy_end,
                    p.similarity,
                    p.kind,
                    p.source_text,
                    p.copy_text,
                ]
            )


def render_table(result: TraceResult, console: Console) -> None:
    """Pairs, then families, as rich tables."""
    from rich.table import Table

    t = Table(title=f"Reuse links ({len(result.links)})")
    for col in ("source", "copy", "direction", "kind", "share", "similarity", "passages", "first passage"):
        t.add_column(col, overflow="fold")
    for lk in result.links:
        first = lk.passages[0].copy_text if lk.passages else ""
        t.add_row(
            lk.source,
            lk.copy_id,
            lk.direction,
            lk.kind,
            f"{lk.share:.0%}",
            f"{lk.similarity:.2f}",
            str(len(lk.passages)),
            (first[:70] + "…") if len(first) > 70 else first,
        )
    console.print(t)
    if result.families:
        f = Table(title=f"Story families ({len(result.families)})")
        for col in ("family", "articles", "probable origin", "members"):
            f.add_column(col, overflow="fold")
        for fam in result.families:
            origin = f"{fam.origin} ({fam.origin_published})" if fam.origin else "unknown"
            members = ", ".join(fam.members[:8]) + (" …" if len(fam.members) > 8 else "")
            f.add_row(str(fam.id), str(len(fam.members)), origin, members)
        console.print(f)


def _ray_tracer(err: Console):  # type: ignore[no-untyped-def]
    try:
        from ..scale.ray import trace_ray
    except ImportError as exc:
        err.print(f"error: --ray needs the ray extra (pip install 'propscope[ray]'): {exc}", markup=False)
        raise typer.Exit(1) from None
    return trace_ray


def _trace_store(corpus: Corpus, f: Filters, ray: str | None, err: Console) -> TraceResult:
    if ray is not None:
        _ray_tracer(err)
    return corpus.trace(f, ray=ray)


@app.command()
def trace(
    inputs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="INPUT",
            help="Article files (.txt, .html, .jsonl, also .gz), directories, or - for stdin; "
            "or none with --db.",
            show_default=False,
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db",
            help="Trace the stored articles of this store (SQLite file or postgresql:// URL) and save the "
            "results there, replacing the previous ones; the filters below select articles.",
            show_default=False,
        ),
    ] = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    outlet: OutletOpt = None,
    orientation: OrientOpt = None,
    search: SearchOpt = None,
    fmt: Annotated[
        TraceFormat | None,
        typer.Option(
            "--format", "-f", help="table (default), json (pairs and families) or csv (one row per passage)."
        ),
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file.", dir_okay=False)
    ] = None,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Run on Ray: 'local' starts a local cluster, or give a cluster address (ray://host:10001 "
            "or auto). Needs the ray extra.",
            show_default=False,
        ),
    ] = None,
    no_clean: Annotated[bool, typer.Option("--no-clean", help="Keep texts exactly as read.")] = False,
) -> None:
    """Find articles that reuse text from earlier ones: aligned passages, reuse share, kind, direction.

    The earlier publication date decides which article is the source; with dates missing or equal the
    direction is 'unknown'. Kinds: verbatim, reworded (light rewording), quotation (shared quotation only).

    With --db, the stored articles are traced (outlet and date from the store; ids are store ids)
    and the results saved in the store for `propscope stats --reuse` and the explorer.

    Exit code 0: all inputs read; 1: some inputs failed (the others are still traced); 2: usage error.
    """
    from ..errors import InputError
    from ..read import iter_articles
    from ..trace import trace as run_trace

    err = Console(stderr=True, highlight=False)
    fmt_name = fmt.value if fmt is not None else None
    if fmt_name is None and output is not None:
        fmt_name = _SUFFIX.get(output.suffix.lower(), "table")
    fmt_name = fmt_name or "table"

    if db is not None and inputs:
        raise typer.BadParameter("give INPUT files or --db, not both", param_hint="'--db'")
    if db is None and not inputs:
        raise typer.BadParameter("give INPUT files, or --db to trace a store", param_hint="INPUT")
    if db is None and any(x is not None for x in (date_from, date_to, outlet, orientation, search)):
        raise typer.BadParameter("filters select stored articles: use them with --db", param_hint="'--db'")
    failed = 0
    if db is not None:
        f = _filters(date_from, date_to, outlet, orientation, None, search, None)
        with _open(db) as corpus:
            result = _guard(_trace_store, corpus, f, ray, err)
    else:
        articles = []
        for item in iter_articles(inputs or [], clean=not no_clean):
            if isinstance(item, InputError):
                failed += 1
                err.print(f"error: {item.source}: {item.reason}", markup=False, soft_wrap=True)
            else:
                articles.append(item)
        if ray is not None:
            trace_ray = _ray_tracer(err)
            result = trace_ray(articles, address=None if ray == "local" else ray)
        else:
            result = run_trace(articles)
    for w in result.warnings:
        err.print(f"warning: {w}", markup=False, soft_wrap=True)

    try:
        ctx = nullcontext(sys.stdout) if output is None else open(output, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise typer.BadParameter(
            f"cannot write {output}: {exc.strerror or exc}", param_hint="'--output'"
        ) from None
    with ctx as stream:
        if fmt_name == "json":
            stream.write(result.model_dump_json(indent=2) + "\n")
        elif fmt_name == "csv":
            write_csv(result, stream)
        else:
            console = Console(highlight=False) if stream is sys.stdout else Console(file=stream, width=160)
            render_table(result, console)
    s = result.stats
    msg = f"{s.articles} articles traced, {len(result.links)} reuse links, {len(result.families)} families"
    if db is not None:
        msg += f"; saved in {corpus.name}"
    if failed:
        msg += f"; {failed} input{'s' if failed != 1 else ''} failed"
    err.print(msg, markup=False, soft_wrap=True)
    if failed:
        raise typer.Exit(1)
