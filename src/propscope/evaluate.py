"""Run a detector over a PTC-style folder and score it with the SemEval definitions, plus the
sentence-level P/R/F1 and the article score's rank correlation with the gold technique density (no
cleaning: offsets refer to the files' raw text)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

from .calibrate import span_confidence_calibration
from .detect.base import Detector, SpanPrediction
from .detect.scores import article_score
from .ptc import PtcDocument
from .scoring import (
    SentenceLevelScore,
    SiScore,
    TcScore,
    gold_density,
    score_sentence_level,
    score_si,
    score_tc,
    spearman,
)

Progress = Callable[[int], None]


def detect_all(detector: Detector, texts: Sequence[str], batch: int = 16,
               progress: Progress | None = None) -> list[list[SpanPrediction]]:
    """The detector's spans for each text, ``batch`` texts per call."""
    out: list[list[SpanPrediction]] = []
    for k in range(0, len(texts), batch):
        out.extend(detector.detect(texts[k : k + batch]))
        if progress:
            progress(len(texts[k : k + batch]))
    return out


def _si_rows(ids: Sequence[str], preds: Sequence[Sequence[SpanPrediction]]) -> list[tuple[str, int, int]]:
    rows: list[tuple[str, int, int]] = []
    for aid, ps in zip(ids, preds, strict=True):
        rows.extend(sorted({(aid, p.start, p.end) for p in ps}, key=lambda r: (r[1], r[2])))
    return rows


def predict_si(detector: Detector, ids: Sequence[str], texts: Sequence[str], batch: int = 16,
               progress: Progress | None = None) -> list[tuple[str, int, int]]:
    """SI rows ``(id, start, end)`` for each article (overlapping spans merged by the scorer)."""
    return _si_rows(ids, detect_all(detector, texts, batch, progress))


def classify_groups(detector: Detector, texts: dict[str, str], template: Sequence[tuple[str, str, int, int]],
                    batch: int = 16, progress: Progress | None = None
                    ) -> tuple[dict[tuple[str, int, int], dict[str, float]], dict[tuple[str, int, int], int]]:
    """Technique probabilities for each distinct (id, start, end) of the template, and how many template
    rows each has."""
    groups: dict[str, dict[tuple[int, int], int]] = defaultdict(dict)
    for aid, _t, s, e in template:
        if aid not in texts:
            raise KeyError(f"template row for article {aid}, which is not in the articles folder")
        groups[aid][(s, e)] = groups[aid].get((s, e), 0) + 1
    probs: dict[tuple[str, int, int], dict[str, float]] = {}
    aids = list(groups)
    for k in range(0, len(aids), batch):
        chunk = aids[k : k + batch]
        spans = [list(groups[a]) for a in chunk]
        for aid, sp, pr in zip(chunk, spans, detector.classify([texts[a] for a in chunk], spans),
                               strict=True):
            for (s, e), p in zip(sp, pr, strict=True):
                probs[(aid, s, e)] = p
        if progress:
            progress(len(chunk))
    counts = {(aid, s, e): n for aid, g in groups.items() for (s, e), n in g.items()}
    return probs, counts


def _rows_from_probs(template, probs, counts) -> list[tuple[str, str, int, int]]:
    answer = {key: sorted(p, key=p.__getitem__, reverse=True)[: counts[key]] for key, p in probs.items()}
    out, used = [], defaultdict(int)
    for aid, _t, s, e in template:
        ranked = answer[(aid, s, e)]
        i = used[(aid, s, e)]
        used[(aid, s, e)] += 1
        out.append((aid, ranked[min(i, len(ranked) - 1)], s, e))
    return out


def predict_tc(detector: Detector, texts: dict[str, str], template: Sequence[tuple[str, str, int, int]],
               batch: int = 16, progress: Progress | None = None) -> list[tuple[str, str, int, int]]:
    """One technique per template row. Rows with the same (id, start, end) get the top-k techniques."""
    probs, counts = classify_groups(detector, texts, template, batch, progress)
    return _rows_from_probs(template, probs, counts)


def calibration_error(probs: dict[tuple[str, int, int], dict[str, float]],
                      gold: Sequence[tuple[str, str, int, int]], bins: int = 10) -> float:
    """Expected calibration error of the top technique's probability: over span groups binned by that
    probability, the mean |probability - share of groups whose gold labels include the technique|."""
    labels: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    for aid, t, s, e in gold:
        labels[(aid, s, e)].add(t)
    conf, hit = [], []
    for key, p in probs.items():
        top = max(p, key=p.__getitem__)
        conf.append(p[top])
        hit.append(top in labels[key])
    if not conf:
        return 0.0
    total = 0.0
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, c in enumerate(conf) if lo <= c < hi or (b == bins - 1 and c == 1.0)]
        if idx:
            gap = abs(sum(conf[i] for i in idx) / len(idx) - sum(hit[i] for i in idx) / len(idx))
            total += len(idx) / len(conf) * gap
    return total


@dataclass
class Evaluation:
    si: SiScore
    tc: TcScore
    n_articles: int
    tc_calibration_error: float = 0.0
    sentences: SentenceLevelScore | None = None
    article_spearman: float = 0.0
    confidence_calibration_error: float = 0.0
    confidence_reliability: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"n_articles": self.n_articles, "si": asdict(self.si),
                "sentences": asdict(self.sentences) if self.sentences else None,
                "article_score_spearman": round(self.article_spearman, 4),
                "confidence": {"calibration_error": round(self.confidence_calibration_error, 4),
                               "reliability": self.confidence_reliability},
                "tc": {"micro_f1": self.tc.micro_f1, "matched": self.tc.matched, "n_gold": self.tc.n_gold,
                       "calibration_error": round(self.tc_calibration_error, 4),
                       "per_technique": self.tc.per_technique}}


def evaluate_docs(detector: Detector, docs: Sequence[PtcDocument],
                  progress: Progress | None = None) -> Evaluation:
    ids = [d.id for d in docs]
    texts = [d.text for d in docs]
    preds = detect_all(detector, texts, progress=progress)
    si_gold = [(d.id, s, e) for d in docs for s, e in d.si]
    tc_gold = [(d.id, x.technique, x.start, x.end) for d in docs for x in d.tc]
    probs, counts = classify_groups(detector, dict(zip(ids, texts, strict=True)), tc_gold)
    tc_pred = _rows_from_probs(tc_gold, probs, counts)
    sentences = score_sentence_level(
        (d.text, [(p.start, p.end) for p in ps], d.si) for d, ps in zip(docs, preds, strict=True))
    article = [article_score(d.text, [(p.start, p.end, p.confidence) for p in ps])
               for d, ps in zip(docs, preds, strict=True)]
    density = [gold_density(d.text, d.si) for d in docs]
    ece, table = span_confidence_calibration(preds, docs)
    return Evaluation(score_si(_si_rows(ids, preds), si_gold), score_tc(tc_pred, tc_gold), len(docs),
                      calibration_error(probs, tc_gold), sentences, spearman(article, density), ece, table)
