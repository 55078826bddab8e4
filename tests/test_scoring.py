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


# --- hand-computed cases for the SemEval-2020 Task 11 definitions -------------------------------------------
# SI: per article, predicted spans S and gold spans G each merged where they overlap; over the whole set
#   P = sum_s sum_g |s∩g|/|s| / |S|,  R = sum_s sum_g |s∩g|/|g| / |G|.
# TC: P = matched rows / predicted rows, R = matched rows / gold rows, rows keyed by (article, start, end).


def test_si_overlapping_gold_spans_are_merged_before_scoring():
    # gold 0-10 and 5-15 merge to 0-15. pred 0-15: P = 15/15 = 1, R = 15/15 = 1.
    # (Unmerged, the prediction would count twice: P = (10/15 + 10/15)/1 = 4/3, R = (1 + 1)/2 = 1.)
    s = score_si([("1", 0, 15)], [("1", 0, 10), ("1", 5, 15)])
    assert s.n_gold == 1
    assert (s.precision, s.recall, s.f1) == pytest.approx((1.0, 1.0, 1.0))
    # pred 0-5 against the same gold: P = 5/5 = 1, R = 5/15 = 1/3, F1 = 2 * 1/3 / (4/3) = 0.5
    s = score_si([("1", 0, 5)], [("1", 0, 10), ("1", 5, 15)])
    assert (s.precision, s.recall, s.f1) == pytest.approx((1.0, 1 / 3, 0.5))


def test_si_two_articles_with_the_same_offsets_are_kept_apart():
    # article 1: pred 0-10 = gold 0-10. article 2: pred 0-10, gold 20-30 (no overlap).
    # P = (1 + 0)/2 = 0.5, R = (1 + 0)/2 = 0.5
    s = score_si([("1", 0, 10), ("2", 0, 10)], [("1", 0, 10), ("2", 20, 30)])
    assert (s.n_pred, s.n_gold) == (2, 2)
    assert (s.precision, s.recall, s.f1) == pytest.approx((0.5, 0.5, 0.5))
    # gold only in article 2 at the predicted offsets of article 1: nothing matches
    assert score_si([("1", 0, 10)], [("2", 0, 10)]).f1 == 0.0


def test_si_article_with_no_predictions_costs_recall():
    # article 1: pred 0-10 over gold 0-20: P = 10/10, R = 10/20. article 2: gold 0-10, no prediction.
    # P = 1/1 = 1, R = (0.5 + 0)/2 = 0.25, F1 = 2 * 0.25 / 1.25 = 0.4
    s = score_si([("1", 0, 10)], [("1", 0, 20), ("2", 0, 10)])
    assert (s.n_pred, s.n_gold) == (1, 2)
    assert (s.precision, s.recall, s.f1) == pytest.approx((1.0, 0.25, 0.4))


def test_si_span_predicted_twice_counts_once():
    # the same span twice merges into one: P = 1, R = 1 (not P = 2/2 with |S| = 2 and double recall)
    s = score_si([("1", 0, 10), ("1", 0, 10), ("1", 4, 8)], [("1", 0, 10)])
    assert (s.n_pred, s.precision, s.recall) == (1, pytest.approx(1.0), pytest.approx(1.0))


def test_si_touching_spans_stay_apart():
    # pred 0-5 and 5-10 do not overlap, so stay two spans; gold 0-10.
    # P = (5/5 + 5/5)/2 = 1, R = (5/10 + 5/10)/1 = 1
    s = score_si([("1", 0, 5), ("1", 5, 10)], [("1", 0, 10)])
    assert s.n_pred == 2 and (s.precision, s.recall) == pytest.approx((1.0, 1.0))


def test_tc_two_articles_with_the_same_offsets_are_kept_apart():
    gold = [("1", "Doubt", 0, 5), ("2", "Slogans", 0, 5)]
    pred = [("1", "Slogans", 0, 5), ("2", "Doubt", 0, 5)]  # swapped between the articles: both wrong
    s = score_tc(pred, gold)
    assert s.matched == 0 and s.micro_f1 == 0.0
    s = score_tc(list(reversed(gold)), gold)
    assert s.matched == 2 and s.micro_f1 == pytest.approx(1.0)


