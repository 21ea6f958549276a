"""Wired M-Bus long frames (docs/protocol.md, "Wired M-Bus"): `68 L L 68 ... CS 16`."""

from __future__ import annotations

from . import mbus
from .errors import ErrorKind
from .framing_base import NO, Checksum, Framing, stateless

KIND = "mbus"


def _candidate(buf: bytearray, i: int, n: int) -> bool:
    """`68 L L 68`."""
    if i + 2 < n and buf[i + 2] != buf[i + 1]:
        return False
    return not (i + 3 < n and buf[i + 3] != mbus.START)


def _size(buf: bytearray, p: int, base: int, limit: int) -> tuple[int, int]:
    """L (with the T210-D overflow, mbus.probe); a frame without its stop byte is none."""
    size = mbus.probe(buf, p)
    n = len(buf)
    if size > 0 and p + size <= n and buf[p + size - 1] != mbus.STOP:
        return NO, 0
    return size, n + 1


def _valid(raw: bytes) -> bool:
    """Whether a complete frame has its stop byte and a correct sum."""
    return raw[-1] == mbus.STOP and sum(raw[4:-2]) & 0xFF == raw[-2]


FRAMING = Framing(
    kind=KIND,
    markers=bytes((mbus.START,)),
    candidate=_candidate,
    new_sizer=stateless(_size),
    parse=mbus.parse_frame,
    checksum=Checksum(mbus.probe, _valid),
    skip_whole=ErrorKind.FRAMING,  # a valid frame with a CI that carries no DLMS
)
