"""OBIS codes: one value type that reads and writes every spelling the project accepts.

A reading is keyed by text, 'A-B:C.D.E.F' (a dict key that is fast, readable and JSON-safe);
a reading of another attribute than the value (attribute 2) gets '/N' appended, e.g. the
capture time of an M-Bus value, '0-1:24.2.1.255/5' (docs/protocol.md, "M-Bus sub-meters").
Users and documents also write 'A-B:C.D.E' (F is 255), 'A.B.C.D.E.F' and, for a scaler
correction that applies to every channel, 'C.D.E'. `Obis.parse` and `read_spelling` are the
one place that reads them; `Obis.key` the one place that writes a key.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
import re
from typing import Final

VALUE_ATTRIBUTE: Final = 2  # attribute 2 of data, register and clock objects: the value
ATTRIBUTE_SEPARATOR: Final = "/"

# 'A-B:C.D.E' with an optional '.F' and '/N'; or A.B.C.D.E.F; or C.D.E alone.
_SPELLING: Final = re.compile(
    r"^(?:(\d{1,3})-(\d{1,3}):)?(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\.(\d{1,3}))?(?:/(\d{1,3}))?$"
)
_DOTTED: Final = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$")
# The code at the start of a DSMR text line, 'A-B:C.D.E' (dsmr.py).
TEXT_CODE_PATTERN: Final = r"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}"


@dataclass(frozen=True, slots=True)
class Spelling:
    """What someone wrote: groups they left out are None (C, D and E are always there)."""

    a: int | None
    b: int | None
    c: int
    d: int
    e: int
    f: int | None
    attribute: int | None


def read_spelling(text: str) -> Spelling:
    """Read any accepted spelling; ValueError naming the text when it is none of them."""
    text = text.strip()
    code, separator, number = text.partition(ATTRIBUTE_SEPARATOR)
    if separator and not (number.isdigit() and 0 < int(number) <= 255):
        raise ValueError(f"not an attribute number (1..255) after '/': {text!r}")
    match = _SPELLING.match(text)
    if match is not None:
        a, b, c, d, e, f, attribute = (None if g is None else int(g) for g in match.groups())
    elif not separator and (dotted := _DOTTED.match(code)) is not None:
        a, b, c, d, e, f = (int(g) for g in dotted.groups())
        attribute = None
    else:
        raise ValueError(f"not an OBIS code (A-B:C.D.E.F, A-B:C.D.E or C.D.E): {text!r}")
    if any(g is not None and g > 255 for g in (a, b, c, d, e, f)):
        raise ValueError(f"OBIS value groups are 0..255: {text!r}")
    if c is None or d is None or e is None:  # pragma: no cover - both patterns require them
        raise ValueError(f"not an OBIS code: {text!r}")
    return Spelling(a, b, c, d, e, f, attribute)


@dataclass(frozen=True, slots=True, order=True)
class Obis:
    """One code, value groups A..F, and the attribute a reading of it comes from."""

    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255
    attribute: int = VALUE_ATTRIBUTE

    @classmethod
    def parse(cls, text: str) -> Obis:
        """'A-B:C.D.E.F[/N]', 'A-B:C.D.E' or 'A.B.C.D.E.F'; ValueError for anything else."""
        spelling = read_spelling(text)
        if spelling.a is None or spelling.b is None:
            raise ValueError(f"an OBIS code needs value groups A and B (A-B:C.D.E): {text!r}")
        return cls(
            spelling.a,
            spelling.b,
            spelling.c,
            spelling.d,
            spelling.e,
            255 if spelling.f is None else spelling.f,
            VALUE_ATTRIBUTE if spelling.attribute is None else spelling.attribute,
        )

    @classmethod
    def from_bytes(cls, raw: bytes) -> Obis:
        """Read a 6-byte logical name as pushed in A-XDR."""
        a, b, c, d, e, f = raw
        return cls(a, b, c, d, e, f)

    @property
    def key(self) -> str:
        """The reading key: 'A-B:C.D.E.F', with '/N' for another attribute than the value."""
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}.{self.f}{self._suffix}"

    @property
    def label(self) -> str:
        """How people write the code: 'A-B:C.D.E' (F left out when it is 255), '/N' kept."""
        f = "" if self.f == 255 else f".{self.f}"
        return f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}{f}{self._suffix}"

    @property
    def _suffix(self) -> str:
        """'' for the value, '/N' for attribute N."""
        return "" if self.attribute == VALUE_ATTRIBUTE else f"{ATTRIBUTE_SEPARATOR}{self.attribute}"

    @property
    def short(self) -> str:
        """'C.D.E', the form of the VSE data set and of IEC 62056-21 displays."""
        return f"{self.c}.{self.d}.{self.e}"

    def to_bytes(self) -> bytes:
        """Return the 6-byte logical name (the attribute is not part of it)."""
        return bytes((self.a, self.b, self.c, self.d, self.e, self.f))

    def with_attribute(self, attribute: int) -> Obis:
        """Return the code read from another attribute (5: an extended register's capture time)."""
        return Obis(self.a, self.b, self.c, self.d, self.e, self.f, attribute)

    def __str__(self) -> str:
        """Return the key."""
        return self.key


@lru_cache(maxsize=4096)
def key_of(raw: bytes) -> str:
    """Return the key of a pushed 6-byte logical name; cached (lists repeat push after push)."""
    a, b, c, d, e, f = raw
    return f"{a}-{b}:{c}.{d}.{e}.{f}"


def attribute_key(key: str, attribute: int) -> str:
    """Key of one attribute's reading: the code's own key for the value, 'key/N' otherwise."""
    return key if attribute == VALUE_ATTRIBUTE else f"{key}{ATTRIBUTE_SEPARATOR}{attribute}"


def is_key(text: str) -> bool:
    """Whether `text` is a reading key (as Obis.key writes it), e.g. in a unique id."""
    try:
        return Obis.parse(text).key == text
    except ValueError:
        return False


@lru_cache(maxsize=4096)
def sort_key(key: str) -> tuple[int, ...]:
    """Numeric order of reading keys (1.8.1 before 1.8.10): how meter documents list codes."""
    code = Obis.parse(key)
    return (code.a, code.b, code.c, code.d, code.e, code.f, code.attribute)
