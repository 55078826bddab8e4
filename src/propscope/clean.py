"""Remove web-page leftovers (related-links blocks, cookie banners, share prompts) from article text.

Cleaning is conservative: it removes whole lines only, matched by strong patterns, and never the title
line. Every removal is recorded with offsets into the text *before* cleaning, so the cleaned text is the
original text with the recorded ranges deleted.
"""

from __future__ import annotations

import re

from .schema import CleaningReport, Removal

# --- whole-line boilerplate, removed anywhere in the text -------------------------------------------------

_MAX_BANNER = 400  # cookie / consent banners can be a few sentences long
_MAX_PROMPT = 120  # share / subscribe / follow prompts are short

_COOKIE = re.compile(
    r"\b(cookies?)\b.*\b(accept|consent|agree|opt[- ]?out|privacy|your experience|continu\w* to (use|brows)"
    r"|browsing|manage (your )?(settings|preferences))"
    r"|\b(accept|consent|agree|privacy|your experience|continu\w* to (use|brows)|browsing)\b.*\bcookies?\b",
    re.IGNORECASE,
)
_COOKIE_START = re.compile(
    r"^(this (web)?site|we|our (web)?site|by (using|continuing)|to (make|give|improve)|cookies?)\b",
    re.IGNORECASE,
)

_PROMPTS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("share prompt", re.compile(
        r"^(please )?(share|tweet|email|print|pin)( (this|the))?( (article|story|post|page|on \w+|it))?"
        r"( (on|via|with) [\w ,&/.+]+)?\s*[:!.]?$", re.IGNORECASE)),
    ("share prompt", re.compile(
        r"^(share|tweet)( on)? (facebook|twitter|linkedin|whatsapp|reddit|telegram|email|pinterest|x)"
        r"([ ,/|]+(facebook|twitter|linkedin|whatsapp|reddit|telegram|email|pinterest|x|print))*\s*[:!.]?$",
        re.IGNORECASE)),
    ("share prompt", re.compile(
        r"^(if you (liked|enjoyed|like) this (article|story|post),? )?please (share|like|retweet)\b.{0,80}$",
        re.IGNORECASE)),
    ("subscribe prompt", re.compile(
        r"^(please )?(subscribe|sign up|signup|register|join)( now| today| free| for free)?"
        r"( (to|for))? (our|the|my)? ?(free )?(daily |weekly )?(newsletter|mailing list"
        r"|e-?mail (list|updates|alerts)|updates|alerts|channel|podcast|youtube channel)\b.{0,60}$",
        re.IGNORECASE)),
    ("subscribe prompt", re.compile(r"^(get|receive) (our|the) (free )?(daily |weekly )?newsletter\b.{0,60}$",
                                    re.IGNORECASE)),
    ("subscribe prompt", re.compile(r"^(subscribe|sign up)( now| today| here)?\s*[:!.]?$", re.IGNORECASE)),
    ("follow prompt", re.compile(
        r"^(please )?(follow|like|find|join) (us|me)( on| at| via)? (facebook|twitter|instagram"
        r"|telegram|youtube|linkedin|gab|vk|social media|x)\b.{0,80}$", re.IGNORECASE)),
    ("click-here prompt", re.compile(
        r"^(please )?click (here|the link|below) (to|for) .{0,90}$", re.IGNORECASE)),
    ("advertisement label", re.compile(r"^(advertisement|sponsored( content)?|ad|story continues below"
                                       r"( advertisement)?)\s*[:.]?$", re.IGNORECASE)),
    ("related-links heading", re.compile(
        r"^(read more|read also|see also|also read|continue reading)\s*[:.…]*$", re.IGNORECASE)),
)

# --- a heading that starts a trailing block of links --------------------------------------------------------

_TRAILING_HEADING = re.compile(
    r"^(you (might|may) (also )?(like|enjoy|be interested in)|you might also be interested( in)?|"
    r"related( articles?| stories| posts| news| content| reading| coverage)?|more (stories|articles|news)"
    r"( from [\w .'-]+)?|read (more|also|next)|see also|also read|recommended( for you| articles| stories)?|"
    r"popular( posts| stories| articles)?|most (read|popular|viewed)|trending( now| stories)?|"
    r"what to read next|more from [\w .'-]+|don'?t miss|further reading|keep reading|latest news|"
    r"share this( article| story| post)?|leave a (reply|comment)|comments?)\s*[:.…]*$",
    re.IGNORECASE,
)
_MAX_TRAILING_LINES = 30  # the block after the heading: at most this many non-blank lines ...
_MAX_LINK_LINE = 160  # ... each one a short, link-like line (a headline), or boilerplate


