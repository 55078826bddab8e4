"""Sentence splitting, sentence and article scores, and the sentence-level and rank-correlation measures,
on hand-made inputs whose answers are worked out by hand."""

from __future__ import annotations

import pytest

from propscope.detect.scores import (
    article_score,
    score_sentences,
    span_probabilities,
    split_sentences,
)
from propscope.pipeline import to_analysis
from propscope.read import article_from_text
from propscope.scoring import gold_density, score_sentence_level, spearman


def _pieces(text: str) -> list[str]:
    return [text[s:e] for s, e in split_sentences(text)]


def test_split_sentences_offsets_are_exact():
    text = "Title line\n\n  First one. Second one!  Third?\"  Fourth\n"
    assert split_sentences(text) == [(0, 10), (14, 24), (25, 36), (38, 45), (47, 53)]
    assert _pieces(text) == ["Title line", "First one.", "Second one!", 'Third?"', "Fourth"]


def test_split_sentences_keeps_abbreviations_and_initials():
    text = "Mr. Smith met Dr. Jones in the U.S. yesterday. George W. Bush said so... Then he left."
    assert _pieces(text) == ["Mr. Smith met Dr. Jones in the U.S. yesterday.", "George W. Bush said so...",
                             "Then he left."]


def test_split_sentences_edge_cases():
    assert split_sentences("") == []
    assert split_sentences(" \n\n \t") == []
    assert split_sentences("no final stop") == [(0, 13)]
    # a period not followed by whitespace (numbers, URLs) ends nothing
    assert _pieces("It rose 3.5% at example.com today. Yes.") == [
        "It rose 3.5% at example.com today.", "Yes."]
    # a line break always ends a sentence, even after an abbreviation
    assert _pieces("Ask Mr.\nNobody") == ["Ask Mr.", "Nobody"]


def test_span_probabilities_sum_the_labels_of_one_span_and_cap_at_one():
    p = span_probabilities([(0, 5, 0.3), (0, 5, 0.2), (7, 9, 0.7), (7, 9, 0.6)])
    assert p == {(0, 5): pytest.approx(0.5), (7, 9): 1.0}


def test_sentence_score_is_one_minus_product_over_distinct_spans():
    text = "Aaaa bbbb. Cccc dddd. Eeee."
    # sentence 1 (0-10): spans 0-4 (0.5, labels 0.3 + 0.2) and 5-9 (0.4); sentence 2 (11-21): a span
    # running from sentence 1 into it (8-13, 0.2); sentence 3: nothing
    spans = [(0, 4, 0.3), (0, 4, 0.2), (5, 9, 0.4), (8, 13, 0.2)]
    s1, s2, s3 = score_sentences(text, spans)
    assert (s1.start, s1.end, s2.start, s2.end, s3.start, s3.end) == (0, 10, 11, 21, 22, 27)
    assert s1.score == pytest.approx(1 - 0.5 * 0.6 * 0.8)
    assert s1.n_spans == 4  # labels, as listed in Analysis.spans
    assert s2.score == pytest.approx(0.2) and s2.n_spans == 1
    assert s3.score == 0.0 and s3.n_spans == 0


def test_article_score_is_confidence_weighted_character_share():
    text = "ab cd\nef gh"  # 8 non-whitespace characters
    # "ab" at 0.5 and "cd" covered twice (0.25 and 1.0 from two labels 0.6 + 0.6 capped): max per char
    spans = [(0, 2, 0.5), (3, 5, 0.25), (2, 5, 0.6), (2, 5, 0.6)]
    assert article_score(text, spans) == pytest.approx((2 * 0.5 + 2 * 1.0) / 8)
    assert article_score(text, []) == 0.0
    assert article_score("   ", []) == 0.0
    assert article_score("abcd", [(0, 4, 1.0)]) == 1.0


