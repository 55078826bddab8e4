"""`propscope serve` (owned by the web work): the REST API and the web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app


@app.command()
def serve(
    host: Annotated[str, typer.Option(
        help="Address to bind. The default serves this machine only.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8000,
    model: Annotated[Path | None, typer.Option(
        help="Model folder or shipped model's name: default, fast (unset: $PROPSCOPE_MODEL, else default)."
    )] = None,
    max_body_bytes: Annotated[int, typer.Option(help="Larger request bodies get 413.")] = 2_000_000,
    concurrency: Annotated[int | None, typer.Option(
        help="Analyses run at the same time (default: $PROPSCOPE_SERVE_CONCURRENCY, else 2 x CPUs, max 8).",
        min=1)] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level: debug, info, warning...")] = "info",
    token: Annotated[str | None, typer.Option(
        help="Access token that analysis and fetches must send (Authorization: Bearer TOKEN); default "
             "$PROPSCOPE_TOKEN. Required when --host is not a loopback address.")] = None,
    allow_fetch: Annotated[bool, typer.Option(
        "--allow-fetch", help="Let the page and POST /api/v1/fetch have the server download a URL.")] = False,
    allow_private: Annotated[bool, typer.Option(
        "--allow-private", help="With --allow-fetch: also fetch private, loopback and link-local addresses."
    )] = False,
    fetches_per_minute: Annotated[int, typer.Option(
        help="With --allow-fetch: at most this many fetches a minute from one client.", min=1)] = 10,
    db: Annotated[str | None, typer.Option(
        "--db", help="Corpus store for the Explore view and /api/v1/corpus: a SQLite file or a postgresql:// "
                     "URL. Default: $PROPSCOPE_DB, else ./propscope.db when it exists.")] = None,
) -> None:
    """Serve the web page (/) and the REST API (/api/v1/analyze, /docs) with the model loaded once."""
    import uvicorn

    from ..detect.base import load_detector
    from ..errors import ModelNotInstalledError
    from ..server.access import TOKEN_ENV, ServeOptions, is_loopback, token_from
    from ..server.app import create_app

    secret = token_from(token)
    if secret is None and not is_loopback(host):
        typer.echo(f"propscope serve: listening on {host} lets other machines in, so a token is required: "
                   f"give --token TOKEN or set ${TOKEN_ENV} (for example to the output of "
                   "`python -c 'import secrets; print(secrets.token_urlsafe())'`)", err=True)
        raise typer.Exit(2)
    if allow_private and not allow_fetch:
        typer.echo("propscope serve: --allow-private has no effect without --allow-fetch", err=True)
    options = ServeOptions(token=secret, allow_fetch=allow_fetch, allow_private=allow_private,
                           fetches_per_minute=fetches_per_minute)
    corpus = _open_corpus(db)
    try:
        detector = load_detector(model)
    except ModelNotInstalledError as e:
        typer.echo(f"propscope serve: {e}", err=True)
        raise typer.Exit(1) from None
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"propscope serve: model {detector.name}; open http://{shown}:{port}/ (Ctrl+C stops)"
               + ("; the page asks for the token" if secret else "")
               + ("; URL fetching on" if allow_fetch else ""), err=True)
    try:
        uvicorn.run(create_app(detector, max_body_bytes=max_body_bytes, concurrent_analyses=concurrency,
                               options=options, corpus=corpus),
                    host=host, port=port, log_level=log_level)
    finally:
        if corpus is not None:
            corpus.close()


def _open_corpus(db: str | None):  # -> Corpus | None
    """The store named by --db or $PROPSCOPE_DB (an error when it cannot be opened), else ./propscope.db
    when it exists, else None (the page then says how to make one)."""
    import os

    from ..corpus.store import DB_ENV, DEFAULT_DB
    from ..errors import PropscopeError

    target = db or os.environ.get(DB_ENV)
    if target is None and not Path(DEFAULT_DB).is_file():
        typer.echo("propscope serve: no corpus store, so no Explore view: make one with "
                   "`propscope ingest FILES...` (./propscope.db) or give --db", err=True)
        return None
    from ..corpus import Corpus

    try:
        corpus = Corpus(target or DEFAULT_DB, create=False)
    except PropscopeError as e:
        typer.echo(f"propscope serve: error: {e}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"propscope serve: corpus store {corpus.name} ({corpus.count():,} articles): Explore view on",
               err=True)
    return corpus
