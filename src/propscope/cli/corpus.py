"""`propscope ingest`, `reanalyze`, `outlets import|list`, `stats`, `top`, `search`, `export` (corpus store).

Each command parses its filter options into one ``Filters`` and calls ``propscope.Corpus``; SQLAlchemy and
the store load inside the commands only.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from . import app

if TYPE_CHECKING:
    from ..corpus.api import Corpus
    from ..corpus.filters import Filters

outlets_app = typer.Typer(
    help="Outlet metadata (name, domain, country, orientation) for filtering.", no_args_is_help=True
)
app.add_typer(outlets_app, name="outlets")

_err = Console(stderr=True, highlight=False)


def _fail(msg: str, code: int = 1) -> typer.Exit:
    _err.print(f"error: {msg}", markup=False, soft_wrap=True)
    return typer.Exit(code)


class By(StrEnum):
    outlet = "outlet"
    orientation = "orientation"
    technique = "technique"
    day = "day"
    week = "week"
    month = "month"
    year = "year"


class OutFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class ReuseTable(StrEnum):
    outlets = "outlets"
    flows = "flows"


class What(StrEnum):
    articles = "articles"
    spans = "spans"
    sentences = "sentences"


DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Store: a SQLite file or a postgresql:// URL. Default: $PROPSCOPE_DB, else ./propscope.db.",
    ),
]
FromOpt = Annotated[
    str | None, typer.Option("--from", help="Articles published on or after (YYYY[-MM[-DD]]).")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="Articles published on or before (YYYY[-MM[-DD]]).")]
OutletOpt = Annotated[list[str] | None, typer.Option("--outlet", help="Outlet name or domain (repeatable).")]
OrientOpt = Annotated[
    list[str] | None,
    typer.Option("--orientation", help="Outlet orientation from `outlets import`, e.g. left (repeatable)."),
]
TechOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--technique", "-t", help="Technique: PTC label, name or unique prefix, e.g. loaded (repeatable)."
    ),
]
SearchOpt = Annotated[str | None, typer.Option("--search", help="Only articles containing these words.")]
ConfOpt = Annotated[
    float | None,
    typer.Option("--min-confidence", min=0.0, max=1.0, help="Count only spans at least this confident."),
]
FmtOpt = Annotated[OutFormat, typer.Option("--format", "-f", help="table, csv or json.")]


def _filters(
    date_from: str | None,
    date_to: str | None,
    outlet: list[str] | None,
    orientation: list[str] | None,
    technique: list[str] | None,
    search: str | None,
    min_confidence: float | None,
) -> Filters:
    from ..corpus.filters import FilterError, Filters

    try:
        return Filters.parse(
            date_from=date_from,
            date_to=date_to,
            outlets=outlet,
            orientations=orientation,
            techniques=technique,
            words=search,
            min_confidence=min_confidence,
        )
    except FilterError as exc:
        raise _fail(str(exc), 2) from None


def _open(db: str | None) -> Corpus:
    from ..corpus.api import Corpus
    from ..corpus.store import StoreError

    try:
        return Corpus(db)
    except StoreError as exc:
        raise _fail(str(exc)) from None


def _guard(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run ``fn``; a store, model or value error becomes one ``error:`` line and exit code 1."""
    from ..errors import PropscopeError

    try:
        return fn(*args, **kwargs)
    except (PropscopeError, ValueError) as exc:
        raise _fail(str(exc)) from None


_HEADERS = {
    "articles_with": "with",
    "spans_per_1k_words": "per 1k words",
    "mean_score": "mean score",
    "n_spans": "spans",
    "published": "date",
    "source_outlet": "source outlet",
    "copy_outlet": "copy outlet",
}
_HIDDEN = {"ext_id", "url", "model", "words"}
"""Columns left out of the table view (csv and json carry them)."""


def _print_rows(
    rows: list[dict[str, Any]], fmt: OutFormat, title: str | None = None, empty: str = "no articles match"
) -> None:
    if fmt is OutFormat.json:
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2, default=str))
        return
    if fmt is OutFormat.csv:
        import csv

        if rows:
            w = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
        return
    from rich.table import Table

    if not rows:
        Console().print(empty)
        return
    keys = [k for k in rows[0] if k not in _HIDDEN]
    table = Table(title=title)
    for k in keys:
        numeric = isinstance(rows[0][k], int | float)
        table.add_column(
            _HEADERS.get(k, k),
            justify="right" if numeric else "left",
            no_wrap=k != "title",
            overflow="ellipsis",
            max_width=60 if k == "title" else None,
        )
    for r in rows:
        table.add_row(*["" if r[k] is None else str(r[k]) for k in keys])
    console = Console() if sys.stdout.isatty() else Console(width=200)
    console.print(table)


