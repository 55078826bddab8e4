"""Readers that turn bytes, text, HTML and JSONL into Articles. ``propscope.read`` is the entry point."""
