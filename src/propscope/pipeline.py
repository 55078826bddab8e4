"""Article -> detect -> Analysis."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from .detect.base import Detector, SpanPrediction, load_detector
from .detect.scores import article_score, score_sentences
from .schema import Analysis, Article, Sentence, Span


def to_analysis(
    article: Article, predictions: Iterable[SpanPrediction], detector_name: str | None
) -> Analysis:
    """Build an Analysis from a detector's SpanPredictions for ``article``."""
    text = article.text
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


def analyze_articles(articles: Sequence[Article], detector: Detector | None = None) -> list[Analysis]:
    """Analyse several articles in one batch (the detector batches across them)."""
    det = detector if detector is not None else load_detector()
    preds = det.detect([a.text for a in articles])
    return [to_analysis(a, p, det.name) for a, p in zip(articles, preds, strict=True)]
