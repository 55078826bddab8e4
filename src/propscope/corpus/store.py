"""The corpus store: SQLAlchemy Core tables, opening SQLite or PostgreSQL, and forward-only schema migrations.

The schema is documented in docs/corpus.md. To add a table (e.g. text-reuse links): declare it on METADATA,
bump ``SCHEMA_VERSION`` and append a migration ``(new_version, function)`` to ``MIGRATIONS`` that creates it
on a store of the previous version. Fresh stores get ``METADATA.create_all`` plus the dialect extras of
``_create_extras`` and are stamped with ``SCHEMA_VERSION``.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from ..errors import PropscopeError

SCHEMA_VERSION = 4
"""Version of the store schema this propscope writes; older stores are migrated forward on open."""

DB_ENV = "PROPSCOPE_DB"
DEFAULT_DB = "propscope.db"

METADATA = sa.MetaData()

meta = sa.Table(
    "propscope_meta",
    METADATA,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.Text, nullable=False),
)

outlets = sa.Table(
    "outlets",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.Text, nullable=False, unique=True),
    sa.Column("domain", sa.Text, index=True),
    sa.Column("country", sa.Text),
    sa.Column("orientation", sa.Text, index=True),
    sa.Column("extra", sa.Text),  # JSON object of the free columns of `outlets import`
)

articles = sa.Table(
    "articles",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, unique=True),
    sa.Column("content_hash", sa.String(64), nullable=False, index=True),  # unique up to version 2
    sa.Column("outlet_id", sa.Integer, sa.ForeignKey("outlets.id"), index=True),
    sa.Column("ext_id", sa.Text, nullable=False),  # Article.id as read (file name, JSONL id)
    sa.Column("title", sa.Text),
    sa.Column("published", sa.Text),  # Article.published as given
    sa.Column("published_date", sa.Date, index=True),  # its date, parsed; NULL when unknown or unparseable
    sa.Column("author", sa.Text),
    sa.Column("site", sa.Text),
    sa.Column("source", sa.Text),
    sa.Column("format", sa.Text),
    sa.Column("words", sa.Integer, nullable=False),
    sa.Column("cleaning", sa.Text),  # JSON of the CleaningReport
    sa.Column("ingested_at", sa.DateTime, nullable=False),
)

article_texts = sa.Table(  # kept apart so that scans of `articles` stay small (version 2)
    "article_texts",
    METADATA,
    sa.Column("id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
)

N_TECH = [f"n_tech_{i}" for i in range(14)]
"""Columns of ``analyses`` holding the number of spans of each technique (index into TECHNIQUES), so that
statistics without a confidence filter read one row per article instead of every span (version 2)."""

analyses = sa.Table(
    "analyses",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False),
    sa.Column("model", sa.Text, nullable=False),
    sa.Column("current", sa.Boolean, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("n_spans", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    *[sa.Column(c, sa.Integer, nullable=False, server_default="0") for c in N_TECH],
    sa.Index("ix_analyses_article_current", "article_id", "current"),
    sa.Index("ix_analyses_current_score", "current", "score"),
)

spans = sa.Table(
    "spans",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("analysis_id", sa.Integer, sa.ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("technique", sa.SmallInteger, nullable=False),  # index into propscope.TECHNIQUES
    sa.Column("confidence", sa.Float, nullable=False),
    sa.Index("ix_spans_analysis_technique", "analysis_id", "technique", "confidence"),
)

BANDS = 20
"""Confidence bands of ``confidence_counts``: band ``b`` counts the spans with confidence >= ``b / BANDS``
(0.05, 0.10, ... 1.0), so that statistics with such a minimum confidence read one row per article
(version 4)."""

confidence_counts = sa.Table(
    "confidence_counts",
    METADATA,
    sa.Column("analysis_id", sa.Integer, sa.ForeignKey("analyses.id", ondelete="CASCADE"), primary_key=True,
              autoincrement=False),
    sa.Column("band", sa.SmallInteger, primary_key=True, autoincrement=False),  # 1 .. BANDS
    sa.Column("n_spans", sa.Integer, nullable=False),  # spans with confidence >= band / BANDS
    *[sa.Column(c, sa.Integer, nullable=False) for c in N_TECH],  # the same per technique
    sqlite_with_rowid=False,
)
"""One row per analysis and band with at least one span at that confidence; no row means no such span."""

W_TECH = [f"with_tech_{i}" for i in range(14)]
"""Columns of ``daily_counts``: articles with at least one span of each technique (version 4)."""

daily_counts = sa.Table(
    "daily_counts",
    METADATA,
    sa.Column("day", sa.String(10), primary_key=True),  # published_date as YYYY-MM-DD; '' when unknown
    sa.Column("outlet_id", sa.Integer, primary_key=True, autoincrement=False),  # 0: no outlet
    sa.Column("articles", sa.Integer, nullable=False),
    sa.Column("words", sa.Integer, nullable=False),
    sa.Column("score_sum", sa.Float, nullable=False),
    sa.Column("scored", sa.Integer, nullable=False),  # articles with a score
    sa.Column("n_spans", sa.Integer, nullable=False),
    sa.Column("with_spans", sa.Integer, nullable=False),  # articles with at least one span
    *[sa.Column(c, sa.Integer, nullable=False) for c in N_TECH],
    *[sa.Column(c, sa.Integer, nullable=False) for c in W_TECH],
)
"""The current analyses summed per publication day and outlet, so that statistics without a keyword or a
confidence filter read one row per day and outlet instead of one per article (version 4). Kept by
``update_daily`` wherever an analysis becomes or stops being current; a group may be left at 0 articles."""

sentences = sa.Table(
    "sentences",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "analysis_id",
        sa.Integer,
        sa.ForeignKey("analyses.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    ),
    sa.Column("start", sa.Integer, nullable=False),
    sa.Column("end", sa.Integer, nullable=False),
    sa.Column("score", sa.Float, nullable=False),
    sa.Column("n_spans", sa.Integer, nullable=False),
)

reuse_links = sa.Table(  # text reuse found by `propscope trace --db` (version 3); replaced by each run
    "reuse_links",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("copy_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("direction", sa.String(16), nullable=False),  # dates | unknown
    sa.Column("kind", sa.String(16), nullable=False),  # verbatim | reworded | quotation
    sa.Column("share", sa.Float, nullable=False),
    sa.Column("source_share", sa.Float, nullable=False),
    sa.Column("similarity", sa.Float, nullable=False),
)

reuse_passages = sa.Table(  # the aligned passages of a link: character offsets into both texts (version 3)
    "reuse_passages",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("link_id", sa.Integer, sa.ForeignKey("reuse_links.id", ondelete="CASCADE"), nullable=False,
              index=True),
    sa.Column("source_start", sa.Integer, nullable=False),
    sa.Column("source_end", sa.Integer, nullable=False),
    sa.Column("copy_start", sa.Integer, nullable=False),
    sa.Column("copy_end", sa.Integer, nullable=False),
    sa.Column("similarity", sa.Float, nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
)

story_families = sa.Table(  # articles connected by reuse; origin: the single earliest member (version 3)
    "story_families",
    METADATA,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("origin_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="SET NULL")),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("links", sa.Integer, nullable=False),
)

family_members = sa.Table(
    "family_members",
    METADATA,
    sa.Column("family_id", sa.Integer, sa.ForeignKey("story_families.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("article_id", sa.Integer, sa.ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)

TRACE_TABLES = (reuse_links, reuse_passages, story_families, family_members)
"""The tables written by a trace run, in creation order."""

PG_FTS_EXPR = "to_tsvector('english', text)"
"""The PostgreSQL full-text expression; its GIN index and the queries must spell it identically."""


class StoreError(PropscopeError):
    """The store cannot be opened or used: not a database, a newer schema, locked, unreachable."""


def default_target() -> str:
    """``$PROPSCOPE_DB``, else ``propscope.db`` in the current folder."""
    return os.environ.get(DB_ENV) or DEFAULT_DB


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _fts_sqlite(conn: Connection) -> None:
    conn.exec_driver_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS articles_fts USING fts5(text, content='article_texts', "
        "content_rowid='id', tokenize='porter unicode61')"
    )


def _fts_postgres(conn: Connection) -> None:
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS ix_articles_fts ON article_texts USING gin ({PG_FTS_EXPR})")


def band_of(min_confidence: float) -> int | None:
    """The band ``b`` with ``b / BANDS == min_confidence`` exactly (0 .. BANDS), None between bands."""
    b = round(min_confidence * BANDS)
    return b if b / BANDS == min_confidence else None


def confidence_rows(analysis_id: int, spans_: Iterable[tuple[int, float]]) -> list[dict[str, int]]:
    """The ``confidence_counts`` rows of an analysis from its spans' ``(technique index, confidence)``."""
    hist = [[0] * (BANDS + 1) for _ in N_TECH]  # hist[t][b]: spans of t whose highest band reached is b
    for t, c in spans_:
        b = min(BANDS, max(0, int(c * BANDS)))
        while b < BANDS and c >= (b + 1) / BANDS:  # c * BANDS may round across a boundary: compare as SQL
            b += 1
        while b > 0 and c < b / BANDS:
            b -= 1
        hist[t][b] += 1
    rows = []
    above = [0] * len(N_TECH)
    for b in range(BANDS, 0, -1):
        for t in range(len(N_TECH)):
            above[t] += hist[t][b]
        if any(above):
            rows.append({"analysis_id": analysis_id, "band": b, "n_spans": sum(above),
                         **dict(zip(N_TECH, above, strict=True))})
    return rows


