"""The `propscope` command. Each group of commands lives in its own module and registers on ``app``."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="propscope",
    help="Find and label propaganda techniques in news articles.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", help="Print the version and exit.", is_eager=True),
) -> None:
    """Find and label propaganda techniques in news articles."""
    if version:
        from .. import __version__

        typer.echo(f"propscope {__version__}")
        raise typer.Exit()


def _register() -> None:
    # Importing these modules registers their commands; each keeps heavy imports inside its commands.
    from . import analyze as _analyze  # noqa: F401
    from . import corpus as _corpus  # noqa: F401
    from . import crawl as _crawl  # noqa: F401
    from . import model as _model  # noqa: F401
    from . import score as _score  # noqa: F401
    from . import serve as _serve  # noqa: F401
    from . import trace as _trace  # noqa: F401


def main() -> None:
    _register()
    app()