def test_tc_more_predicted_than_gold_rows():
    # 2 gold rows, 4 predicted: both gold rows matched, two extra rows (one on a gold span, one elsewhere).
    # P = 2/4, R = 2/2, F1 = 2 * 0.5 / 1.5 = 2/3
    gold = [("1", "Doubt", 0, 5), ("1", "Flag-Waving", 10, 20)]
    pred = gold + [("1", "Slogans", 0, 5), ("1", "Repetition", 30, 40)]
    s = score_tc(pred, gold)
    assert (s.matched, s.n_pred, s.n_gold) == (2, 4, 2)
    assert (s.precision, s.recall, s.micro_f1) == pytest.approx((0.5, 1.0, 2 / 3))
    assert s.per_technique["Slogans"]["precision"] == 0.0 and s.per_technique["Doubt"]["f1"] == 1.0


def test_tc_article_with_no_gold_and_article_with_no_predictions():
    # article 1: one gold row, predicted. article 2: a prediction, no gold. article 3: gold, no prediction.
    # P = 1/2, R = 1/2, F1 = 0.5
    gold = [("1", "Doubt", 0, 5), ("3", "Slogans", 0, 5)]
    pred = [("1", "Doubt", 0, 5), ("2", "Doubt", 0, 5)]
    s = score_tc(pred, gold)
    assert (s.matched, s.precision, s.recall, s.micro_f1) == (1, 0.5, 0.5, pytest.approx(0.5))
    assert s.per_technique["Doubt"]["precision"] == 0.5 and s.per_technique["Doubt"]["recall"] == 1.0
    assert s.per_technique["Slogans"]["recall"] == 0.0


def test_tc_span_predicted_twice_with_one_gold_row_matches_once():
    # gold: Doubt once. pred: Doubt twice on the same span. matched 1, P = 1/2, R = 1/1, F1 = 2/3
    s = score_tc([("1", "Doubt", 0, 5)] * 2, [("1", "Doubt", 0, 5)])
    assert (s.matched, s.precision, s.recall, s.micro_f1) == (1, 0.5, 1.0, pytest.approx(2 / 3))


def test_tc_overlapping_gold_spans_are_not_merged():
    # TC keys on exact (id, start, end): overlapping gold spans 0-10 and 5-15 are two rows
    gold = [("1", "Doubt", 0, 10), ("1", "Slogans", 5, 15)]
    s = score_tc([("1", "Doubt", 0, 10), ("1", "Doubt", 5, 15)], gold)
    assert (s.matched, s.micro_f1) == (1, pytest.approx(0.5))


# --- `propscope score` ------------------------------------------------------------------------------------


def _score_cli(*args: str):
    from typer.testing import CliRunner

    from propscope.cli import _register, app

    _register()
    return CliRunner().invoke(app, ["score", *map(str, args)])