def fill_confidence_counts(conn: Connection, *, chunk: int = 5000) -> int:
    """Rewrite ``confidence_counts`` from the spans of every analysis, ``chunk`` analyses at a time;
    returns the number of rows written."""
    conn.execute(confidence_counts.delete())
    top = conn.execute(sa.select(sa.func.max(analyses.c.id))).scalar() or 0
    written = 0
    for lo in range(0, top, chunk):
        q = (sa.select(spans.c.analysis_id, spans.c.technique, spans.c.confidence)
             .where(spans.c.analysis_id > lo, spans.c.analysis_id <= lo + chunk))
        per: dict[int, list[tuple[int, float]]] = {}
        for an_id, t, c in conn.execute(q):
            per.setdefault(an_id, []).append((t, c))
        rows = [r for an_id, pairs in per.items() for r in confidence_rows(an_id, pairs)]
        if rows:
            conn.execute(confidence_counts.insert(), rows)
            written += len(rows)
    return written


def _daily_select(conn: Connection) -> sa.Select[Any]:
    """Current analyses summed per (day, outlet) in ``daily_counts``'s column order."""
    if conn.dialect.name == "postgresql":
        day: sa.ColumnElement[Any] = sa.func.to_char(articles.c.published_date, "YYYY-MM-DD")
    else:
        day = sa.cast(articles.c.published_date, sa.String)  # SQLite keeps a Date as YYYY-MM-DD text
    an = analyses.c

    def has(col: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
        return sa.func.sum(sa.case((col > 0, 1), else_=0))

    day_key = sa.func.coalesce(day, "").label("day")
    outlet_key = sa.func.coalesce(articles.c.outlet_id, 0).label("outlet_id")
    return (
        sa.select(day_key, outlet_key, sa.func.count(), sa.func.sum(articles.c.words),
                  sa.func.coalesce(sa.func.sum(an.score), 0.0), sa.func.count(an.score),
                  sa.func.sum(an.n_spans), has(an.n_spans), *[sa.func.sum(an[c]) for c in N_TECH],
                  *[has(an[c]) for c in N_TECH])
        .select_from(articles.join(analyses, an.article_id == articles.c.id))
        .where(an.current.is_(True))
        .group_by(day_key, outlet_key)
    )


_UPSERTS: dict[str, Any] = {}


def _daily_upsert(dialect: str) -> Any:
    """``INSERT ... ON CONFLICT (day, outlet_id) DO UPDATE`` adding the new values, built once per dialect."""
    if dialect not in _UPSERTS:
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        stmt = insert(daily_counts)
        _UPSERTS[dialect] = stmt.on_conflict_do_update(
            index_elements=["day", "outlet_id"],
            set_={c.name: c + stmt.excluded[c.name] for c in daily_counts.columns if not c.primary_key})
    return _UPSERTS[dialect]


_CURRENT = (
    sa.select(articles.c.published_date, articles.c.outlet_id, articles.c.words, analyses.c.score,
              analyses.c.n_spans, *[analyses.c[c] for c in N_TECH])
    .select_from(articles.join(analyses, analyses.c.article_id == articles.c.id))
    .where(articles.c.id.in_(sa.bindparam("ids", expanding=True)), analyses.c.current.is_(True))
)


def update_daily(conn: Connection, article_ids: Iterable[int] | None, sign: int) -> None:
    """Add (``sign`` 1) or take away (-1) the current analyses of ``article_ids`` (None: all, in one
    ``GROUP BY``) to or from ``daily_counts``: called with -1 before an analysis stops being current, with 1
    once the new one is."""
    cols = [c.name for c in daily_counts.columns]
    if article_ids is None:
        rows = [{k: v * sign if i >= 2 else v for i, (k, v) in enumerate(zip(cols, r, strict=True))}
                for r in conn.execute(_daily_select(conn))]
    else:
        ids = list(article_ids)
        rows = []
        for day, outlet_id, words, score, n, *per in (conn.execute(_CURRENT, {"ids": ids}) if ids else []):
            key = day.isoformat() if hasattr(day, "isoformat") else (day or "")
            vals = [1, words, score or 0.0, int(score is not None), n, int(n > 0), *per,
                    *[int(x > 0) for x in per]]
            rows.append({"day": key, "outlet_id": outlet_id or 0,
                         **{c: v * sign for c, v in zip(cols[2:], vals, strict=True)}})
    if rows:
        conn.execute(_daily_upsert(conn.dialect.name), rows)


def _create_extras(conn: Connection) -> None:
    """What ``METADATA`` cannot declare: the full-text index of each dialect."""
    if conn.dialect.name == "sqlite":
        _fts_sqlite(conn)
    elif conn.dialect.name == "postgresql":
        _fts_postgres(conn)


def _migrate_1_to_2(conn: Connection) -> None:
    """Version 2 moves texts to ``article_texts``, counts spans per technique in ``analyses`` and adds
    full-text search over the texts (FTS5 on SQLite, a GIN index on PostgreSQL)."""
    article_texts.create(conn)
    conn.exec_driver_sql("INSERT INTO article_texts (id, text) SELECT id, text FROM articles")
    conn.exec_driver_sql("ALTER TABLE articles DROP COLUMN text")
    for i, col in enumerate(N_TECH):
        conn.exec_driver_sql(f"ALTER TABLE analyses ADD COLUMN {col} INTEGER DEFAULT 0 NOT NULL")
        conn.exec_driver_sql(f"UPDATE analyses SET {col} = (SELECT count(*) FROM spans "
                             f"WHERE spans.analysis_id = analyses.id AND spans.technique = {i})")
    _create_extras(conn)
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')")


def _migrate_2_to_3(conn: Connection) -> None:
    """Version 3: an article is identified by its URL (else its content hash), so ``content_hash`` is no
    longer unique (an identical text under another URL is its own article); tables for trace results."""
    if conn.dialect.name == "sqlite":
        # SQLite cannot drop a UNIQUE constraint: rebuild the table (foreign keys are off, see _prepare)
        cols = ", ".join(f'"{c.name}"' for c in articles.columns)
        ddl = str(sa.schema.CreateTable(articles).compile(conn)).strip()
        conn.exec_driver_sql(ddl.replace("CREATE TABLE articles", "CREATE TABLE articles_v3", 1))
        conn.exec_driver_sql(f"INSERT INTO articles_v3 ({cols}) SELECT {cols} FROM articles")
        conn.exec_driver_sql("DROP TABLE articles")
        conn.exec_driver_sql("ALTER TABLE articles_v3 RENAME TO articles")
        for index in articles.indexes:
            index.create(conn)
    else:
        for uc in sa.inspect(conn).get_unique_constraints("articles"):
            if uc["column_names"] == ["content_hash"]:
                conn.exec_driver_sql(f'ALTER TABLE articles DROP CONSTRAINT "{uc["name"]}"')
        for index in articles.indexes:
            if [c.name for c in index.columns] == ["content_hash"]:
                index.create(conn)
    for table in TRACE_TABLES:
        table.create(conn)


def _migrate_3_to_4(conn: Connection) -> None:
    """Version 4: ``confidence_counts`` (spans per technique from each confidence band on, per analysis),
    filled from the spans of every analysis kept, and ``daily_counts`` (current analyses per day and
    outlet)."""
    confidence_counts.create(conn)
    fill_confidence_counts(conn)
    daily_counts.create(conn)
    update_daily(conn, None, 1)


MIGRATIONS: list[tuple[int, Callable[[Connection], None]]] = [
    (2, _migrate_1_to_2),
    (3, _migrate_2_to_3),
    (4, _migrate_3_to_4),
]
"""Forward-only steps: ``(version reached, function run inside one transaction)``, in order."""


@dataclass
class Store:
    """An open store: its engine, what it is called in messages, and helpers for transactions."""

    engine: Engine
    name: str

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reading (one transaction)."""
        with self._errors(), self.engine.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction, serialised with other writers (SQLite: BEGIN IMMEDIATE; PostgreSQL: an
        advisory lock); committed when the block ends, rolled back on an exception."""
        with self._errors(), self.engine.connect() as conn:
            if self.dialect == "sqlite":
                conn = conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                if self.dialect == "postgresql":
                    conn.exec_driver_sql("SELECT pg_advisory_xact_lock(4242001)")
                yield conn

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sa.exc.OperationalError as exc:
            raise StoreError(_explain(self.name, exc)) from None

    def close(self) -> None:
        self.engine.dispose()


def _explain(name: str, exc: BaseException) -> str:
    msg = str(getattr(exc, "orig", exc)).strip().splitlines()[0] if str(exc) else type(exc).__name__
    if "locked" in msg or "busy" in msg:
        return f"{name}: the store is locked by another writer ({msg}); try again when it has finished"
    if "not a database" in msg or "malformed" in msg:
        return f"{name}: not a propscope store ({msg})"
    return f"{name}: {msg}"


def _sqlite_engine(path: str, busy_timeout: float) -> Engine:
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=sa.pool.NullPool)

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA synchronous = NORMAL")
        if cur.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            cur.execute("PRAGMA journal_mode = WAL")  # readers go on while a writer writes
        cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(f"BEGIN {conn.get_execution_options().get('sqlite_begin', '')}".strip())

    return engine


