"""DSMR text telegrams (docs/protocol.md, "DSMR text"): `/XYZ5` ... `!CRC`.

Checksum-less for the hunter (the CRC is checked with the telegram), but text is never the
payload of an HDLC or M-Bus frame, so telegrams are looked for on any link.
"""

from __future__ import annotations

from . import dsmr
from .assembly import LinkFrame, RawApdu
from .framing_base import NEED, Framing

KIND = "dsmr"
_CRC_TAIL = 5  # '!' and four hex digits


def _candidate(buf: bytearray, i: int, n: int) -> bool:
    """`/XYZ5`: a DSMR / IEC 62056-21 identification line."""
    return dsmr.is_header(buf, i) is not False


class _TextSizer:
    """Remembers how far a waiting telegram is known to be text without its end.

    A telegram trickling in is then scanned once, not from its start for every read.
    """

    __slots__ = ("_checked", "_key")

    def __init__(self) -> None:
        """Nothing checked yet."""
        self._key = -1  # stream offset of the telegram that waits for bytes
        self._checked = 0  # stream offset up to which it is plain text

    def __call__(self, buf: bytearray, p: int, base: int, limit: int) -> tuple[int, int]:
        """Telegram size at `p` (dsmr.telegram_size), resuming a waiting telegram's check."""
        n = len(buf)
        key = base + p
        checked = self._checked - base if self._key == key else 0
        size = dsmr.telegram_size(buf, p, min(limit, dsmr.MAX_TELEGRAM), checked)
        if size == NEED:
            # Any '!' lies in the last 5 bytes when more are needed: the rest is text.
            self._key, self._checked = key, base + max(p, n - _CRC_TAIL)
        else:
            self._key = -1  # past a complete telegram's end nothing is known
        return size, n + 1


def _parse(raw: bytes) -> LinkFrame:
    """Hand on the telegram text (dsmr.parse_telegram checks its CRC later)."""
    return RawApdu(KIND, raw, raw)


FRAMING = Framing(
    kind=KIND,
    markers=bytes((dsmr.START,)),
    candidate=_candidate,
    new_sizer=_TextSizer,
    parse=_parse,
    standalone=True,
    filler=b"\r\n",
)
