"""The lexical technique classifier, the repetition flags, and how the technique probabilities combine."""

import numpy as np
import pytest
from conftest import require_module

from propscope.detect.core import DetectorConfig, DetectorCore, Heads
from propscope.detect.features import N_FEATURES, DocFeatures
from propscope.detect.lexical import LexicalModel, char_features, word_features
from propscope.ptc import PtcDocument, TcLabel
from propscope.techniques import TECHNIQUES
from propscope.tune import tc_matched


def test_word_features_are_lowercased_unigrams_and_bigrams():
    f = word_features("The American people, a people!")
    assert f["w:the"] == 1 and f["w:people"] == 2
    assert f["w:american people"] == 1 and f["w:people a"] == 0  # "a" is shorter than two characters
    assert "w:The" not in f


def test_char_features_stay_inside_padded_tokens():
    f = char_features("so-called hoax")
    assert f["c: s"] == 1 and f["c:ax "] == 1 and f["c: hoax"] == 1
    assert not any(" " in k[2:].strip() for k in f)  # no n-gram spans two tokens


def _toy_model() -> LexicalModel:
    vocab = ["w:hoax", "w:nation", "c: ho"]
    idf = np.ones(3)
    coef = np.zeros((3, len(TECHNIQUES)))
    coef[0, TECHNIQUES.index("Name_Calling,Labeling")] = 5.0
    coef[1, TECHNIQUES.index("Flag-Waving")] = 5.0
    return LexicalModel(vocab, idf, coef, np.zeros(len(TECHNIQUES)), TECHNIQUES)


def test_lexical_model_scores_known_words_and_is_uniform_on_unknown_ones():
    m = _toy_model()
    p = m.predict_proba(["a hoax", "our nation", "zzz"])
    assert p.shape == (3, len(TECHNIQUES))
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    assert TECHNIQUES[int(p[0].argmax())] == "Name_Calling,Labeling"
    assert TECHNIQUES[int(p[1].argmax())] == "Flag-Waving"
    np.testing.assert_allclose(p[2], 1 / len(TECHNIQUES), rtol=1e-5)
    assert m.predict_proba([]).shape == (0, len(TECHNIQUES))


def test_lexical_model_round_trips_and_reorders(tmp_path):
    m = _toy_model()
    m.save(tmp_path / "lexical.npz")
    back = LexicalModel.load(tmp_path / "lexical.npz")
    texts = ["what a hoax", "the nation"]
    np.testing.assert_allclose(back.predict_proba(texts), m.predict_proba(texts), atol=1e-3)
    rev = back.reorder(list(reversed(TECHNIQUES)))
    np.testing.assert_allclose(rev.predict_proba(texts)[:, ::-1], back.predict_proba(texts), atol=1e-6)
    with pytest.raises(ValueError, match="techniques differ"):
        back.reorder(TECHNIQUES[:-1])


def test_lexical_model_rejects_inconsistent_arrays():
    with pytest.raises(ValueError, match="disagree"):
        LexicalModel(["w:a"], np.ones(2), np.zeros((1, 14)), np.zeros(14), TECHNIQUES)


def test_fit_lexical_learns_the_wording_of_each_technique():
    require_module("sklearn")
    from propscope_train.lexical import fit_lexical

    phrases = {"Flag-Waving": ["our great nation", "the nation first", "for the nation"],
               "Name_Calling,Labeling": ["a total hoax", "this hoax", "the hoax again"],
               "Doubt": ["can we trust them", "can they be trusted", "can anyone trust it"]}
    docs = []
    for i in range(4):
        text, tc = "", []
        for tech, ps in phrases.items():
            for p in ps:
                tc.append(TcLabel(tech, len(text), len(text) + len(p)))
                text += p + f" filler {i}. "
        docs.append(PtcDocument(str(i), text, [], tc))
    m = fit_lexical(docs, c=10.0)
    p = m.predict_proba(["the nation", "what a hoax", "can we trust"])
    assert [TECHNIQUES[int(k)] for k in p.argmax(1)] == ["Flag-Waving", "Name_Calling,Labeling", "Doubt"]
    unseen = TECHNIQUES.index("Slogans")
    assert p[:, unseen].max() < 1e-6