def _tsv(path, rows) -> str:
    path.write_text("".join("\t".join(map(str, r)) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def test_score_command_si_and_tc_on_the_hand_cases(tmp_path):
    import json

    gold = _tsv(tmp_path / "gold-si.tsv", [("1", 0, 20), ("2", 0, 10)])
    pred = _tsv(tmp_path / "pred-si.tsv", [("1", 0, 10)])
    r = _score_cli("--task", "si", gold, pred, "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert d["task"] == "si" and (d["n_pred"], d["n_gold"]) == (1, 2)
    assert (d["precision"], d["recall"], d["f1"]) == pytest.approx((1.0, 0.25, 0.4))
    r = _score_cli(gold, pred)  # --task si is the default
    assert r.exit_code == 0 and "precision 1.0000  recall 0.2500  F1 0.4000" in r.stdout

    gold = _tsv(tmp_path / "gold-tc.tsv", [("1", "Doubt", 0, 5), ("1", "Flag-Waving", 10, 20)])
    pred = _tsv(tmp_path / "pred-tc.tsv", [("1", "Doubt", 0, 5), ("1", "Flag-Waving", 10, 20),
                                           ("1", "Slogans", 0, 5), ("1", "Repetition", 30, 40)])
    d = json.loads(_score_cli("--task", "tc", gold, pred, "--json").stdout)
    assert (d["matched"], d["n_pred"], d["n_gold"]) == (2, 4, 2)
    assert (d["precision"], d["recall"], d["micro_f1"]) == pytest.approx((0.5, 1.0, 2 / 3))
    r = _score_cli("--task", "tc", gold, pred)
    assert r.exit_code == 0 and "micro-F1 0.6667  precision 0.5000  recall 1.0000" in r.stdout
    assert "Flag-Waving" in r.stdout


@pytest.mark.parametrize("line, problem", [
    ("1\t0", "expected 3 tab-separated columns, got 2"),
    ("1\tzero\t5", "whole numbers"),
    ("1\t9\t5", "need 0 <= start < end"),
    ("1\t-1\t5", "need 0 <= start < end"),
    ("\t0\t5", "empty article id"),
])
def test_score_command_names_file_and_line_of_a_malformed_row(tmp_path, line, problem):
    gold = _tsv(tmp_path / "gold.tsv", [("1", 0, 5)])
    pred = tmp_path / "pred.tsv"
    pred.write_text(f"1\t0\t5\n\n{line}\n", encoding="utf-8")
    r = _score_cli(gold, pred)
    assert r.exit_code == 2
    assert f"error: {pred}:3: " in r.stderr and problem in r.stderr


def test_score_command_rejects_unknown_techniques_and_the_wrong_layout(tmp_path):
    gold = _tsv(tmp_path / "gold.tsv", [("1", "Doubt", 0, 5)])
    pred = _tsv(tmp_path / "pred.tsv", [("1", "Doubt", 0, 5), ("1", "Propaganda", 6, 9)])
    r = _score_cli("--task", "tc", gold, pred)
    assert r.exit_code == 2 and f"{pred}:2: unknown technique 'Propaganda'" in r.stderr
    r = _score_cli("--task", "si", gold, gold)  # a TC file given for SI
    assert r.exit_code == 2 and f"{gold}:1: expected 3 tab-separated columns, got 4" in r.stderr
    r = _score_cli(tmp_path / "missing.tsv", gold)
    assert r.exit_code == 2 and "missing.tsv" in r.output


def test_score_command_on_gold_against_itself_is_perfect(ptc_root):
    import json

    for task in ("si", "tc"):
        gold = ptc_root / "dev" / f"labels-{task}.tsv"
        d = json.loads(_score_cli("--task", task, gold, gold, "--json").stdout)
        assert d["f1" if task == "si" else "micro_f1"] == pytest.approx(1.0)


# --- edge cases found by a mutation run (mutmut) over the scorer --------------------------------------------


def test_empty_spans_are_ignored_wherever_they_sort():
    assert merge_spans([(0, 0), (2, 5), (7, 7), (6, 9)]) == [(2, 5), (6, 9)]


def test_si_and_tc_with_nothing_predicted_or_nothing_gold_score_zero():
    for s in (score_si([], [("1", 0, 5)]), score_si([("1", 0, 5)], [])):
        assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)
    for t in (score_tc([], [("1", "Doubt", 0, 5)]), score_tc([("1", "Doubt", 0, 5)], [])):
        assert (t.precision, t.recall, t.micro_f1) == (0.0, 0.0, 0.0)
        # a technique neither predicted nor in the gold scores 0, not 1
        assert t.per_technique["Slogans"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0.0}


def test_tc_repeated_rows_of_one_technique_on_one_span_count_each():
    gold = [("1", "Doubt", 0, 5), ("1", "Doubt", 0, 5)]
    s = score_tc(gold[:1], gold)  # one of the two gold rows answered: P = 1/1, R = 1/2
    assert (s.matched, s.precision, s.recall) == (1, 1.0, 0.5)
    s = score_tc(gold, gold)
    assert (s.matched, s.micro_f1) == (2, 1.0)
    s = score_tc(gold, gold[:1])  # two predictions for one gold row: P = 1/2, R = 1
    assert (s.matched, s.precision, s.recall) == (1, 0.5, 1.0)


def test_tc_per_technique_f1_with_precision_and_recall_below_one():
    # Doubt: predicted twice (once right), gold twice (once found): P = R = F1 = 1/2
    gold = [("1", "Doubt", 0, 5), ("1", "Doubt", 6, 9), ("1", "Slogans", 10, 12)]
    pred = [("1", "Doubt", 0, 5), ("1", "Slogans", 6, 9), ("1", "Doubt", 10, 12)]
    d = score_tc(pred, gold).per_technique["Doubt"]
    assert (d["precision"], d["recall"], d["f1"], d["support"]) == pytest.approx((0.5, 0.5, 0.5, 2.0))
