"""Errors propscope raises on purpose. Each message names the file or input and the problem."""

from __future__ import annotations


class PropscopeError(Exception):
    """Base class of propscope's own errors."""


class InputError(PropscopeError):
    """An input could not be read as an article (empty, binary, undecodable, malformed...)."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class ModelNotInstalledError(PropscopeError):
    """No technique detector model is installed or the given model folder is unusable."""
