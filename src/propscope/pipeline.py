"""Article -> detect -> Analysis, with the per-article length limit, progress and cancellation."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from .detect.base import Detector, SpanPrediction, load_detector
from .detect.scores import article_score, score_sentences
from .errors import InputError, PropscopeError
from .lang import language_warning
from .schema import Analysis, Article, Sentence, Span

MAX_ARTICLE_CHARS = 1_000_000
"""Longest article (in characters) analysed by default: about a minute on 2 CPU cores with the default model
(docs/limits.md). ``propscope analyze --max-chars`` and ``propscope serve --max-chars`` change it."""

SEGMENT_CHARS = 50_000
"""Long articles are analysed in segments of at most this many characters, cut at line ends (the same cut
as ``propscope.detect.core.split_segments``), with progress and cancellation between segments."""

Progress = Callable[[int], None]
"""Called with the number of characters just analysed."""


class AnalysisCancelled(PropscopeError):
    """The analysis was stopped from outside (client gone, time limit, shutdown)."""


def check_length(article: Article, max_chars: int | None = MAX_ARTICLE_CHARS, *, option: str = "--max-chars"
                 ) -> None:
    """Raise InputError naming the article when its text is longer than ``max_chars`` (None: no limit)."""
    n = len(article.text)
    if max_chars is not None and n > max_chars:
        raise InputError(article.source or article.id,
                         f"article too long ({n:,} characters; the limit is {max_chars:,}, about a minute of "
                         f"analysis per million characters on 2 cores; raise it with {option})")


def to_analysis(
    article: Article, predictions: Iterable[SpanPrediction], detector_name: str | None,
    *, lang: str | None = None,
) -> Analysis:
    """Build an Analysis from a detector's SpanPredictions for ``article``; ``lang`` is the declared language
    (None: identified from the text), and a language other than English adds a warning."""
    text = article.text
    language, warning = language_warning(text, lang)
    if language != article.language or warning:
        warnings = [*article.warnings, warning] if warning else article.warnings
        article = article.model_copy(update={"language": language, "warnings": warnings})
    spans = [
        Span(start=p.start, end=p.end, technique=p.technique,
             confidence=round(float(p.confidence), 4), text=text[p.start:p.end])
        for p in predictions
    ]
    triples = [(s.start, s.end, s.confidence) for s in spans]
    sentences = [Sentence(start=x.start, end=x.end, score=x.score, n_spans=x.n_spans)
                 for x in score_sentences(text, triples)]
    return Analysis(article=article, spans=spans, model=detector_name, sentences=sentences,
                    score=article_score(text, triples))


def detect_text(
    detector: Detector, text: str, *, progress: Progress | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> list[SpanPrediction]:
    """The detector's spans for one text, segment by segment when it is long (same result as one call),
    reporting progress and stopping with AnalysisCancelled when ``cancelled()`` turns true."""
    from .detect.core import split_segments

    preds: list[SpanPrediction] = []
    for off, seg in split_segments(text, SEGMENT_CHARS):
        if cancelled is not None and cancelled():
            raise AnalysisCancelled("analysis cancelled")
        preds.extend(SpanPrediction(p.start + off, p.end + off, p.technique, p.confidence)
                     for p in detector.detect([seg])[0])
        if progress is not None:
            progress(len(seg))
    preds.sort(key=lambda x: (x.start, x.end, x.technique))
    return preds


def analyze_articles(
    articles: Sequence[Article], detector: Detector | None = None, *, lang: str | None = None,
    progress: Progress | None = None,
) -> list[Analysis]:
    """Analyse several articles: short ones in one batch (the detector batches across them), long ones
    segment by segment with ``progress`` after each segment."""
    det = detector if detector is not None else load_detector()
    preds: list[list[SpanPrediction] | None] = [None] * len(articles)
    short = [i for i, a in enumerate(articles) if len(a.text) <= SEGMENT_CHARS]
    if short:
        for i, p in zip(short, det.detect([articles[i].text for i in short]), strict=True):
            preds[i] = p
        if progress is not None:
            progress(sum(len(articles[i].text) for i in short))
    for i, a in enumerate(articles):
        if preds[i] is None:
            preds[i] = detect_text(det, a.text, progress=progress)
    return [to_analysis(a, p or [], det.name, lang=lang) for a, p in zip(articles, preds, strict=True)]
