"""`propscope serve` (owned by the web work): the REST API and the web page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from . import app

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}


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
) -> None:
    """Serve the web page (/) and the REST API (/api/v1/analyze, /docs) with the model loaded once."""
    import uvicorn

    from ..detect.base import load_detector
    from ..errors import ModelNotInstalledError
    from ..server.app import create_app

    try:
        detector = load_detector(model)
    except ModelNotInstalledError as e:
        typer.echo(f"propscope serve: {e}", err=True)
        raise typer.Exit(1) from None
    if host not in _LOOPBACK:
        typer.echo(f"propscope serve: warning: listening on {host}; other machines can reach this server "
                   "(it has no authentication).", err=True)
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"propscope serve: model {detector.name}; open http://{shown}:{port}/ (Ctrl+C stops)",
               err=True)
    uvicorn.run(create_app(detector, max_body_bytes=max_body_bytes, concurrent_analyses=concurrency),
                host=host, port=port, log_level=log_level)
