"""Errors of the bootstrap: each says which step failed and why."""

from __future__ import annotations


class BootstrapError(RuntimeError):
    """A step of the bootstrap failed; the message says which and why."""


class HttpError(BootstrapError):
    """Home Assistant answered a REST call with an error status."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {detail}")
        self.status = status
