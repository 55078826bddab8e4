"""`propscope serve` (owned by the web work): the REST API and the web page."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
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
    allowed_host: Annotated[list[str] | None, typer.Option(
        "--allowed-host", metavar="NAME",
        help="Host name clients may use to reach the server (repeatable; '*' allows any). Default: the "
             "loopback names when bound to loopback, else the --host address; other names get 400.")] = None,
    request_timeout: Annotated[float, typer.Option(
        min=1, help="Seconds an analysis may take; past it the request gets 503 and the analysis stops.")
    ] = 120.0,
    max_chars: Annotated[int, typer.Option(
        min=0, help="Longest article analysed, in characters (0: no limit); longer ones get 422.")
    ] = 1_000_000,
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
    hosts = allowed_hosts(host, allowed_host or [])
    app_ = create_app(detector, max_body_bytes=max_body_bytes, concurrent_analyses=concurrency,
                      allowed_hosts=hosts, request_timeout=request_timeout, max_chars=max_chars or None,
                      options=options, corpus=corpus)
    try:
        with _stop_analyses_on_exit(app_):
            uvicorn.run(app_, host=host, port=port, log_level=log_level, timeout_keep_alive=5,
                        timeout_graceful_shutdown=SHUTDOWN_GRACE)
    finally:
        if corpus is not None:
            corpus.close()


@contextmanager
def _stop_analyses_on_exit(app_) -> Iterator[None]:
    """While serving, Ctrl+C (uvicorn's exit handler) also stops the running analyses at their next segment
    (they answer 503), so shutdown takes seconds; SHUTDOWN_GRACE later whatever still runs is cancelled."""
    import uvicorn

    from ..server.app import stop_analyses

    original = uvicorn.Server.handle_exit

    def handle_exit(self, sig, frame) -> None:
        stop_analyses(app_)
        original(self, sig, frame)

    uvicorn.Server.handle_exit = handle_exit  # type: ignore[method-assign]
    try:
        yield
    finally:
        uvicorn.Server.handle_exit = original  # type: ignore[method-assign]


SHUTDOWN_GRACE = 3
"""Seconds `propscope serve` waits for running requests on Ctrl+C before it cancels them."""


def allowed_hosts(host: str, extra: list[str]) -> tuple[str, ...]:
    """Host header names the server answers: loopback names for a loopback address, the address itself
    otherwise (any name for 0.0.0.0 / ::, which serve every interface), plus ``extra``."""
    from ..server.access import is_loopback
    from ..server.app import LOOPBACK_HOSTS

    if is_loopback(host):
        base: tuple[str, ...] = LOOPBACK_HOSTS
    elif host in ("0.0.0.0", "::", ""):
        base = () if extra else ("*",)
    else:
        base = (host,)
    return (*base, *extra)


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
