"""Shapes of parsed A-XDR values: the tests every layout asks of a body's elements.

Plain functions on the values.py shapes, kept apart from the layouts that use them so a
layout reads as the structure it recognises (docs/protocol.md, "Push body layouts").
"""

from __future__ import annotations

from typing import Final, TypeIs

from ..values import CosemDateTime, DlmsEnum

MAX_SCALER: Final = 127  # int8; anything larger cannot come from a real meter


def is_obis(value: object) -> TypeIs[bytes]:
    """Tell a 6-byte logical name (A 0..15 rules out ASCII text of the same length)."""
    return type(value) is bytes and len(value) == 6 and value[0] <= 15


def is_int(value: object) -> TypeIs[int]:
    """Tell a whole number that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_scaler_unit(value: object) -> TypeIs[tuple[int, int]]:
    """Tell {integer scaler, enum unit} (a 2-element structure); hot in the OBIS walker."""
    if type(value) is not tuple or len(value) != 2:
        return False
    scaler, unit = value
    kind = type(unit)
    return (
        type(scaler) is int
        and -MAX_SCALER - 1 <= scaler <= MAX_SCALER
        and (kind is DlmsEnum or kind is int)
        and 0 <= unit <= 255
    )


def is_capture_definition(value: object) -> TypeIs[tuple[int, bytes, int, int]]:
    """{class_id, logical_name, attribute_index, data_index} (Blue Book capture object)."""
    return (
        isinstance(value, tuple)
        and len(value) == 4
        and is_int(value[0])
        and type(value[1]) is bytes
        and len(value[1]) == 6
        and is_int(value[2])
        and is_int(value[3])
    )


def is_date_time(value: object) -> bool:
    """Tell a COSEM date-time: CosemDateTime or a 12-byte octet-string with a sane date."""
    if isinstance(value, CosemDateTime):
        return True
    if type(value) is not bytes or len(value) != 12:
        return False
    month, day = value[2], value[3]
    return (1 <= month <= 12 or month >= 0xFD) and (1 <= day <= 31 or day >= 0xFD)


def printable(raw: bytes) -> str | None:
    """ASCII text without trailing NULs/spaces, or None when the bytes are not text."""
    stripped = raw.rstrip(b"\x00 ")
    if not stripped.isascii():
        return None
    text = stripped.decode("ascii")
    return text if text.isprintable() else None


def is_text(value: object) -> bool:
    """Tell a string, or an octet-string that reads as text."""
    if type(value) is str:
        return True
    return type(value) is bytes and printable(value) is not None


def to_text(value: object) -> str:
    """Octet-string or string -> str: printable ASCII as text, anything else upper-case hex."""
    if isinstance(value, str):
        return value.rstrip("\x00 ")
    if isinstance(value, bytes):
        text = printable(value)
        return text if text is not None else value.hex().upper()
    return str(value)


def starts_entry(value: object) -> bool:
    """Tell an OBIS code or an {OBIS, ...} structure (the start of an entry)."""
    if is_obis(value):
        return True
    return isinstance(value, tuple | list) and len(value) in (2, 3) and is_obis(value[0])
