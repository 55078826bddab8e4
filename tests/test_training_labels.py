"""Training labels with the shipped tokenizer: BIO token labels and span token indices for known character
spans, edges included (a token that only touches a span is outside it). Needs no torch."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from propscope.detect.windows import encode
from propscope.ptc import PtcDocument, TcLabel
from propscope.techniques import TECHNIQUES
from propscope_train.data import B, I, O, build_examples, token_labels

TOKENIZER = Path(__file__).resolve().parents[1] / "src/propscope/models/default/tokenizer.json"
TEXT = "The corrupt elites lie.\nPutinism, again!"
# tokens:  the(0,3) corrupt(4,11) elites(12,18) lie(19,22) .(22,23) putin(24,29) ##ism(29,32) ,(32,33)
#          again(34,39) !(39,40)
CLS, SEP = 101, 102


@pytest.fixture(scope="module")
def tok():
    from tokenizers import Tokenizer

    return Tokenizer.from_file(str(TOKENIZER))


@pytest.fixture(scope="module")
def offsets(tok) -> np.ndarray:
    (enc,) = encode(tok, [TEXT])
    assert enc.offsets.tolist() == [[0, 3], [4, 11], [12, 18], [19, 22], [22, 23], [24, 29], [29, 32],
                                    [32, 33], [34, 39], [39, 40]], "the shipped tokenizer changed"
    return enc.offsets


def labels(offsets, *spans) -> list[int]:
    return token_labels(offsets, list(spans)).tolist()


def test_a_span_of_two_words_is_b_then_i(offsets):
    assert labels(offsets, (4, 18)) == [O, B, I, O, O, O, O, O, O, O]


def test_tokens_touching_a_span_edge_are_outside(offsets):
    # "lie" is 19-22; "." starts at 22 where the span ends, so it is outside
    assert labels(offsets, (19, 22)) == [O, O, O, B, O, O, O, O, O, O]
    # "." is 22-23; "lie" ends at 22 where the span starts, so it is outside
    assert labels(offsets, (22, 23)) == [O, O, O, O, B, O, O, O, O, O]
    # a span of the space between two words holds no token
    assert labels(offsets, (11, 12)) == [O] * 10


def test_a_span_cutting_a_word_takes_every_token_it_overlaps(offsets):
    # 26-31 lies inside "Putinism" (putin 24-29, ##ism 29-32)
    assert labels(offsets, (26, 31)) == [O, O, O, O, O, B, I, O, O, O]
    # one character of "elites" is enough
    assert labels(offsets, (17, 18)) == [O, O, B, O, O, O, O, O, O, O]


def test_overlapping_spans_merge_and_touching_spans_stay_apart(offsets):
    assert labels(offsets, (4, 11), (8, 18)) == [O, B, I, O, O, O, O, O, O, O]
    assert labels(offsets, (24, 29), (29, 32)) == [O, O, O, O, O, B, B, O, O, O]
    assert labels(offsets, (34, 40), (0, 3)) == [B, O, O, O, O, O, O, O, B, I]


def _doc() -> PtcDocument:
    tc = [TcLabel("Loaded_Language", 4, 18), TcLabel("Name_Calling,Labeling", 4, 18),
          TcLabel("Doubt", 19, 22), TcLabel("Slogans", 26, 31)]
    return PtcDocument("1", TEXT, si=[(4, 18), (19, 22), (26, 31)], tc=tc)


def test_window_examples_carry_the_labels_and_span_token_indices(tok, offsets):
    (ex,), dropped = build_examples([_doc()], tok, TECHNIQUES, window=254, stride=192,
                                    special_ids=(CLS, SEP, 0))
    assert dropped == 0
    ids = encode(tok, [TEXT])[0].ids
    assert ex.ids.tolist() == [CLS, *ids.tolist(), SEP]
    assert ex.labels.tolist() == [-100, O, B, I, B, O, B, I, O, O, O, -100]
    # token indices in window coordinates ([CLS] is 0): tokens 1-2, 3, 5-6 of the text
    got = [(s.a, s.b) for s in ex.spans]
    assert got == [(2, 4), (4, 5), (6, 8)]
    want = {(2, 4): {"Loaded_Language": 0.5, "Name_Calling,Labeling": 0.5}, (4, 5): {"Doubt": 1.0},
            (6, 8): {"Slogans": 1.0}}
    for s in ex.spans:
        assert {TECHNIQUES[k]: float(v) for k, v in enumerate(s.target) if v} == want[(s.a, s.b)]
        assert 1 <= s.ctx_lo < s.b and s.a < s.ctx_hi <= len(ids) + 1


def test_spans_land_only_in_windows_that_hold_them_whole(tok):
    (enc,) = encode(tok, [TEXT])
    examples, dropped = build_examples([_doc()], tok, TECHNIQUES, window=4, stride=3,
                                       special_ids=(CLS, SEP, 0))
    assert dropped == 0
    placed = set()
    for ex in examples:
        window_ids = ex.ids[1:-1].tolist()
        for s in ex.spans:
            # the span's tokens in the window are the gold span's tokens in the article
            tokens = ex.ids[s.a : s.b].tolist()
            start = next(k for k in range(len(enc) - len(tokens) + 1)
                         if enc.ids[k : k + len(tokens)].tolist() == tokens)
            placed.add((int(enc.offsets[start, 0]), int(enc.offsets[start + len(tokens) - 1, 1])))
            assert set(tokens) <= set(window_ids)
    assert placed == {(4, 18), (19, 22), (24, 32)}
    # a window too short for the two-token span drops it and says so
    _, dropped = build_examples([_doc()], tok, TECHNIQUES, window=1, stride=1, special_ids=(CLS, SEP, 0))
    assert dropped == 2
