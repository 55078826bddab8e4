"""Compare designs of the sentence and article scores on a model's held-out train fold (its config's
``tune_ids``: articles it was not trained on) and report them on dev, the way the shipped design was chosen.

    python benchmarks/score_designs.py --model default --data ../shared/data/ptc

Sentence level: P/R/F1 of "the sentence holds a predicted span" and of a threshold on the sentence score
tuned on the fold. Article level: Spearman correlation with the gold density of technique characters of
the shipped score (confidence-weighted share of characters in spans), the unweighted share of characters in
spans, the mean sentence score (the first design), the share of flagged sentences and, with ``--tokens``, the
mean of the tagger's token probabilities of being inside a span (P(B) + P(I), over all tokens; this runs the
encoder a second time).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from propscope.detect.base import load_detector, resolve_model
from propscope.detect.scores import article_score, score_sentences, split_sentences
from propscope.evaluate import detect_all
from propscope.ptc import load_split
from propscope.scoring import gold_density, spearman


def _prf(gold: list[bool], pred: list[bool]) -> tuple[float, float, float]:
    tp = sum(g and p for g, p in zip(gold, pred, strict=True))
    p = tp / max(1, sum(pred))
    r = tp / max(1, sum(gold))
    return p, r, 2 * p * r / (p + r) if p + r else 0.0


def token_density(det, text: str) -> float:
    """Mean P(inside a span) of the tagger over the tokens of ``text``."""
    import numpy as np

    from propscope.detect.core import _softmax

    (enc, h), = det.core.hidden_states([text])
    if len(enc) == 0:
        return 0.0
    p = _softmax(det.core.heads.si_logits(h))
    return float(np.mean(p[:, 1] + p[:, 2]))


def measure(det, docs, tokens: bool = False) -> dict:
    preds = detect_all(det, [d.text for d in docs])
    gold_s, scores, designs = [], [], {"shipped": [], "span_chars": [], "mean_sentence": [], "flagged": []}
    density = []
    for d, ps in zip(docs, preds, strict=True):
        triples = [(p.start, p.end, p.confidence) for p in ps]
        sents = score_sentences(d.text, triples)
        gold_s += [any(a < e and b > s for a, b in d.si) for s, e in split_sentences(d.text)]
        scores += [x.score for x in sents]
        designs["shipped"].append(article_score(d.text, triples))
        designs["span_chars"].append(article_score(d.text, [(p.start, p.end, 1.0) for p in ps]))
        designs["mean_sentence"].append(sum(x.score for x in sents) / max(1, len(sents)))
        designs["flagged"].append(sum(x.n_spans > 0 for x in sents) / max(1, len(sents)))
        density.append(gold_density(d.text, d.si))
        if tokens:
            designs.setdefault("token_probability", []).append(token_density(det, d.text))
    return {"gold": gold_s, "scores": scores,
            "spearman": {k: spearman(v, density) for k, v in designs.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="default")
    ap.add_argument("--data", type=Path, default=Path("../shared/data/ptc"))
    ap.add_argument("--tokens", action="store_true", help="also the mean token probability (slower)")
    args = ap.parse_args()
    det = load_detector(args.model)
    tune = set(json.loads((resolve_model(args.model) / "config.json").read_text())["tune_ids"])
    fold = measure(det, [d for d in load_split(args.data / "train") if d.id in tune], args.tokens)
    dev = measure(det, load_split(args.data / "dev"), args.tokens)
    grid = [k / 100 for k in range(0, 90)]
    best = max(grid, key=lambda t: _prf(fold["gold"], [s > t for s in fold["scores"]])[2])
    print(f"{det.name}: held-out train fold {len(tune)} articles, dev")
    for name, rule in (("holds a span (score > 0)", 0.0), (f"score > {best:.2f} (tuned on the fold)", best)):
        f = _prf(fold["gold"], [s > rule for s in fold["scores"]])
        d = _prf(dev["gold"], [s > rule for s in dev["scores"]])
        print(f"sentences, {name}: fold F1 {f[2]:.3f}; dev P {d[0]:.3f} R {d[1]:.3f} F1 {d[2]:.3f}")
    for k in fold["spearman"]:
        print(f"article score {k}: Spearman fold {fold['spearman'][k]:.3f}, dev {dev['spearman'][k]:.3f}")


if __name__ == "__main__":
    main()
