"""propscope: find and label propaganda techniques in news articles, offline, on a CPU.

    >>> import propscope
    >>> article = propscope.read("examples/idlib-truce.txt")
    >>> analysis = propscope.analyze(article)
    >>> [(s.technique, s.text) for s in analysis.spans]

Importing propscope is cheap: models load on first use.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

# Load the ``propscope.read`` module now, so that the ``read`` function defined below keeps the name
# (importing a submodule later would replace the package attribute ``read`` with the module).
from . import read as _read_module  # noqa: F401  (cheap: trafilatura loads on first HTML read)
from .detect.base import Detector, load_detector
from .errors import InputError, ModelNotInstalledError, PropscopeError
from .schema import SCHEMA_VERSION, Analysis, Article, CleaningReport, Span
from .techniques import TECHNIQUES

if TYPE_CHECKING:
    from collections.abc import Iterable

    from .corpus.api import Corpus
    from .trace import TraceInput, TraceParams, TraceResult

__version__ = "0.1.0"

__all__ = [
    "SCHEMA_VERSION", "TECHNIQUES", "Analysis", "Article", "CleaningReport", "Corpus", "Detector",
    "InputError", "ModelNotInstalledError", "PropscopeError", "Span", "analyze", "load_detector", "read",
    "trace_reuse",
    "__version__",
]


def read(source: str | os.PathLike[str], *, clean: bool = True) -> Article:
    """Read one article from a file path, or from a string of text or HTML.

    A ``str`` that names an existing file is read as that file; any other string is taken as the
    article itself (HTML when it looks like HTML, else plain text: title line, blank line, body).
    """
    from .read import read_one

    return read_one(source, clean=clean)


def analyze(
    article: Article | str | os.PathLike[str],
    *,
    detector: Detector | None = None,
    clean: bool = True,
) -> Analysis:
    """Analyse one article (an Article, a path, or text/HTML) and return its Analysis."""
    from .pipeline import analyze_articles

    if not isinstance(article, Article):
        article = read(article if isinstance(article, str) else Path(article), clean=clean)
    return analyze_articles([article], detector)[0]


def trace_reuse(
    articles: Iterable[Article | TraceInput | str | os.PathLike[str]],
    *,
    params: TraceParams | None = None,
    clean: bool = True,
) -> TraceResult:
    """Find which articles reuse text from which: aligned passages, reuse share, kind, direction and story
    families (``propscope.trace.trace``; see docs/trace.md).

    ``articles``: Article or TraceInput objects, and/or paths (files, folders, JSONL) read as
    ``propscope trace`` reads them; an unreadable path raises InputError. Named ``trace_reuse`` because
    ``propscope.trace`` is the subpackage. For stored articles use ``Corpus.trace()``.
    """
    from .read import iter_articles
    from .trace import TraceInput, trace

    items: list[Article | TraceInput] = []
    for a in articles:
        if isinstance(a, Article | TraceInput):
            items.append(a)
            continue
        for got in iter_articles([a], clean=clean):
            if isinstance(got, InputError):
                raise got
            items.append(got)
    return trace(items, params)


def __getattr__(name: str) -> Any:
    """``propscope.Corpus`` loads the corpus store (and SQLAlchemy) on first use only."""
    if name == "Corpus":
        from .corpus.api import Corpus

        return Corpus
    raise AttributeError(f"module 'propscope' has no attribute {name!r}")
