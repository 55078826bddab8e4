"""``propscope.Corpus``: the Python API of the corpus store (ingest, stats, top, search, lists, export).

>>> from propscope import Corpus
>>> with Corpus("news.db") as corpus:
...     corpus.ingest(["../shared/data/ptc/dev/articles"])
...     corpus.stats(by=["technique"]).to_pandas()
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from . import query as Q
from .filters import Filters
from .ingest import BATCH_SIZE, IngestReport, Input
from .ingest import ingest as _ingest
from .ingest import reanalyze as _reanalyze
from .store import Store, open_store

if TYPE_CHECKING:
    from ..trace import TraceParams, TraceResult
    from .reuse import ArticleReuse, ReuseStats


def _f(filters: Filters | None) -> Filters:
    return (filters or Filters()).checked()


class Corpus:
    """A store of analysed articles: SQLite (a path; default ``$PROPSCOPE_DB``, else ``./propscope.db``) or
    PostgreSQL (a ``postgresql://`` URL). Opening migrates an older store forward and refuses a newer one
    (StoreError). Use as a context manager or call ``close()``."""

    def __init__(
        self,
        path_or_url: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = 30.0,
        create: bool = True,
    ) -> None:
        self.store: Store = open_store(path_or_url, busy_timeout=busy_timeout, create=create)

    @property
    def name(self) -> str:
        """The store's path, or its URL without the password."""
        return self.store.name

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Corpus({self.name!r})"

    # --- writing --------------------------------------------------------------------------------------

    def has_url(self, url: str) -> bool:
        """Whether an article with this URL is stored (a crawler skips it)."""
        import sqlalchemy as sa

        from .store import articles

        with self.store.read() as conn:
            return (
                conn.execute(sa.select(articles.c.id).where(articles.c.url == url).limit(1)).first()
                is not None
            )

    def ingest(
        self,
        inputs_or_articles: Iterable[Input] | Input,
        *,
        detector: Any = None,
        model: str | os.PathLike[str] | None = None,
        outlet: str | None = None,
        clean: bool = True,
        fields: Mapping[str, str] | None = None,
        batch_size: int = BATCH_SIZE,
        progress: bool = False,
        ray: str | None = None,
    ) -> IngestReport:
        """Analyse and store articles: ``propscope.Article`` objects and/or paths (files, folders, JSONL, as
        ``propscope analyze`` reads). An article is identified by its URL, else (without a URL) by its
        content hash; one stored already is skipped without analysis. An identical text under a new URL is
        stored as its own article with a copy of the stored analysis (no model run). Each batch is one
        transaction. ``outlet`` is the fallback outlet name; ``fields`` renames JSONL keys
        (``{"outlet": "source"}``). The detector (or ``model``) loads only when needed. ``ray`` analyses on
        Ray instead ("local" starts a local instance, else a cluster address; needs the ray extra)."""
        analyze = None
        if ray is not None:
            from ..scale.ray import analyze_ray

            def analyze(arts: list[Any]) -> list[Any]:
                return analyze_ray(arts, model, None if ray == "local" else ray)

        if not progress:
            return _ingest(
                self.store,
                inputs_or_articles,
                detector=detector,
                model=model,
                outlet=outlet,
                clean=clean,
                fields=fields,
                batch_size=batch_size,
                analyze=analyze,
            )
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        err = Console(stderr=True, highlight=False)
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
            disable=not err.is_terminal,
        ) as bar:
            task = bar.add_task("ingesting")

            def shown(r: IngestReport) -> None:
                bar.update(task, description=f"ingesting: {r.read} read, {r.added} added, {r.skipped} stored")

            def error(msg: str) -> None:
                bar.console.print(f"error: {msg}", markup=False, highlight=False, soft_wrap=True)

            def warning(msg: str) -> None:
                bar.console.print(f"warning: {msg}", markup=False, highlight=False, soft_wrap=True)

            return _ingest(
                self.store,
                inputs_or_articles,
                detector=detector,
                model=model,
                outlet=outlet,
                clean=clean,
                fields=fields,
                batch_size=batch_size,
                on_error=error,
                on_warning=warning,
                on_batch=shown,
                analyze=analyze,
            )

    def reanalyze(
        self,
        *,
        detector: Any = None,
        model: str | os.PathLike[str] | None = None,
        filters: Filters | None = None,
        drop_old: bool = False,
        batch_size: int = BATCH_SIZE,
    ) -> int:
        """Analyse the selected stored articles again (another model); the new analysis becomes current.
        Older analyses are kept (``Corpus.article(id).history``) unless ``drop_old``."""
        ids = [s.id for s in self.iter_articles(filters)]
        return _reanalyze(
            self.store,
            detector=detector,
            model=model,
            article_ids=ids,
            drop_old=drop_old,
            batch_size=batch_size,
        )

    def import_outlets(
        self, csv_path: str | os.PathLike[str], *, orientation_column: str | None = None
    ) -> tuple[Any, list[str]]:
        """Load outlet metadata from a CSV file (docs/corpus.md); returns (report, skipped-row messages)."""
        from .outlets import import_outlets

        return import_outlets(self.store, csv_path, orientation_column=orientation_column)

    def trace(
        self,
        filters: Filters | None = None,
        *,
        params: TraceParams | None = None,
        ray: str | None = None,
    ) -> TraceResult:
        """Trace text reuse among the selected stored articles (outlet and date from the store) and save
        the result in the store, replacing the previous trace results. Article ids in the result are store
        ids as strings. ``ray``: run on Ray ("local", or a cluster address; needs the ray extra)."""
        from .reuse import run_trace

        tracer = None
        if ray is not None:
            from ..scale.ray import trace_ray

            def tracer(items: list[Any]) -> TraceResult:
                return trace_ray(items, address=None if ray == "local" else ray, params=params)

        return run_trace(self.store, _f(filters), params=params, tracer=tracer)

    # --- reading --------------------------------------------------------------------------------------

    def iter_articles(self, filters: Filters | None = None) -> Iterator[Q.StoredArticle]:
        """Every selected article (id, Article, outlet, published date), in store order."""
        with self.store.read() as conn:
            yield from Q.iter_stored(conn, _f(filters))

    def stats(self, filters: Filters | None = None, by: Sequence[str] = ()) -> Q.Rows[dict[str, Any]]:
        """Articles, spans, spans per 1,000 words, share of articles using techniques and mean article score,
        per group of ``by`` (outlet, orientation, technique, day, week, month, year)."""
        with self.store.read() as conn:
            return Q.stats(conn, _f(filters), list(by))

    def top(self, filters: Filters | None = None, n: int = 10) -> Q.Rows[Q.ArticleRow]:
        """The ``n`` selected articles with the highest article score."""
        with self.store.read() as conn:
            return Q.top(conn, _f(filters), n)

    def search(
        self,
        words: str,
        filters: Filters | None = None,
        *,
        limit: int = 20,
        offset: int = 0,
        sort: str = "relevance",
    ) -> Q.Rows[Q.ArticleRow]:
        """Full-text search (all words, "quoted phrases") among the selected articles, best match first."""
        with self.store.read() as conn:
            return Q.search(conn, words, _f(filters), limit=limit, offset=offset, sort=sort)

    def articles(
        self, filters: Filters | None = None, *, sort: str = "-published", offset: int = 0, limit: int = 50
    ) -> Q.Page[Q.ArticleRow]:
        """One page of the selected articles and their total, for server-side pagination."""
        with self.store.read() as conn:
            return Q.articles(conn, _f(filters), sort=sort, offset=offset, limit=limit)

    def article(self, article_id: int) -> Q.StoredAnalysis | None:
        """The full stored analysis of one article (text, spans, sentences, score, metadata), or None."""
        with self.store.read() as conn:
            return Q.article(conn, article_id)

    def reuse(self, article_id: int, *, offset: int = 0, limit: int | None = None) -> ArticleReuse | None:
        """The saved trace results of one article: the earlier articles it reuses text from (``sources``)
        and the later ones that reuse its text (``copies``), each link with its passages and their texts;
        plus its story family and when the store was traced (``traced_at``). Empty when no trace has been
        run or the article shares no text; None when there is no such article. ``offset`` and ``limit``
        page the dated sources, the dated copies and the links of unknown direction each (``totals``
        counts them all)."""
        from .reuse import reuse

        with self.store.read() as conn:
            return reuse(conn, article_id, offset=offset, limit=limit)

    def reuse_stats(self, filters: Filters | None = None) -> ReuseStats:
        """Reuse per outlet among the selected articles, from the saved trace results: ``.outlets`` (articles,
        those reusing earlier text, their share, those reused later) and ``.flows`` (links from each source
        outlet to each copy outlet)."""
        from .reuse import reuse_stats

        with self.store.read() as conn:
            return reuse_stats(conn, _f(filters))

    def outlets(self) -> Q.Rows[Q.OutletRow]:
        """All outlets with their metadata and article counts."""
        with self.store.read() as conn:
            return Q.outlets(conn)

    def version(self) -> tuple[int, int, int, str]:
        """A cheap stamp that changes when articles, analyses, outlets or trace results change (for caches
        of answers): the largest analysis id, the number of current analyses, a sum over the outlets'
        columns and when the store was last traced."""
        with self.store.read() as conn:
            return Q.version(conn)

    def count(self) -> int:
        """Number of stored articles."""
        import sqlalchemy as sa

        from .store import articles

        with self.store.read() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(articles)).scalar_one()

    def export(
        self,
        path: str | os.PathLike[str],
        *,
        what: str = "articles",
        fmt: str | None = None,
        filters: Filters | None = None,
    ) -> int:
        """Write the selected ``articles``, ``spans`` or ``sentences`` to ``path`` as parquet, csv or jsonl
        (``fmt``, else from the extension); returns the number of rows written."""
        from .export import format_for, write_rows

        fmt = format_for(path, fmt)
        with self.store.read() as conn:
            return write_rows(Q.export_rows(conn, _f(filters), what), path, fmt)