def test_repeats_tells_earlier_from_later_occurrences_as_whole_words():
    text = "The witch hunt began. Then the witch-hunt went on. A witch huntress."
    df = DocFeatures(text)
    first = text.find("witch hunt")
    second = text.find("witch-hunt")
    assert df.repeats(first, first + 10) == (False, True)
    assert df.repeats(second, second + 10) == (True, False)  # normalised: punctuation ignored
    assert df.repeats(text.find("huntress"), len(text) - 1) == (False, False)
    assert df.repeats(text.find(" "), text.find(" ") + 1) == (False, False)
    assert len(df.span(first, first + 10)) == N_FEATURES


def _core(**decode) -> DetectorCore:
    dim = 4
    heads = Heads({"si_w": np.zeros((dim, 3)), "si_b": np.zeros(3), "tc_w1": np.zeros((4 * dim + 12, 2)),
                   "tc_b1": np.zeros(2), "tc_w2": np.zeros((2, 14)), "tc_b2": np.zeros(14)})
    return DetectorCore(None, None, heads, DetectorConfig(**decode), (0, 0, 0))


def test_old_heads_take_the_first_twelve_features():
    assert _core().heads.n_features == 12


def test_repetition_prior_moves_probability_by_where_the_phrase_occurs():
    core = _core(repetition_earlier=3.0, repetition_later=-1.0, repetition_single=-2.0)
    logits = np.zeros((3, 14), dtype=np.float32)
    reps = np.array([[True, False], [False, True], [False, False]])
    p = core.combine(logits, None, reps)
    r = TECHNIQUES.index("Repetition")
    np.testing.assert_allclose(p.sum(1), 1.0, rtol=1e-5)
    assert p[0, r] > p[1, r] > p[2, r]
    assert p[0, r] == pytest.approx(np.exp(3) / (13 + np.exp(3)), rel=1e-4)
    off = _core().combine(logits, None, reps)
    np.testing.assert_allclose(off, 1 / 14, rtol=1e-5)


def test_lexical_weight_mixes_the_two_classifiers():
    core = _core(lexical_weight=0.25)
    lex = np.zeros((1, 14), dtype=np.float32)
    lex[0, 0] = 1.0
    p = core.combine(np.zeros((1, 14), np.float32), lex, np.zeros((1, 2), bool))
    assert p[0, 0] == pytest.approx(0.75 / 14 + 0.25, rel=1e-5)
    assert p[0, 1] == pytest.approx(0.75 / 14, rel=1e-5)


def test_tc_matched_counts_multiset_top_k():
    probs = np.array([[0.1, 0.6, 0.3], [0.5, 0.2, 0.3]])
    assert tc_matched(probs, [[1], [0]]) == 2
    assert tc_matched(probs, [[1, 2], [1]]) == 2  # top-2 of the first row is {1, 2}
    assert tc_matched(probs, [[1, 1], [2]]) == 1  # one of the two gold 1s can match


def test_with_settings_parses_values_as_their_field_types():
    cfg = DetectorConfig().with_settings(["lexical_weight=0.3", "max_gap=4", " min_tokens = 2"])
    assert cfg.lexical_weight == 0.3 and cfg.max_gap == 4 and isinstance(cfg.max_gap, int)
    assert cfg.min_tokens == 2
    assert DetectorConfig().lexical_weight == 0.0  # the original is untouched
    with pytest.raises(ValueError, match="NAME one of"):
        DetectorConfig().with_settings(["nonsense=1"])
    with pytest.raises(ValueError, match="not a valid int"):
        DetectorConfig().with_settings(["max_gap=two"])
    with pytest.raises(ValueError, match="NAME=VALUE"):
        DetectorConfig().with_settings(["techniques=x"])
