import pytest
from pydantic import ValidationError

from propscope import Analysis, Article, Span


def test_analysis_sorts_spans_and_counts():
    art = Article(id="1", text="Title\n\nThe evil regime lies.")
    a = Analysis(article=art, spans=[
        Span(start=23, end=27, technique="Loaded_Language", confidence=0.5, text="lies"),
        Span(start=7, end=22, technique="Name_Calling,Labeling", confidence=0.9, text="The evil regime"),
    ])
    assert [s.start for s in a.spans] == [7, 23]
    assert a.counts["Loaded_Language"] == 1 and a.counts["Doubt"] == 0
    assert len(a.counts) == 14
    assert a.model_dump()["counts"]["Name_Calling,Labeling"] == 1


def test_span_text_must_match_article():
    art = Article(id="1", text="Title\n\nBody text")
    with pytest.raises(ValidationError, match="does not match"):
        Analysis(article=art, spans=[Span(start=0, end=5, technique="Doubt", confidence=1.0, text="Body ")])


def test_span_rejects_unknown_technique_and_empty_range():
    with pytest.raises(ValidationError, match="unknown technique"):
        Span(start=0, end=2, technique="Lying", confidence=0.1, text="ab")
    with pytest.raises(ValidationError, match="greater than start"):
        Span(start=3, end=3, technique="Doubt", confidence=0.1, text="")
