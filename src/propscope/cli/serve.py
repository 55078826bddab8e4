"""`propscope serve` (owned by the web work)."""

from __future__ import annotations