def _line_reason(line: str) -> str | None:
    """Why a whole line is page boilerplate, or None when it is not."""
    s = line.strip()
    if not s:
        return None
    if len(s) <= _MAX_BANNER and _COOKIE.search(s) and _COOKIE_START.search(s):
        return "cookie banner"
    if len(s) <= _MAX_PROMPT:
        for reason, pat in _PROMPTS:
            if pat.match(s):
                return reason
    return None


def _is_link_like(line: str) -> bool:
    """A short line that reads like a headline or a link, not like a sentence of prose."""
    s = line.strip()
    if len(s) > _MAX_LINK_LINE:
        return False
    if re.fullmatch(r"\S+[@/.]\S+", s):  # a URL, a handle or an e-mail address
        return True
    # Headlines and link texts do not end like sentences, nor hold two of them.
    if re.search(r"[.!?,;:…][\"'”’)\]]*$", s):
        return False
    return not re.search(r"[.!?][\"'”’)]*\s+[A-Z“\"]", s)


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, end including its "\\n" when there is one."""
    out: list[tuple[int, int]] = []
    pos = 0
    n = len(text)
    while pos < n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl + 1
        out.append((pos, end))
        pos = end
    return out


def _merge(ranges: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    ranges.sort()
    out: list[tuple[int, int, str]] = []
    for start, end, reason in ranges:
        if out and (start < out[-1][1] or (start == out[-1][1] and reason == out[-1][2])):
            ps, pe, pr = out[-1]
            out[-1] = (ps, max(pe, end), pr if pr == reason else f"{pr}; {reason}")
        else:
            out.append((start, end, reason))
    return out


def clean_text(text: str) -> tuple[str, CleaningReport]:
    """Remove page leftovers from ``text``; return the cleaned text and a report of what was removed.

    Removes NUL characters, a trailing related-links block ("You might also like", "Related", "Read
    more"... followed only by short link-like lines or banners), and whole boilerplate lines anywhere:
    cookie and consent banners, share / subscribe / newsletter / follow prompts, "click here to" lines.
    The first line (the title) is never removed.
    """
    ranges: list[tuple[int, int, str]] = []
    for m in re.finditer(r"\x00+", text):
        ranges.append((m.start(), m.end(), "NUL characters"))

    lines = _lines(text)
    content = [text[s:e].replace("\x00", "").rstrip("\n").rstrip("\r") for s, e in lines]
    reasons = [None] + [_line_reason(c) for c in content[1:]]

    # Trailing block: the last heading line after which every non-blank line is link-like or boilerplate.
    cut: int | None = None
    tail_nonblank = 0
    for i in range(len(lines) - 1, 0, -1):
        c = content[i]
        if not c.strip():
            continue
        if _TRAILING_HEADING.match(c.strip()):
            cut = i
        if reasons[i] is None:
            tail_nonblank += 1
            if tail_nonblank > _MAX_TRAILING_LINES or not _is_link_like(c):
                break
    if cut is not None:
        # Take the whitespace before the block too, so the cleaned text ends with the last sentence.
        start = lines[cut][0]
        while start > 0 and text[start - 1] in " \t\r\n":
            start -= 1
        if start < lines[0][1]:  # never eat into the title line
            start = max(start, lines[0][1])
        ranges.append((start, len(text), "related-links block"))
        lines_before = [i for i in range(len(lines)) if lines[i][0] < start]
    else:
        lines_before = list(range(len(lines)))

    for i in lines_before:
        if reasons[i] is not None:
            s, e = lines[i]
            ranges.append((s, e, reasons[i] or ""))
    # Boilerplate lines at the very end: also drop the whitespace before them.
    last = len(lines_before) - 1
    while last > 0 and (not content[last].strip() or reasons[last] is not None):
        last -= 1
    if cut is None and any(reasons[i] for i in lines_before[last + 1:]):
        start = lines[last][1] if last >= 0 else 0
        while start > lines[0][1] and text[start - 1] in " \t\r\n":
            start -= 1
        ranges.append((start, len(text), "trailing boilerplate"))

    if not ranges:
        return text, CleaningReport(original_length=len(text))
    merged = _merge(ranges)
    pieces: list[str] = []
    removals: list[Removal] = []
    pos = 0
    for start, end, reason in merged:
        pieces.append(text[pos:start])
        removals.append(Removal(start=start, end=end, reason=reason, text=text[start:end]))
        pos = end
    pieces.append(text[pos:])
    return "".join(pieces), CleaningReport(original_length=len(text), removed=removals)
