"""Wired M-Bus long frames (EN 13757-2) carrying DLMS: Kaifa MA309/MA110, Sagemcom T210-D.

`68 L L 68 | C A CI STSAP DTSAP data | CS 16`; CI 0x00..0x1F = DLMS without M-Bus data
header, bit 4 = last segment (FIN), bits 0..3 = segment number.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import DecodeError, ErrorKind

START = 0x68
STOP = 0x16
MAX_FRAME = 257 + 6
_HEADER = 5  # C, A, CI, STSAP, DTSAP: all counted in L


@dataclass(slots=True)
class MbusFrame:
    """One validated long frame; `data` is the DLMS part after the two TSAP bytes."""

    control: int
    address: int
    segment: int
    last: bool
    stsap: int
    dtsap: int
    data: bytes
    raw: bytes


def probe(buf: bytes | bytearray, pos: int) -> int:
    """Frame size for a candidate `68 L L 68` at `pos`; -1 = need bytes, -2 = not a header.

    L counts C through the last data byte. An older Sagemcom T210-D sends a 257-byte
    first segment with L = 0x01 (257 mod 256): a real L below 5 cannot hold the DLMS
    header, so such an L is read as L + 256.
    """
    if pos + 4 > len(buf):
        return -1
    length = buf[pos + 1]
    if buf[pos + 2] != length or buf[pos + 3] != START:
        return -2
    if length < _HEADER:
        length += 256
    return length + 6


def parse_frame(frame: bytes) -> MbusFrame:
    """Validate a complete long frame found by `probe` (checksum, stop byte, CI range)."""
    size = len(frame)
    if size < _HEADER + 6 or frame[0] != START or frame[3] != START or frame[1] != frame[2]:
        raise DecodeError(ErrorKind.FRAMING, "not an M-Bus long frame")
    if frame[-1] != STOP:
        raise DecodeError(ErrorKind.FRAMING, "M-Bus stop byte missing")
    if sum(frame[4:-2]) & 0xFF != frame[-2]:
        raise DecodeError(ErrorKind.CHECKSUM, f"M-Bus checksum wrong ({size}-byte frame)")
    ci = frame[6]
    if ci > 0x1F:
        raise DecodeError(ErrorKind.FRAMING, f"M-Bus CI 0x{ci:02X} is not DLMS segment data")
    return MbusFrame(
        control=frame[4],
        address=frame[5],
        segment=ci & 0x0F,
        last=bool(ci & 0x10),
        stsap=frame[7],
        dtsap=frame[8],
        data=frame[9:-2],
        raw=frame,
    )
