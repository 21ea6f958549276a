"""Bare APDUs (docs/protocol.md, "DLMS/IP wrapper and bare APDUs"): `DB 08 XYZ...` or `0F ...`.

A ciphered APDU straight on the line (Steiermark Sagemcom on P1) or a Data-Notification from a
proxy or dump; no link layer, no checksum.
"""

from __future__ import annotations

from .apdu import DATA_NOTIFICATION
from .assembly import LinkFrame, RawApdu
from .framing_apdus import ApduSizer
from .framing_base import Framing

KIND = "bare"
_DATE_MARKERS = frozenset((0x00, 0x0C, 0x09, 0x19))


def _candidate(buf: bytearray, i: int, n: int) -> bool:
    """Check a ciphered APDU's or a Data-Notification's header, by the marker byte."""
    if buf[i] == DATA_NOTIFICATION:
        return _notification(buf, i, n)
    return _ciphered(buf, i, n)


def _ciphered(buf: bytearray, i: int, n: int) -> bool:
    """`DB 08` (or `DC 08`) + a three-letter upper-case FLAG id."""
    if i + 1 < n and buf[i + 1] != 8:
        return False
    flag = buf[i + 2 : min(i + 5, n)]
    return not flag or (flag.isalpha() and flag.isupper())  # A..Z only


def _notification(buf: bytearray, i: int, n: int) -> bool:
    """`0F` + invoke id + date-time (month and day checked) + a structure or array body."""
    if i + 5 >= n:
        return True
    marker = buf[i + 5]
    if marker not in _DATE_MARKERS:
        return False
    if marker == 0x00:
        body = i + 6
    elif marker == 0x09:
        if i + 6 >= n:
            return True
        if buf[i + 6] == 0x00:
            body = i + 7
        elif buf[i + 6] == 0x0C:
            body = i + 19
        else:
            return False
    else:
        body = i + 18  # 0C or 19, then 12 bytes
    if body - i >= 18 and body - 9 < n:  # a 12-byte date-time ends at `body`
        month, day = buf[body - 10], buf[body - 9]
        if not (1 <= month <= 12 or month >= 0xFD) or not (1 <= day <= 31 or day >= 0xFD):
            return False
    return not (body < n and buf[body] not in (0x01, 0x02))


def _parse(raw: bytes) -> LinkFrame:
    """Hand on the APDU as it came."""
    return RawApdu(KIND, raw, raw)


FRAMING = Framing(
    kind=KIND,
    markers=bytes((0xDB, 0xDC, DATA_NOTIFICATION)),
    candidate=_candidate,
    new_sizer=lambda: ApduSizer(0),
    parse=_parse,
)