@app.command()
def ingest(
    inputs: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH", help="Article files (.txt, .html, .jsonl, also .gz), directories, or - for stdin."
        ),
    ],
    db: DbOpt = None,
    model: Annotated[
        str | None,
        typer.Option(
            help="Model folder or shipped model's name (default, fast); "
            "default: $PROPSCOPE_MODEL, else default."
        ),
    ] = None,
    outlet: Annotated[
        str | None, typer.Option(help="Outlet of articles with neither a site name nor a URL.")
    ] = None,
    field: Annotated[
        list[str] | None,
        typer.Option(
            "--field", help="Rename a JSONL key: ARTICLE_FIELD=KEY, e.g. outlet=source (repeatable)."
        ),
    ] = None,
    batch_size: Annotated[
        int, typer.Option(min=1, help="Articles per transaction (and per model batch).")
    ] = 16,
    no_clean: Annotated[bool, typer.Option("--no-clean", help="Keep texts exactly as read.")] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            "--ray",
            help="Analyse on Ray: 'local' starts a local instance, or give a cluster address (auto, "
            "ray://host:10001). Needs the ray extra; use a larger --batch-size (e.g. 256).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Analyse articles and store them (skipping those already stored: same URL, else, without a URL,
    same text). An identical text under a new URL is stored with a copy of the stored analysis.

    Killed or interrupted, a rerun completes the job: each batch is stored whole or not at all.
    Exit code 0: all inputs stored or already there; 1: some inputs failed (the others are stored).
    """
    fields: dict[str, str] = {}
    for f in field or []:
        target, sep, src = f.partition("=")
        if not sep or not target.strip() or not src.strip():
            raise _fail(f"--field {f!r}: use ARTICLE_FIELD=JSONL_KEY, e.g. outlet=source", 2)
        fields[target.strip()] = src.strip()
    if ray is not None:
        try:
            import ray as _ray  # noqa: F401
        except ImportError as exc:
            raise _fail(f"--ray needs the ray extra (pip install 'propscope[ray]'): {exc}") from None
    corpus = _open(db)
    try:
        report = _guard(
            corpus.ingest,
            inputs,
            model=model,
            outlet=outlet,
            clean=not no_clean,
            fields=fields,
            batch_size=batch_size,
            progress=True,
            ray=ray,
        )
    finally:
        corpus.close()
    _err.print(f"{report.summary()}; store: {corpus.name}", markup=False, soft_wrap=True)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def reanalyze(
    db: DbOpt = None,
    model: Annotated[str | None, typer.Option(help="Model folder or shipped model's name.")] = None,
    drop_old: Annotated[
        bool, typer.Option("--drop-old", help="Delete the older analyses (default: keep).")
    ] = False,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    outlet: OutletOpt = None,
    orientation: OrientOpt = None,
    search: SearchOpt = None,
) -> None:
    """Analyse stored articles again with another model; the new analysis becomes the current one.

    Older analyses are kept (listed as history) unless --drop-old.
    """
    f = _filters(date_from, date_to, outlet, orientation, None, search, None)
    with _open(db) as corpus:
        n = _guard(corpus.reanalyze, model=model, filters=f, drop_old=drop_old)
    _err.print(f"{n} article{'s' if n != 1 else ''} reanalysed", markup=False)


@outlets_app.command("import")
def outlets_import(
    csv_file: Annotated[Path, typer.Argument(metavar="FILE.csv", help="CSV with a name column (see docs).")],
    db: DbOpt = None,
    orientation_column: Annotated[
        str | None,
        typer.Option(
            help="Column holding the orientation (default: orientation, bias, allsides_bias or mbfc_bias)."
        ),
    ] = None,
) -> None:
    """Load outlet metadata: name, domain, country, orientation and free extra columns."""
    with _open(db) as corpus:
        report, problems = _guard(corpus.import_outlets, csv_file, orientation_column=orientation_column)
    for p in problems:
        _err.print(f"error: {p}", markup=False, soft_wrap=True)
    _err.print(
        f"{report.added} outlets added, {report.updated} updated, {report.skipped} skipped", markup=False
    )


@outlets_app.command("list")
def outlets_list(db: DbOpt = None, fmt: FmtOpt = OutFormat.table) -> None:
    """List the outlets with their metadata and number of stored articles."""
    with _open(db) as corpus:
        rows = _guard(corpus.outlets).to_dicts()
    for r in rows:
        r["extra"] = json.dumps(r["extra"], ensure_ascii=False) if fmt is not OutFormat.json else r["extra"]
    _print_rows(rows, fmt, "outlets")


@app.command()
def stats(
    by: Annotated[list[By] | None, typer.Option("--by", help="Group by (repeatable).")] = None,
    db: DbOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    outlet: OutletOpt = None,
    orientation: OrientOpt = None,
    technique: TechOpt = None,
    search: SearchOpt = None,
    min_confidence: ConfOpt = None,
    fmt: FmtOpt = OutFormat.table,
    plot: Annotated[Path | None, typer.Option(help="Also draw a chart to FILE.png or FILE.svg.")] = None,
    reuse: Annotated[
        ReuseTable | None,
        typer.Option(
            "--reuse",
            help="Text reuse per outlet, from the last `propscope trace --db`: 'outlets' (share of each "
            "outlet's articles that reuse earlier text) or 'flows' (links from source outlet to copy "
            "outlet).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Articles, spans, spans per 1,000 words, share of articles using techniques, mean article score,
    per outlet, technique, orientation and/or period; or, with --reuse, text reuse per outlet."""
    f = _filters(date_from, date_to, outlet, orientation, technique, search, min_confidence)
    if reuse is not None:
        if by or plot is not None:
            raise _fail("--reuse makes its own table: leave out --by and --plot", 2)
        with _open(db) as corpus:
            rs = _guard(corpus.reuse_stats, f)
        title = ("reuse per outlet" if reuse is ReuseTable.outlets
                 else "reuse links from source outlet to copy outlet")
        rows = rs.outlets if reuse is ReuseTable.outlets else rs.flows
        _print_rows(rows, fmt, title, empty="no reuse links stored (run `propscope trace --db` first)"
                    if reuse is ReuseTable.flows else "no articles match")
        return
    keys = [b.value for b in by or []]
    with _open(db) as corpus:
        rows = _guard(corpus.stats, f, by=keys)
    _print_rows(rows, fmt, f"propscope stats by {', '.join(keys) or 'all'}")
    if plot is not None:
        from ..corpus.plots import plot_stats

        _guard(plot_stats, rows, keys, plot)
        _err.print(f"plot written to {plot}", markup=False)


