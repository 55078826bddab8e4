from collections import defaultdict

import pytest
from conftest import SAMPLE_PATH

from propscope.clean import clean_text


def _replay(original: str, report) -> str:
    """The original text with the recorded removals deleted: must equal the cleaned text."""
    out, pos = [], 0
    for r in report.removed:
        assert original[r.start:r.end] == r.text
        out.append(original[pos:r.start])
        pos = r.end
    return "".join(out) + original[pos:]


def test_sample_loses_related_block_and_cookie_banner():
    original = SAMPLE_PATH.read_text(encoding="utf-8")
    cleaned, report = clean_text(original)
    assert cleaned.startswith("Putin hopes terrorists in Idlib will wisen up and lay down arms\n\n")
    assert cleaned.endswith("thanking Turkey and Iran for coordination on this issue.")
    assert "You might also like" not in cleaned and "cookies" not in cleaned
    assert original.startswith(cleaned)  # removal at the end keeps every offset before it
    assert report.original_length == len(original)
    assert report.removed and report.removed_chars == len(original) - len(cleaned)
    assert _replay(original, report) == cleaned


def test_whole_boilerplate_lines_removed_anywhere():
    original = (
        "Title here\n\nFirst paragraph of the story, with facts.\nShare this article\n"
        "Second paragraph continues the report.\n\nSubscribe to our newsletter!\n"
        "Follow us on Twitter @example\nClick here to read the full report.\n"
        "We use cookies to give you the best experience. By continuing you accept our cookie policy.\n"
        "Advertisement\nThird paragraph ends it.\n"
    )
    cleaned, report = clean_text(original)
    assert cleaned == ("Title here\n\nFirst paragraph of the story, with facts.\n"
                       "Second paragraph continues the report.\n\nThird paragraph ends it.\n")
    reasons = {r.reason for r in report.removed}
    assert {"share prompt", "subscribe prompt", "follow prompt", "click-here prompt", "cookie banner",
            "advertisement label"} <= reasons
    assert _replay(original, report) == cleaned


def test_article_sentences_that_mention_boilerplate_words_are_kept():
    text = (
        "Cookies and the law\n\n"
        "Regulators said sites must ask before they use cookies, and most users accept them unread.\n"
        "Readers were told to share this story with friends, the campaign said, in a leaked memo.\n"
        "Related to this, the minister resigned on Friday after weeks of pressure from his own party.\n"
        "He will be replaced by his deputy. The party has not commented on the change so far.\n"
    )
    cleaned, report = clean_text(text)
    assert cleaned == text and report.removed == []


def test_related_heading_followed_by_prose_is_kept():
    text = ("Title\n\nBody sentence one.\n\nRelated\n\n"
            "The government denied the claims. Officials said the report was false and misleading.\n")
    assert clean_text(text)[0] == text


def test_trailing_link_block_removed():
    text = ("Title\n\nThe story ends here.\n\nRelated articles:\nMan bites dog in Ohio\n"
            "Why the vote matters\nSubscribe to our newsletter\n\n")
    cleaned, report = clean_text(text)
    assert cleaned == "Title\n\nThe story ends here."
    assert _replay(text, report) == cleaned


def test_title_line_never_removed_and_clean_text_is_idempotent():
    text = "Read more\n\nA body sentence that stays.\n"
    cleaned, _ = clean_text(text)
    assert cleaned.startswith("Read more\n")
    assert clean_text(cleaned)[0] == cleaned


def test_nul_characters_removed_and_recorded():
    cleaned, report = clean_text("Title\n\nBo\x00dy\x00\x00 text.")
    assert cleaned == "Title\n\nBody text."
    assert [(r.start, r.end, r.reason) for r in report.removed] == [(9, 10, "NUL characters"),
                                                                    (12, 14, "NUL characters")]


def test_cleaning_never_removes_annotated_ptc_characters(ptc_root):
    spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for split in ("train", "dev"):
        for name in ("labels-si.tsv", "labels-tc.tsv"):
            f = ptc_root / split / name
            if not f.exists():
                continue
            for line in f.read_text(encoding="utf-8").splitlines():
                parts = line.split("\t")
                if len(parts) >= 3 and parts[-1].isdigit() and parts[-2].isdigit():
                    spans[parts[0]].append((int(parts[-2]), int(parts[-1])))
    files = sorted(ptc_root.glob("*/articles/article*.txt"))
    assert files and spans
    inside = removed = 0
    for path in files:
        original = path.read_text(encoding="utf-8")
        cleaned, report = clean_text(original)
        assert _replay(original, report) == cleaned
        for r in report.removed:
            removed += r.end - r.start
            inside += sum(max(0, min(e, r.end) - max(s, r.start)) for s, e in spans[path.stem[7:]])
    assert inside == 0, f"cleaning removed {inside} annotated characters"
    assert removed < 2000  # cleaning is conservative: PTC texts are already mostly clean


