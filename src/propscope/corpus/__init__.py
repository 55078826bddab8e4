"""The corpus store: ingest analysed articles into SQLite or PostgreSQL and query them (see docs/corpus.md).

``Corpus`` (api.py) is the entry point; ``Filters`` (filters.py, no SQL) is the one filter value shared by
the CLI, the Python API and the REST API. Submodules import SQLAlchemy; ``propscope`` imports none of them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .filters import FilterError, Filters

if TYPE_CHECKING:
    from .api import Corpus
    from .store import StoreError

__all__ = ["Corpus", "FilterError", "Filters", "StoreError"]


def __getattr__(name: str) -> Any:
    if name == "Corpus":
        from .api import Corpus

        return Corpus
    if name == "StoreError":
        from .store import StoreError

        return StoreError
    raise AttributeError(name)
