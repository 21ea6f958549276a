"""HDLC type 3 (docs/protocol.md, "HDLC"): `7E Ax`, sized by the length in its format field."""

from __future__ import annotations

from . import hdlc
from .errors import DecodeError
from .framing_base import NO, Checksum, Framing, stateless

KIND = "hdlc"


def _candidate(buf: bytearray, i: int, n: int) -> bool:
    """`7E Ax`."""
    return i + 1 >= n or buf[i + 1] & 0xF0 == 0xA0


def _size(buf: bytearray, p: int, base: int, limit: int) -> tuple[int, int]:
    """Size from the length field alone once it is all here: parse_frame checks everything."""
    n = len(buf)
    if p + 3 <= n:
        size = (((buf[p + 1] & 0x07) << 8) | buf[p + 2]) + 2
        if p + size <= n:
            return size, 0
    return hdlc.probe(buf, p), n + 1


def _header_size(buf: bytearray, i: int) -> int:
    """Size a frame from a header whose HCS is right (the look-ahead trusts nothing less)."""
    return hdlc.probe(buf, i) if _candidate(buf, i, len(buf)) else NO


def _valid(raw: bytes) -> bool:
    """Whether a complete frame has a correct HCS and FCS."""
    try:
        hdlc.parse_frame(raw)
    except DecodeError:
        return False
    return True


FRAMING = Framing(
    kind=KIND,
    markers=bytes((hdlc.FLAG,)),
    candidate=_candidate,
    new_sizer=stateless(_size),
    parse=hdlc.parse_frame,
    checksum=Checksum(_header_size, _valid),
    filler=bytes((hdlc.FLAG,)),
    flag=hdlc.FLAG,  # there is no byte stuffing: frames may share one flag
    not_a_frame=(hdlc.HeaderError,),  # most likely a 7E in garbage: not worth a report
)
