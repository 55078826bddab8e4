"""`propscope analyze` and `propscope techniques` (owned by the foundation work)."""

from __future__ import annotations

from . import app


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