def open_store(
    target: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0, create: bool = True
) -> Store:
    """Open (creating or migrating as needed) the store at ``target``: a SQLite path, a ``sqlite:///`` URL or
    a ``postgresql://`` URL; None means ``$PROPSCOPE_DB``, else ``./propscope.db``.

    Raises StoreError naming the store when it is not a database, of a newer schema, locked or unreachable.
    """
    raw = str(target) if target is not None else default_target()
    if raw.startswith(("postgresql://", "postgres://", "postgresql+psycopg://")):
        url = sa.engine.make_url(raw.replace("postgres://", "postgresql://", 1))
        url = url.set(drivername="postgresql+psycopg")
        name = url.render_as_string(hide_password=True)
        engine = sa.create_engine(url, pool_pre_ping=True)
    else:
        path = raw[len("sqlite:///") :] if raw.startswith("sqlite:///") else raw
        name = path
        p = Path(path)
        if p.is_dir():
            raise StoreError(f"{name}: is a directory, not a store file")
        if not p.exists():
            if not create:
                raise StoreError(f"{name}: no such store")
            if not p.parent.exists():
                raise StoreError(f"{name}: folder {p.parent} does not exist")
        engine = _sqlite_engine(path, busy_timeout)
    store = Store(engine, name)
    try:
        _prepare(store)
    except StoreError:
        store.close()
        raise
    except (sa.exc.DatabaseError, sqlite3.DatabaseError) as exc:
        store.close()
        raise StoreError(_explain(name, exc)) from None
    return store


