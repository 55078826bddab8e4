"""Plots of ``stats`` rows with matplotlib: one colour per technique everywhere (propscope.techniques)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..techniques import BY_NAME, TECHNIQUES

_TIME = ("day", "week", "month", "year")
_METRIC_LABELS = {
    "spans_per_1k_words": "technique spans per 1,000 words",
    "share": "share of articles using it",
    "spans": "technique spans",
    "articles": "articles",
    "mean_score": "mean article score",
}


def plot_stats(
    rows: Sequence[dict[str, Any]],
    by: Sequence[str],
    path: str | os.PathLike[str],
    *,
    metric: str | None = None,
    title: str | None = None,
) -> None:
    """Draw ``rows`` of ``stats(by=...)`` to ``path`` (.png or .svg): a line per technique over time when
    grouped by a period and technique, horizontal bars otherwise."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ValueError("--plot needs matplotlib: pip install 'propscope[corpus]'") from None
    if not rows:
        raise ValueError("nothing to plot: no articles match")
    metric = metric or ("spans_per_1k_words" if "technique" in by else "mean_score")
    ylabel = _METRIC_LABELS.get(metric, metric)
    period = next((b for b in by if b in _TIME), None)
    others = [b for b in by if b not in ("technique", period)]

    def series_name(r: dict[str, Any]) -> str:
        parts = [BY_NAME[r["technique"]].label] if "technique" in by else []
        return " / ".join(parts + [str(r[b]) for b in others]) or "all articles"

    def colour(r: dict[str, Any]) -> str | None:
        return BY_NAME[r["technique"]].colour if "technique" in by and not others else None

    if period:
        series: dict[str, list[tuple[str, float]]] = {}
        colours: dict[str, str | None] = {}
        for r in rows:
            series.setdefault(series_name(r), []).append((r[period], r[metric] or 0.0))
            colours[series_name(r)] = colour(r)
        fig, ax = plt.subplots(figsize=(11, 6))
        for name, pts in series.items():
            pts.sort()
            ax.plot(
                [p for p, _ in pts], [v for _, v in pts], marker="o", ms=3, label=name, color=colours[name]
            )
        ax.set_xlabel(period)
        ax.tick_params(axis="x", labelrotation=45)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    else:
        ordered = (
            sorted(rows, key=lambda r: TECHNIQUES.index(r["technique"])) if by == ["technique"] else rows
        )
        labels = [series_name(r) for r in ordered]
        fig, ax = plt.subplots(figsize=(10, max(3.0, 0.35 * len(labels) + 1.2)))
        ax.barh(
            range(len(labels)),
            [r[metric] or 0.0 for r in ordered],
            color=[colour(r) or "#4c72b0" for r in ordered],
        )
        ax.set_yticks(range(len(labels)), labels)
        ax.invert_yaxis()
        ax.set_xlabel(ylabel)
        ylabel = ""
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel or _METRIC_LABELS.get(metric, metric)} by {', '.join(by) or 'all'}")
    ax.grid(axis="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(os.fspath(path), bbox_inches="tight")
    plt.close(fig)