def test_read_more_line_in_mid_text_is_removed():
    # a "Read more" line between paragraphs of prose is no trailing block, but still a leftover
    text = ("Title\n\nFirst paragraph of the story.\nRead more:\n"
            "Second paragraph, with more facts. It goes on.\n")
    cleaned, report = clean_text(text)
    assert cleaned == ("Title\n\nFirst paragraph of the story.\n"
                       "Second paragraph, with more facts. It goes on.\n")
    assert [(r.text, r.reason) for r in report.removed] == [("Read more:\n", "related-links heading")]
    for line in ("Read also", "See also:", "Continue reading …", "ALSO READ"):
        assert clean_text(text.replace("Read more:", line))[0] == cleaned, line


def test_boilerplate_lines_at_the_end_go_with_the_whitespace_before_them():
    # no trailing-block heading here: the end is cut by the trailing-boilerplate rule
    text = "Title\n\nThe story ends here.\n\nFollow us on Twitter @example\nAdvertisement\n\n"
    cleaned, report = clean_text(text)
    assert cleaned == "Title\n\nThe story ends here."
    (removal,) = report.removed
    assert (removal.start, removal.end) == (len("Title\n\nThe story ends here."), len(text))
    assert removal.reason.startswith("trailing boilerplate")
    assert _replay(text, report) == cleaned
    # prose after the boilerplate keeps the whitespace: only the lines go
    text = "Title\n\nThe story ends here.\n\nAdvertisement\nAnd one more sentence.\n"
    assert clean_text(text)[0] == "Title\n\nThe story ends here.\n\nAnd one more sentence.\n"


# --- edges found by a mutation run (mutmut) over cleaning ---------------------------------------------------


def _links(n: int) -> str:
    return "".join(f"Headline number {i} about the vote\n" for i in range(n))


def test_trailing_block_right_after_the_title_leaves_the_title_line_whole():
    for text in ("Title\nRelated articles:\nMan bites dog\nWhy the vote matters\n",
                 "Title\nRead more\nMan bites dog\n"):
        cleaned, report = clean_text(text)
        assert cleaned == "Title\n"
        assert [(r.start, r.reason) for r in report.removed] == [(6, "related-links block")]
    cleaned, report = clean_text("Title\n\nFollow us on Twitter @x\nAdvertisement\n")
    assert cleaned == "Title\n" and report.removed[0].start == 6


def test_trailing_block_holds_at_most_thirty_link_lines():
    head = "Title\n\nThe story ends here.\n\nRelated:\n"
    assert clean_text(head + _links(30))[0] == "Title\n\nThe story ends here."
    assert clean_text(head + _links(31))[0] == head + _links(31)


@pytest.mark.parametrize("line, removed", [
    ("example.com/story.", True),  # a bare address counts as a link, whatever it ends with
    ("Man bites dog. Then it left", False),  # two sentences are prose
    ("word " * 40, False),  # over 160 characters is prose
])
def test_what_counts_as_a_link_line_in_a_trailing_block(line, removed):
    text = f"Title\n\nThe story ends here.\n\nRelated:\n{line}\n"
    assert (clean_text(text)[0] == "Title\n\nThe story ends here.") is removed


def test_adjacent_removals_merge_and_keep_each_reason_once():
    cleaned, report = clean_text("Title\n\nBody one.\nShare this article\nTweet this\nBody two goes on.\n")
    assert cleaned == "Title\n\nBody one.\nBody two goes on.\n"
    assert [(r.text, r.reason) for r in report.removed] == [("Share this article\nTweet this\n",
                                                             "share prompt")]
    _, report = clean_text("Title\n\nThe story ends here.\n\nFollow us on Twitter @x\nAdvertisement\n\n")
    assert [r.reason for r in report.removed] == ["trailing boilerplate; follow prompt; advertisement label"]


def test_boilerplate_ending_the_text_without_a_newline_or_before_a_link_block():
    assert clean_text("Title\n\nBody.\nAdvertisement")[0] == "Title\n\nBody."
    text = "Title\n\nBody text here.\nAdvertisement\n\nRelated articles:\nMan bites dog\n"
    cleaned, report = clean_text(text)
    assert cleaned.rstrip() == "Title\n\nBody text here." and _replay(text, report) == cleaned
