"""Text-reuse tracing: which articles share text, which passages, how much, who published first."""

from __future__ import annotations

from .core import TraceParams, link_pair, to_input, trace
from .model import Passage, ReuseLink, StoryFamily, TraceInput, TraceResult, TraceStats

__all__ = [
    "Passage",
    "ReuseLink",
    "StoryFamily",
    "TraceInput",
    "TraceParams",
    "TraceResult",
    "TraceStats",
    "link_pair",
    "to_input",
    "trace",
]
