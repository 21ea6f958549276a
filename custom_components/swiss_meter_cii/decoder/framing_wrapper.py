"""DLMS/IP wrapper (docs/protocol.md, "DLMS/IP wrapper and bare APDUs"): `00 01`, ports, length.

No checksum: the length must equal the size of the APDU inside.
"""

from __future__ import annotations

from .assembly import LinkFrame, RawApdu
from .framing_apdus import APDU_TAGS, apdu_size
from .framing_base import NEED, NO, Framing, stateless

KIND = "ip"
_HEADER = 8  # version, source wPort, destination wPort, length: two bytes each


def _candidate(buf: bytearray, i: int, n: int) -> bool:
    """`00 01` + source and destination wPort + length + an APDU tag."""
    if i + 1 < n and buf[i + 1] != 0x01:
        return False
    return not (i + _HEADER < n and buf[i + _HEADER] not in APDU_TAGS)


def _size(buf: bytearray, p: int, base: int, limit: int) -> tuple[int, int]:
    """Size from the wrapper's length, if the APDU inside agrees."""
    n = len(buf)
    if p + _HEADER > n:
        return NEED, p + _HEADER
    length = (buf[p + 6] << 8) | buf[p + 7]
    if length == 0 or length + _HEADER > limit:
        return NO, 0
    inner, _ = apdu_size(buf, p + _HEADER)
    if inner == NEED:
        # The APDU is cut off: fine while the wrapper is too; else they disagree.
        end = p + _HEADER + length
        return (NEED, end) if end > n else (NO, 0)
    return (length + _HEADER if inner == length else NO), 0


def _parse(raw: bytes) -> LinkFrame:
    """Hand on the APDU behind the header."""
    return RawApdu(KIND, raw[_HEADER:], raw)


FRAMING = Framing(
    kind=KIND, markers=b"\x00", candidate=_candidate, new_sizer=stateless(_size), parse=_parse
)