def _article_rows(rows: Any) -> list[dict[str, Any]]:
    out = []
    for r in rows.to_dicts():
        if r.get("rank") is None:
            r.pop("rank", None)
        out.append(r)
    return out


@app.command()
def top(
    n: Annotated[int, typer.Option("-n", min=1, help="How many articles.")] = 10,
    db: DbOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    outlet: OutletOpt = None,
    orientation: OrientOpt = None,
    technique: TechOpt = None,
    search: SearchOpt = None,
    min_confidence: ConfOpt = None,
    fmt: FmtOpt = OutFormat.table,
) -> None:
    """The selected articles with the highest propaganda score."""
    f = _filters(date_from, date_to, outlet, orientation, technique, search, min_confidence)
    with _open(db) as corpus:
        rows = _guard(corpus.top, f, n)
    _print_rows(_article_rows(rows), fmt, f"top {n} articles by score")


@app.command()
def search(
    words: Annotated[str, typer.Argument(help='Words that must all occur; "quoted phrases" allowed.')],
    n: Annotated[int, typer.Option("-n", min=1, help="How many articles.")] = 20,
    db: DbOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    outlet: OutletOpt = None,
    orientation: OrientOpt = None,
    technique: TechOpt = None,
    min_confidence: ConfOpt = None,
    sort: Annotated[
        str, typer.Option(help="relevance, or score, published, ... (- for descending).")
    ] = "relevance",
    fmt: FmtOpt = OutFormat.table,
) -> None:
    """Full-text search: the matching articles with their scores, best match first."""
    f = _filters(date_from, date_to, outlet, orientation, technique, None, min_confidence)
    with _open(db) as corpus:
        rows = _guard(corpus.search, words, f, limit=n, sort=sort)
    _print_rows(_article_rows(rows), fmt, f"articles matching {words!r}")


@app.command()
def export(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.parquet, .csv, .jsonl).")],
    what: Annotated[What, typer.Option(help="articles, spans or sentences.")] = What.articles,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help="parquet, csv or jsonl.")] = None,
    db: DbOpt = None,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    outlet: OutletOpt = None,
    orientation: OrientOpt = None,
    technique: TechOpt = None,
    search: SearchOpt = None,
    min_confidence: ConfOpt = None,
) -> None:
    """Export the selected articles (with outlet, date, URL and scores), spans or sentences."""
    f = _filters(date_from, date_to, outlet, orientation, technique, search, min_confidence)
    with _open(db) as corpus:
        n = _guard(corpus.export, output, what=what.value, fmt=fmt, filters=f)
    _err.print(f"{n} {what.value} written to {output}", markup=False)
