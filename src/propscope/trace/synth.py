"""Synthetic corpora with planted reuse of known extent, for the evaluation, the benchmark and tests.

Articles are made of sentences of pseudo-words drawn from a Zipf-distributed vocabulary; a share of them are
copies of an earlier article: a run of its sentences, verbatim or reworded (each word replaced, dropped or
followed by an inserted word with probability ``rate``), inside new text; others share only a quotation.
The planted passages' character offsets are kept, so that recall, precision and boundaries can be scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from .model import TraceInput

_SYL = [
    "ka",
    "lo",
    "mi",
    "ne",
    "ru",
    "sa",
    "ti",
    "vo",
    "de",
    "ba",
    "po",
    "gu",
    "fe",
    "zi",
    "an",
    "el",
    "or",
    "ust",
    "ri",
    "ma",
    "to",
    "ven",
    "sel",
    "dor",
    "lin",
    "pra",
    "ko",
    "mes",
    "tal",
    "ur",
]


@dataclass
class Planted:
    """One planted reuse: source and copy ids, kind, rewording rate, passages (src_s, src_e, cp_s, cp_e)."""

    source: str
    copy: str
    kind: str
    rate: float
    passages: list[tuple[int, int, int, int]] = field(default_factory=list)


class _Gen:
    def __init__(self, seed: int, vocab: int) -> None:
        self.rng = np.random.default_rng(seed)
        words = set()
        while len(words) < vocab:
            k = int(self.rng.integers(1, 5))
            words.add("".join(self.rng.choice(_SYL, size=k)))
        self.vocab = np.array(sorted(words))
        w = 1.0 / np.arange(1, vocab + 1) ** 1.05
        self.cdf = np.cumsum(w / w.sum())

    def draw(self, n: int) -> list[str]:
        """``n`` words drawn by Zipf frequency."""
        idx = np.minimum(np.searchsorted(self.cdf, self.rng.random(n)), len(self.vocab) - 1)
        return self.vocab[idx].tolist()

    def sentence(self) -> list[str]:
        return self.draw(int(self.rng.integers(8, 26)))

    def reword(self, sent: list[str], rate: float) -> list[str]:
        out: list[str] = []
        for w in sent:
            r = self.rng.random()
            if r < rate / 3:
                continue
            out.append(self.draw(1)[0] if r < 2 * rate / 3 else w)
            if rate * 2 / 3 <= r < rate:
                out.append(self.draw(1)[0])
        return out or sent[:1]


def _text(sentences: list[list[str]]) -> tuple[str, list[tuple[int, int]]]:
    """Title line, blank line, one sentence a line; and each sentence's character range (title excluded)."""
    parts, spans, pos = [], [], 0
    for k, s in enumerate(sentences):
        line = " ".join(s).capitalize() + "."
        if s and s[0].startswith("“"):
            line = " ".join(s) + ""
        parts.append(line)
        spans.append((pos, pos + len(line)))
        pos += len(line) + (2 if k == 0 else 1)
    return "\n\n".join([parts[0], "\n".join(parts[1:])]) if len(parts) > 1 else parts[0], spans[1:]


def synthetic_corpus(
    n: int,
    *,
    reuse: float = 0.01,
    seed: int = 0,
    vocab: int = 20000,
    rates: tuple[float, ...] = (0.0, 0.1, 0.2),
    quotation: float = 0.1,
    sentences: tuple[int, int] = (7, 22),
) -> tuple[list[TraceInput], list[Planted]]:
    """``n`` articles, ``reuse * n`` of them planted copies (a share ``quotation``: shared quotes)."""
    g = _Gen(seed, vocab)
    rng = g.rng
    n_plant = int(round(n * reuse))
    n_quote = int(round(n_plant * quotation))
    n_copy = n_plant - n_quote
    base = n - n_plant - n_quote  # quotation pairs need two new articles each
    day0 = date(2020, 1, 1)
    articles: list[TraceInput] = []
    bodies: list[list[list[str]]] = []
    for k in range(max(0, base)):
        sents = [g.sentence() for _ in range(int(rng.integers(*sentences)))]
        text, _ = _text(sents)
        bodies.append(sents)
        articles.append(
            TraceInput(
                id=f"a{k}",
                text=text,
                published=str(day0 + timedelta(int(rng.integers(0, 300)))),
                outlet=f"outlet{int(rng.integers(0, 50))}",
            )
        )
    planted: list[Planted] = []
    sources = rng.choice(len(bodies), size=min(n_copy, len(bodies)), replace=False)
    for c, s in enumerate(sources.tolist()):
        src = articles[s]
        sents = bodies[s]
        _, src_spans = _text(sents)
        rate = float(rng.choice(rates))
        body = sents[1:]
        m = len(body)
        if rng.random() < 0.5:
            lo, hi = 0, m  # the whole body
        else:
            length = int(rng.integers(3, max(4, m // 2 + 1)))
            lo = int(rng.integers(0, m - length + 1))
            hi = lo + length
        before = [g.sentence() for _ in range(int(rng.integers(0, 4)))]
        after = [g.sentence() for _ in range(int(rng.integers(0, 4)))]
        copied = [g.reword(x, rate) if rate else list(x) for x in body[lo:hi]]
        cp_sents = [g.sentence()] + before + copied + after
        text, spans = _text(cp_sents)
        cp_lo, cp_hi = spans[len(before)][0], spans[len(before) + len(copied) - 1][1] - 1
        s_lo, s_hi = src_spans[lo][0], src_spans[hi - 1][1] - 1
        d = date.fromisoformat(src.published or "2020-01-01") + timedelta(int(rng.integers(1, 30)))
        cid = f"c{c}"
        articles.append(
            TraceInput(id=cid, text=text, published=str(d), outlet=f"outlet{int(rng.integers(0, 50))}")
        )
        planted.append(
            Planted(src.id, cid, "verbatim" if rate == 0 else "reworded", rate, [(s_lo, s_hi, cp_lo, cp_hi)])
        )
    for q in range(n_quote):
        speech = [g.sentence() for _ in range(3)]
        quote = "“" + " ".join(" ".join(s).capitalize() + "." for s in speech) + "”"
        pair = []
        qday = int(rng.integers(0, 300))
        for side in range(2):
            sents = [g.sentence() for _ in range(int(rng.integers(5, 12)))]
            text, spans = _text(sents)
            cut = spans[len(spans) // 2][1]
            new = text[:cut] + "\n" + quote + " the minister said." + text[cut:]
            qid = f"q{q}{'ab'[side]}"
            pub = str(day0 + timedelta(qday + side))
            articles.append(
                TraceInput(id=qid, text=new, published=pub, outlet=f"outlet{int(rng.integers(0, 50))}")
            )
            pair.append((qid, cut + 1, cut + len(quote)))
        (a, a0, a1), (b, b0, b1) = pair
        planted.append(Planted(a, b, "quotation", 0.0, [(a0, a1, b0, b1)]))
    order = rng.permutation(len(articles))
    return [articles[k] for k in order], planted
