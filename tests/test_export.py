import csv
import io
import json

import pytest

from propscope import Analysis, Article, Span
from propscope.export import CSV_COLUMNS, Writer, to_json, write_all


def _analysis(aid="1"):
    art = Article(id=aid, text='Title\n\nThe evil regime lies, "again".')
    return Analysis(article=art, model="fake", spans=[
        Span(start=7, end=22, technique="Name_Calling,Labeling", confidence=0.9, text="The evil regime"),
        Span(start=11, end=15, technique="Loaded_Language", confidence=0.5, text="evil"),
        Span(start=23, end=35, technique="Repetition", confidence=0.25, text='lies, "again'),
    ])


def test_json_is_one_object_for_one_and_a_list_for_several():
    one = json.loads(to_json([_analysis()], single=True))
    assert one["schema_version"] == "1.1" and one["article"]["id"] == "1"
    assert one["counts"]["Loaded_Language"] == 1 and len(one["counts"]) == 14
    assert [s["text"] for s in one["spans"]] == ["The evil regime", "evil", 'lies, "again']
    many = json.loads(to_json([_analysis("1"), _analysis("2")]))
    assert [m["article"]["id"] for m in many] == ["1", "2"]
    buf = io.StringIO()
    write_all([_analysis()], "json", buf, single=False)
    assert isinstance(json.loads(buf.getvalue()), list)


def test_json_offsets_index_the_output_text():
    d = json.loads(to_json([_analysis()], single=True))
    for s in d["spans"]:
        assert d["article"]["text"][s["start"]:s["end"]] == s["text"]
    assert Analysis.model_validate(d).spans[0].technique == "Name_Calling,Labeling"


def test_jsonl_one_line_per_article():
    buf = io.StringIO()
    write_all([_analysis("1"), _analysis("2")], "jsonl", buf)
    lines = buf.getvalue().splitlines()
    assert [json.loads(line)["article"]["id"] for line in lines] == ["1", "2"]


def test_csv_one_row_per_span_with_header():
    buf = io.StringIO()
    write_all([_analysis("1"), _analysis("2")], "csv", buf)
    rows = list(csv.reader(io.StringIO(buf.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1] == ["1", "7", "22", "Name_Calling,Labeling", "0.9", "The evil regime"]
    assert rows[3][5] == 'lies, "again' and len(rows) == 7


def test_ptc_lines_like_labels_tc():
    buf = io.StringIO()
    write_all([_analysis("42")], "ptc", buf)
    assert buf.getvalue().splitlines() == ["42\tName_Calling,Labeling\t7\t22", "42\tLoaded_Language\t11\t15",
                                           "42\tRepetition\t23\t35"]


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown format"):
        Writer("xml", io.StringIO())
