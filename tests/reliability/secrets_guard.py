"""Key-leak guard: no test may let a key reach a log record or a diagnostics download.

tests/conftest.py installs one `KeyLeakGuard` for the whole session: a logging handler on the
root logger checks every record, a wrapper checks every diagnostics download, and each test
phase fails when a key showed up during it. Keys are the ones the suite uses (public vectors,
simulator defaults, their `wrong_key` twins) plus any a test registers.

Spellings: hex in any case, with or without separators between digits (spaces, colons,
dashes, dots, underscores, commas, `0x`, `\\x`), the bytes as decimal numbers, Python's
bytes repr, base64 and - for ASCII-looking keys - the key as text. Cheap: a record costs one
lower(), one regex substitution and one regex search unless it holds a long hex run.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
import contextlib
from dataclasses import dataclass
import json
import logging
from pathlib import Path
import re
from typing import Any, Final

FIXTURES: Final = Path(__file__).resolve().parents[1] / "fixtures"

# What people and Python put between the bytes of a key; removed before searching.
_SEPARATORS: Final = re.compile(r"0x|\\x|[\s:\-_.,\[\]()'\"]")
# Nothing to search unless the squeezed text has a digit run as long as the shortest needle.
_MIN_RUN: Final = 16
_RUN: Final = re.compile(rf"[0-9a-f]{{{_MIN_RUN},}}")


@dataclass(frozen=True, slots=True)
class Leak:
    """Where a key was seen. Never holds the key or the text that carried it."""

    where: str  # logger name or "diagnostics of <domain>"
    what: str  # log level and message template, or the diagnostics entry id
    spelling: str  # which kind of spelling matched (hex, decimal, base64, text)

    def __str__(self) -> str:
        """One line for the failure report."""
        return f"{self.where}: {self.what} (key as {self.spelling})"


def _as_key(key: bytes | str) -> bytes:
    """16 bytes from bytes or hex text with any separators."""
    if isinstance(key, str):
        digits = re.sub(r"[^0-9a-fA-F]", "", key.replace("0x", ""))
        key = bytes.fromhex(digits)
    if len(key) != 16:
        raise ValueError(f"a key has 16 bytes, got {len(key)}")
    return bytes(key)


def _flipped(key: bytes) -> bytes:
    """The simulator's `wrong_key` (every byte XOR 0xA5), tests use it as a second key."""
    return bytes(byte ^ 0xA5 for byte in key)


class KeyLeakGuard:
    """Finds keys in text; collects where they were seen."""

    def __init__(self, keys: Iterable[bytes | str] = ()) -> None:
        """Start with `keys` (bytes or hex text); `register` adds more later."""
        self._keys: set[bytes] = set()
        self._squeezed: dict[str, str] = {}  # needle in squeezed lower-case text -> kind
        self._literal: dict[str, str] = {}  # needle searched case-sensitively as is -> kind
        self.leaks: list[Leak] = []
        self.checked = 0
        self.handler = _Handler(self)
        for key in keys:
            self.register(key)

    @property
    def keys(self) -> frozenset[bytes]:
        """Every key the guard looks for."""
        return frozenset(self._keys)

    def register(self, key: bytes | str) -> None:
        """Look for `key` (16 bytes or hex text) from now on, in every spelling."""
        raw = _as_key(key)
        if raw in self._keys:
            return
        self._keys.add(raw)
        self._squeezed[raw.hex()] = "hex"
        self._squeezed["".join(str(byte) for byte in raw)] = "decimal bytes"
        self._literal[base64.b64encode(raw).decode().rstrip("=")] = "base64"
        self._literal[repr(raw)[2:-1]] = "bytes repr"
        if all(0x21 <= byte < 0x7F for byte in raw):
            self._literal[raw.decode("ascii")] = "text"

    def find(self, text: str) -> str | None:
        """Return the kind of spelling of a key in `text`, None when there is none."""
        self.checked += 1
        for needle, kind in self._literal.items():
            if needle in text:
                return kind
        squeezed = _SEPARATORS.sub("", text.lower())
        if _RUN.search(squeezed) is None:
            return None
        for needle, kind in self._squeezed.items():
            if needle in squeezed:
                return kind
        return None

    def check_record(self, record: logging.LogRecord) -> None:
        """Check one log record: its message, arguments applied, and its exception text."""
        try:
            text = record.getMessage()
        except Exception:  # a broken format string is the caller's problem
            text = f"{record.msg} {record.args}"
        if record.exc_info and record.exc_info[1] is not None:
            text = f"{text} {record.exc_info[1]}"
        if record.exc_text:
            text = f"{text} {record.exc_text}"
        if spelling := self.find(text):
            template = str(record.msg)[:120]
            self.leaks.append(Leak(record.name, f"{record.levelname} {template!r}", spelling))

    def check_data(self, data: Any, where: str, what: str) -> None:
        """Check a diagnostics download (any JSON-able structure)."""
        text = json.dumps(data, default=str)
        if spelling := self.find(text):
            self.leaks.append(Leak(where, what, spelling))

    def new_leaks(self, since: int) -> list[Leak]:
        """Leaks recorded after the first `since` ones."""
        return self.leaks[since:]

    @contextlib.contextmanager
    def expect_leaks(self) -> Iterator[list[Leak]]:
        """Collect (and forgive) the leaks of a block: for tests that plant one on purpose."""
        start = len(self.leaks)
        caught: list[Leak] = []
        try:
            yield caught
        finally:
            caught.extend(self.leaks[start:])
            del self.leaks[start:]


class _Handler(logging.Handler):
    """Root-logger handler feeding every record to the guard."""

    def __init__(self, guard: KeyLeakGuard) -> None:
        super().__init__(logging.NOTSET)
        self._guard = guard

    def emit(self, record: logging.LogRecord) -> None:
        self._guard.check_record(record)


def suite_keys() -> list[bytes]:
    """Every key the test suite uses: public vectors, simulator defaults, and their twins."""
    keys: list[bytes] = [bytes(range(0x10)), bytes(range(0x10, 0x20)), bytes(range(0xD0, 0xE0))]
    with (FIXTURES / "public_vectors.json").open(encoding="utf-8") as handle:
        vectors: list[dict[str, Any]] = json.load(handle)
    for vector in vectors:
        for field in ("key_hex", "auth_key_hex"):
            if value := vector.get(field):
                keys.append(_as_key(str(value)))
    return [*keys, *(_flipped(key) for key in keys)]


def failure_message(leaks: list[Leak], phase: str) -> str:
    """The text a test fails with (names where, never the key)."""
    lines = "\n".join(f"  {leak}" for leak in leaks)
    return f"key material leaked during {phase} ({len(leaks)}x):\n{lines}"
