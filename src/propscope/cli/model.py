"""`propscope train | predict | evaluate | benchmark` (owned by the detector work)."""

from __future__ import annotations
