"""Outline of a push body the decoder could not map: types and positions, for a template.

A values-only list carries no OBIS codes, so one capture and the meter's display are all a
contributor has to write a template (templates.py). The outline numbers every element the
way templates count them, with its A-XDR type and value, so that each position can be
matched against the display: `3: double-long-unsigned 1393`.
"""

from __future__ import annotations

from datetime import UTC, date, time

from .values import BitString, CosemDate, CosemDateTime, CosemTime, DlmsEnum, Long64

MAX_LINES = 80  # a body this long is no values-only list anyway
_TEXT_PREVIEW = 40


def _scalar(value: object) -> str:
    """Type and value of one leaf, as A-XDR names it."""
    if value is None:
        return "null-data"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, DlmsEnum):
        return f"enum {int(value)}"
    if isinstance(value, Long64):
        return f"long64 {int(value)}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"float {value!r}"
    if isinstance(value, bytes):
        text = value.rstrip(b"\x00 ")
        shown = (
            repr(text.decode("ascii"))
            if text and text.isascii() and text.decode("ascii").isprintable()
            else value.hex().upper()
        )
        return f"octet-string({len(value)}) {shown[: _TEXT_PREVIEW * 2]}"
    if isinstance(value, str):
        return f"visible-string({len(value)}) {value[:_TEXT_PREVIEW]!r}"
    if isinstance(value, CosemDateTime):
        stamp = value.to_datetime(UTC)  # wall time as sent; the zone does not matter here
        shown = stamp.replace(tzinfo=None).isoformat() if stamp else "not specified"
        return f"date-time {shown}"
    if isinstance(value, CosemDate | CosemTime):
        day = value.to_date() if isinstance(value, CosemDate) else value.to_time()
        return f"{type(value).__name__} {day.isoformat() if isinstance(day, date | time) else '-'}"
    if isinstance(value, BitString):
        return f"bit-string({value.bits}) {value.data.hex().upper()}"
    return type(value).__name__


def outline(body: object) -> list[str]:
    """One line per element: `position: type value`, nested elements as `2.1`, `2.2`."""
    lines: list[str] = []

    def walk(value: object, label: str) -> None:
        if len(lines) >= MAX_LINES:
            return
        if isinstance(value, tuple | list):
            kind = "structure" if isinstance(value, tuple) else "array"
            lines.append(f"{label}: {kind} of {len(value)}" if label else f"{kind} of {len(value)}")
            for index, item in enumerate(value, 1):
                walk(item, f"{label}.{index}" if label else str(index))
        else:
            lines.append(f"{label}: {_scalar(value)}")

    walk(body, "")
    if len(lines) >= MAX_LINES:
        lines.append("...")
    return lines


def signature(body: object) -> str:
    """Short type list of the top-level elements, for an error message."""
    if not isinstance(body, tuple | list):
        return _scalar(body).split(" ")[0]
    names = []
    for item in body[:24]:
        if isinstance(item, tuple | list):
            names.append(f"{'structure' if isinstance(item, tuple) else 'array'}({len(item)})")
        else:
            names.append(_scalar(item).split(" ")[0])
    more = ", ..." if len(body) > 24 else ""
    return "[" + ", ".join(names) + more + "]"
