"""Test helpers for the web server: a fake detector (tests only, never shipped) and a real uvicorn server
running in a background thread on a free loopback port."""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import uvicorn

from propscope.detect.base import SpanPrediction
from propscope.techniques import TECHNIQUES

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "idlib-truce.txt"

# (pattern, technique, confidence): where the fake detector "finds" techniques. The third overlaps the first.
FAKE_RULES: tuple[tuple[str, str, float], ...] = (
    (r"\bterrorist\w*", "Name_Calling,Labeling", 0.91),
    (r"\bwisen up\b", "Loaded_Language", 0.74),
    (r"terrorists use civilians as shields like they always do", "Appeal_to_fear-prejudice", 0.66),
)


class FakeDetector:
    """Deterministic stand-in for the ONNX detector: marks fixed words and phrases."""

    def __init__(self, rules: Sequence[tuple[str, str, float]] = FAKE_RULES) -> None:
        self.rules = [(re.compile(p, re.IGNORECASE), t, c) for p, t, c in rules]
        self.calls = 0

    @property
    def name(self) -> str:
        return "fake-detector 0 (tests)"

    def detect(self, texts: Sequence[str]) -> list[list[SpanPrediction]]:
        self.calls += 1
        out = []
        for text in texts:
            preds = [SpanPrediction(m.start(), m.end(), tech, conf)
                     for rx, tech, conf in self.rules for m in rx.finditer(text)]
            out.append(sorted(preds, key=lambda p: (p.start, p.end, p.technique)))
        return out

    def classify(self, texts, spans):
        uniform = {t: 1.0 / len(TECHNIQUES) for t in TECHNIQUES}
        return [[dict(uniform) for _ in s] for s in spans]


def expected_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for p, t, _ in FAKE_RULES:
        counts[t] = counts.get(t, 0) + len(re.findall(p, text, flags=re.IGNORECASE))
    return counts


@contextlib.contextmanager
def running_server(app, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` with uvicorn in a thread on a free port of ``host``; yields the base URL; stops it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
