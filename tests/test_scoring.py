"""The SemEval-2020 Task 11 scorer against cases computed by hand."""

import pytest

from propscope.scoring import merge_spans, score_si, score_tc


def test_merge_spans_merges_overlaps_only():
    assert merge_spans([(5, 9), (0, 4), (2, 6), (9, 12)]) == [(0, 9), (9, 12)]


def test_si_partial_overlap():
    # pred 5-15 vs gold 0-10: overlap 5 -> P = 5/10, R = 5/10
    s = score_si([("1", 5, 15)], [("1", 0, 10)])
    assert (s.precision, s.recall, s.f1) == pytest.approx((0.5, 0.5, 0.5))


def test_si_merges_predictions_and_counts_missed_gold():
    # preds merge to 0-6; gold 0-6 and 10-20. P = (6/6)/1 = 1, R = (6/6)/2 = 0.5, F1 = 2/3
    s = score_si([("1", 0, 4), ("1", 2, 6)], [("1", 0, 6), ("1", 10, 20)])
    assert s.n_pred == 1 and s.n_gold == 2
    assert (s.precision, s.recall, s.f1) == pytest.approx((1.0, 0.5, 2 / 3))


def test_si_prediction_in_article_without_gold_costs_precision():
    # article 1: pred 0-10 = gold 0-10; article 2: pred 0-10, no gold. P = 1/2, R = 1, F1 = 2/3
    s = score_si([("1", 0, 10), ("2", 0, 10)], [("1", 0, 10)])
    assert (s.precision, s.recall) == pytest.approx((0.5, 1.0))
    assert s.f1 == pytest.approx(2 / 3)


def test_si_one_prediction_covering_two_gold_spans():
    # pred 0-20 over gold 0-5 and 10-20: P = (5+10)/20 = 0.75, R = (1 + 1)/2 = 1
    s = score_si([("1", 0, 20)], [("1", 0, 5), ("1", 10, 20)])
    assert (s.precision, s.recall) == pytest.approx((0.75, 1.0))


def test_si_empty():
    assert score_si([], [("1", 0, 5)]).f1 == 0.0


def test_tc_matches_rows_of_one_span_as_multisets():
    gold = [("1", "Doubt", 0, 5), ("1", "Slogans", 0, 5), ("1", "Repetition", 6, 9)]
    pred = [("1", "Slogans", 0, 5), ("1", "Slogans", 0, 5), ("1", "Repetition", 6, 9)]
    s = score_tc(pred, gold)
    assert s.matched == 2 and s.micro_f1 == pytest.approx(2 / 3)
    assert s.per_technique["Slogans"]["precision"] == pytest.approx(0.5)
    assert s.per_technique["Slogans"]["recall"] == pytest.approx(1.0)
    assert s.per_technique["Doubt"]["recall"] == 0.0
    assert s.per_technique["Repetition"]["f1"] == pytest.approx(1.0)


def test_tc_offsets_must_match_exactly():
    s = score_tc([("1", "Doubt", 0, 6)], [("1", "Doubt", 0, 5)])
    assert s.matched == 0 and s.micro_f1 == 0.0


def test_calibration_error_by_hand():
    from propscope.evaluate import calibration_error

    probs = {("1", 0, 5): {"A": 0.9, "B": 0.1},   # bin 0.9: right
             ("1", 6, 9): {"A": 0.95, "B": 0.05},  # bin 0.9: wrong -> bin mean conf 0.925, accuracy 0.5
             ("2", 0, 4): {"A": 0.3, "B": 0.7}}    # bin 0.7: right -> conf 0.7, accuracy 1
    gold = [("1", "A", 0, 5), ("1", "A", 6, 9), ("1", "B", 6, 9), ("2", "B", 0, 4)]
    # ("1", 6, 9) carries A and B: its top label A is among them, so it counts as right
    assert calibration_error(probs, gold) == pytest.approx(2 / 3 * (0.925 - 1.0) * -1 + 1 / 3 * 0.3)
    gold_wrong = [("1", "A", 0, 5), ("1", "B", 6, 9), ("2", "B", 0, 4)]
    assert calibration_error(probs, gold_wrong) == pytest.approx(2 / 3 * (0.925 - 0.5) + 1 / 3 * 0.3)
    assert calibration_error({}, []) == 0.0