def test_analysis_carries_sentences_and_score():
    from conftest import FakeDetector

    article = article_from_text("Headline\n\nThe terrorists came. Nothing else happened here.", id="x",
                                clean=False)
    det = FakeDetector()
    a = to_analysis(article, det.detect([article.text])[0], det.name)
    assert [article.text[s.start:s.end] for s in a.sentences] == [
        "Headline", "The terrorists came.", "Nothing else happened here."]
    assert [s.n_spans for s in a.sentences] == [0, 1, 0]
    assert a.sentences[1].score == pytest.approx(0.9)
    nonspace = sum(not c.isspace() for c in article.text)
    assert a.score == pytest.approx(round(0.9 * len("terrorists") / nonspace, 4))


def test_sentence_level_prf_counts_sentences_not_spans():
    text = "One two. Three four. Five six. Seven."
    # sentences: 0-8, 9-20, 21-30, 31-37
    gold = [(0, 3), (4, 7), (21, 25)]  # two spans in sentence 1, one in sentence 3
    pred = [(9, 14), (26, 29), (31, 36)]  # sentences 2, 3, 4
    r = score_sentence_level([(text, pred, gold)])
    assert (r.n_sentences, r.n_gold, r.n_pred) == (4, 2, 3)
    assert r.precision == pytest.approx(1 / 3) and r.recall == pytest.approx(1 / 2)
    assert r.f1 == pytest.approx(2 * (1 / 3) * (1 / 2) / (1 / 3 + 1 / 2))
    empty = score_sentence_level([("Nothing here.", [], [])])
    assert (empty.precision, empty.recall, empty.f1, empty.n_sentences) == (0.0, 0.0, 0.0, 1)


def test_gold_density_ignores_whitespace_and_overlaps():
    assert gold_density("ab cd", [(0, 2), (1, 4)]) == pytest.approx(3 / 4)
    assert gold_density("", []) == 0.0


def test_spearman_matches_hand_computed_values():
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1.0)
    assert spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # no ties: 1 - 6 sum d^2 / (n (n^2 - 1)); ranks y = 1, 3, 2, 4 -> sum d^2 = 2
    assert spearman([1, 2, 3, 4], [1, 30, 20, 40]) == pytest.approx(1 - 6 * 2 / (4 * 15))
    # ties take their mean rank: x ranks 1, 2.5, 2.5, 4 against 1, 2, 3, 4
    assert spearman([1, 5, 5, 9], [1, 2, 3, 4]) == pytest.approx(4.5 / (4.5 * 5) ** 0.5)
    assert spearman([1, 1, 1], [1, 2, 3]) == 0.0
    assert spearman([1], [2]) == 0.0
    with pytest.raises(ValueError):
        spearman([1, 2], [1])


def test_sentence_scores_match_a_brute_force_count_on_random_spans():
    import random

    rng = random.Random(7)
    words = ["alpha", "beta.", "gamma!", "delta", "\n", "eps?", "zeta"]
    text = " ".join(rng.choice(words) for _ in range(400))
    spans = []
    for _ in range(150):
        a = rng.randrange(len(text) - 1)
        b = min(len(text), a + rng.randrange(1, 60))
        spans.append((a, b, round(rng.random(), 3)))
    spans += [(a, b, 0.1) for a, b, _c in spans[:20]]  # second labels of some spans
    probs = span_probabilities(spans)
    for x in score_sentences(text, spans):
        miss = 1.0
        for (a, b), p in probs.items():
            if a < x.end and b > x.start:
                miss *= 1 - p
        assert x.score == pytest.approx(round(1 - miss, 4))
        assert x.n_spans == sum(1 for a, b, _c in spans if a < x.end and b > x.start)


def test_scores_of_a_long_text_take_linear_time():
    import time

    text = "A loaded sentence here. " * 40_000  # about 1 MB, 40,000 sentences
    spans = [(24 * k + 2, 24 * k + 8, 0.5) for k in range(0, 40_000, 2)]
    t = time.perf_counter()
    scored = score_sentences(text, spans)
    score = article_score(text, spans)
    assert time.perf_counter() - t < 20  # the quadratic version took hours
    assert len(scored) == 40_000 and scored[0].score == 0.5 and scored[1].score == 0.0
    assert score == pytest.approx(20_000 * 6 * 0.5 / (40_000 * 20), abs=1e-4)