def schema_version(conn: Connection) -> int | None:
    """The schema version stamped in the store, or None when it has no propscope tables."""
    if not sa.inspect(conn).has_table("propscope_meta"):
        return None
    row = conn.execute(sa.select(meta.c.value).where(meta.c.key == "schema_version")).first()
    return int(row[0]) if row else None


def _prepare(store: Store) -> None:
    if store.dialect == "sqlite":
        with store.read() as conn:
            version = schema_version(conn)
        if version is not None and version < SCHEMA_VERSION:
            _migrate_sqlite(store)
            return
    _prepare_in(store)


def _migrate_sqlite(store: Store) -> None:
    """Migrate a SQLite store with foreign keys off (as SQLite's table rebuild procedure asks), checked
    before the commit."""
    with store._errors(), store.engine.connect() as conn:
        conn.connection.dbapi_connection.execute("PRAGMA foreign_keys = OFF")  # outside a transaction
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            _migrate_in(store, conn)
            bad = conn.exec_driver_sql("PRAGMA foreign_key_check").first()
            if bad is not None:
                raise StoreError(f"{store.name}: migration left a broken reference in table {bad[0]}")


def _prepare_in(store: Store) -> None:
    with store.write() as conn:
        version = schema_version(conn)
        if version is None:
            tables = sa.inspect(conn).get_table_names()
            if tables:
                raise StoreError(
                    f"{store.name}: a database, but not a propscope store "
                    f"(it has other tables: {', '.join(sorted(tables)[:5])})"
                )
            METADATA.create_all(conn)
            _create_extras(conn)
            from .. import __version__

            conn.execute(
                meta.insert(),
                [
                    {"key": "schema_version", "value": str(SCHEMA_VERSION)},
                    {"key": "created_by", "value": f"propscope {__version__}"},
                    {"key": "created_at", "value": _now().isoformat(timespec="seconds")},
                ],
            )
            return
        _migrate_in(store, conn)


def _migrate_in(store: Store, conn: Connection) -> None:
    version = schema_version(conn)
    if version is not None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{store.name}: the store has schema version {version}, newer than this propscope supports "
                f"({SCHEMA_VERSION}); upgrade propscope (pip install -U propscope) to use it"
            )
        for target, step in MIGRATIONS:
            if version < target:
                step(conn)
                conn.execute(meta.update().where(meta.c.key == "schema_version").values(value=str(target)))
                version = target
