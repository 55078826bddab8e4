"""Terminal view of Analyses (rich): highlighted text with a legend, and a summary table for batches."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from . import techniques
from .schema import Analysis

_EXCERPT = 90


def _fg_for(colour: str) -> str:
    """Black or white, whichever reads better on background ``colour`` (#rrggbb)."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "white"


def _excerpt(s: str, n: int = _EXCERPT) -> str:
    s = " ".join(s.split())
    return s if len(s) <= n else s[: n - 1] + "…"


def highlighted_text(analysis: Analysis) -> Text:
    """The article text with every span on its technique's colour and a ``[n]`` marker after it.

    Where spans overlap, the innermost (shortest) one gives the colour and the text is underlined; each
    overlapping span also opens with a ``[``, so every span stays visible, even without colour.
    """
    text = analysis.article.text
    spans = analysis.spans
    out = Text()
    bounds = sorted({0, len(text), *(s.start for s in spans), *(s.end for s in spans)})
    ends: dict[int, list[int]] = {}
    opens: dict[int, list[int]] = {}
    for n, s in enumerate(spans, start=1):
        ends.setdefault(s.end, []).append(n)
        if any(o is not s and o.start < s.end and s.start < o.end for o in spans):
            opens.setdefault(s.start, []).append(n)  # overlapping spans also get an opening bracket
    for a, b in zip(bounds, bounds[1:], strict=False):
        for n in opens.get(a, []):
            out.append("[", style=f"bold {techniques.get(spans[n - 1].technique).colour}")
        covering = [s for s in spans if s.start <= a and s.end >= b]
        if covering:
            inner = min(covering, key=lambda s: s.end - s.start)
            colour = techniques.get(inner.technique).colour
            style = f"{_fg_for(colour)} on {colour}" + (" underline" if len(covering) > 1 else "")
            out.append(text[a:b], style=style)
        else:
            out.append(text[a:b])
        for n in ends.get(b, []):
            colour = techniques.get(spans[n - 1].technique).colour
            out.append(f"[{n}]", style=f"bold {colour}")
    return out


def _meta_line(analysis: Analysis) -> Text:
    art = analysis.article
    parts = [f"id {art.id}"]
    for v in (art.site, art.author, art.published, art.url or art.source):
        if v:
            parts.append(v)
    parts.append(f"model {analysis.model or 'unknown'}")
    if art.cleaning and art.cleaning.removed:
        reasons = sorted({r.reason for r in art.cleaning.removed})
        parts.append(f"cleaned: removed {art.cleaning.removed_chars} chars ({', '.join(reasons)})")
    return Text(" · ".join(parts), style="dim")


def legend(analysis: Analysis) -> Table:
    table = Table(title="Techniques found", show_edge=False, box=None, padding=(0, 1))
    table.add_column("")
    table.add_column("Technique")
    table.add_column("Spans", justify="right")
    for name, count in analysis.counts.items():
        if count:
            t = techniques.get(name)
            table.add_row(Text("■", style=t.colour), t.label, str(count))
    return table


def span_table(analysis: Analysis) -> Table:
    table = Table(title="Spans", show_edge=False, padding=(0, 1))
    table.add_column("#", justify="right")
    table.add_column("Technique")
    table.add_column("Conf.", justify="right")
    table.add_column("Offsets", justify="right")
    table.add_column("Text")
    for n, s in enumerate(analysis.spans, start=1):
        t = techniques.get(s.technique)
        table.add_row(str(n), Text(t.label, style=t.colour), f"{s.confidence:.2f}", f"{s.start}-{s.end}",
                      _excerpt(s.text))
    return table


def render_analysis(analysis: Analysis, console: Console) -> None:
    """Print one Analysis: title, metadata, highlighted text, legend with counts, list of spans."""
    title = analysis.article.title or analysis.article.id
    console.print(Text(title, style="bold"))
    console.print(_meta_line(analysis))
    console.print(Panel(highlighted_text(analysis), border_style="dim"))
    if not analysis.spans:
        console.print("No propaganda techniques found.")
        return
    console.print(Group(legend(analysis), Text(""), span_table(analysis)))


def render_summary(analyses: Sequence[Analysis], console: Console) -> None:
    """Print one row per Analysis: id, title, number of spans, most frequent techniques."""
    table = Table(title=f"{len(analyses)} articles analysed", padding=(0, 1))
    table.add_column("Id")
    table.add_column("Title")
    table.add_column("Spans", justify="right")
    table.add_column("Main techniques")
    total = 0
    for a in analyses:
        total += len(a.spans)
        top = sorted(((c, n) for n, c in a.counts.items() if c), reverse=True)[:3]
        main = Text(", ").join(Text(f"{techniques.get(n).label} ({c})", style=techniques.get(n).colour)
                               for c, n in top)
        table.add_row(a.article.id, _excerpt(a.article.title or "", 50), str(len(a.spans)), main)
    table.add_section()
    table.add_row("", "total", str(total), "")
    console.print(table)
