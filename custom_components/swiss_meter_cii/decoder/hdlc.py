"""HDLC frame format type 3 (IEC 62056-46): the link layer of most CII and P1 pushes.

Frames are delimited by the 11-bit length in the format field, never by scanning for
0x7E: there is no byte stuffing on these links and 0x7E occurs inside payloads.
"""

from __future__ import annotations

from dataclasses import dataclass

from .crc import crc16_x25
from .errors import DecodeError, ErrorKind

FLAG = 0x7E
MAX_FRAME = 2047 + 2  # 11-bit length plus both flags
_MIN_LENGTH = 7  # format(2) + 1-byte addresses (2) + control + FCS(2)
_MAX_ADDRESS = 4


class HeaderError(DecodeError):
    """The bytes do not even start a frame (bad length, address or HCS).

    A stream framer drops such a candidate silently (it is most likely a 0x7E in
    garbage); a frame with a good header but a bad FCS is worth reporting.
    """


@dataclass(slots=True)
class HdlcFrame:
    """One validated HDLC frame; `info` is the information field (LLC not removed)."""

    segmented: bool
    control: int
    info: bytes
    raw: bytes
    source_end: int  # index in `raw` after the source address (addresses start at 3)
    destination_end: int  # index in `raw` after the destination address

    @property
    def destination(self) -> int:
        """Destination (client) address value."""
        return _address_value(self.raw[3 : self.destination_end])

    @property
    def source(self) -> int:
        """Source (server) address value."""
        return _address_value(self.raw[self.destination_end : self.source_end])


def _address_end(buf: bytes | bytearray, start: int, avail: int, frame_end: int) -> int:
    """Index after an address field (its last byte has LSB=1); -1 = need bytes, -2 = bad."""
    if start < avail and buf[start] & 1 and start < frame_end:
        return start + 1  # one-byte address: the common case
    stop = min(start + _MAX_ADDRESS, frame_end)
    for i in range(start, min(stop, avail)):
        if buf[i] & 1:
            return i + 1
    return -1 if avail < stop else -2


def probe(buf: bytes | bytearray, pos: int) -> int:
    """Check the header of a frame candidate at `pos` (a flag followed by 0xA?).

    Returns the whole frame size (both flags included) once the header is seen to be
    valid, -1 if more bytes are needed to tell, -2 if this is not an HDLC header
    (bad length, address or HCS). The FCS is checked later by `parse_frame`.
    """
    end = len(buf)
    if pos + 3 > end:
        return -1
    length = ((buf[pos + 1] & 0x07) << 8) | buf[pos + 2]
    if length < _MIN_LENGTH:
        return -2
    frame_end = pos + 1 + length  # index of the closing flag
    dest_end = _address_end(buf, pos + 3, end, frame_end)
    if dest_end < 0:
        return dest_end
    src_end = _address_end(buf, dest_end, end, frame_end)
    if src_end < 0:
        return src_end
    control = src_end
    header_end = control + 1  # index of the HCS (or of the FCS without an info field)
    if header_end + 2 > frame_end:
        return -2
    if header_end + 2 == frame_end:
        return length + 2  # no information field: only an FCS, checked later
    if header_end + 4 > frame_end:
        return -2  # room for an HCS but not for an FCS
    if header_end + 2 > end:
        return -1
    hcs = buf[header_end] | (buf[header_end + 1] << 8)
    if crc16_x25(buf[pos + 1 : header_end]) != hcs:
        return -2
    return length + 2


def _address_value(raw: bytes) -> int:
    """Address value: the upper 7 bits of each byte, most significant byte first."""
    value = 0
    for byte in raw:
        value = (value << 7) | (byte >> 1)
    return value


# Headers (format, addresses, control, HCS) whose HCS was verified. A meter repeats a
# handful of them (they differ only in the length field), so the HCS is computed once per
# header, not once per frame. A pure function of the bytes: safe to share; bounded.
_GOOD_HEADERS: dict[bytes, None] = {}
_GOOD_HEADERS_MAX = 256


def parse_frame(frame: bytes) -> HdlcFrame:
    """Validate a complete frame (opening flag .. closing flag).

    Raises `HeaderError` (a DecodeError) when the header is no HDLC header at all,
    DecodeError(CHECKSUM) for a wrong FCS and DecodeError(FRAMING) for a missing flag.
    """
    size = len(frame)
    if size < _MIN_LENGTH + 2 or frame[0] != FLAG or frame[1] & 0xF0 != 0xA0:
        raise HeaderError(ErrorKind.FRAMING, "not an HDLC type-3 frame")
    if (((frame[1] & 0x07) << 8) | frame[2]) + 2 != size:
        raise HeaderError(ErrorKind.FRAMING, f"HDLC length does not match {size - 2} bytes")
    dest_end = _address_end(frame, 3, size, size - 1)
    src_end = _address_end(frame, dest_end, size, size - 1) if dest_end > 0 else -2
    if src_end < 0:
        raise HeaderError(ErrorKind.FRAMING, "HDLC address field not terminated")
    fcs_pos = size - 3
    info_start = src_end + 1
    if info_start != fcs_pos:
        if info_start + 2 > fcs_pos:
            raise HeaderError(ErrorKind.FRAMING, "HDLC frame too short for its HCS")
        header = frame[1 : info_start + 2]
        if header not in _GOOD_HEADERS:
            if crc16_x25(header[:-2]) != header[-2] | (header[-1] << 8):
                raise HeaderError(ErrorKind.CHECKSUM, "HDLC HCS wrong")
            if len(_GOOD_HEADERS) >= _GOOD_HEADERS_MAX:
                _GOOD_HEADERS.clear()
            _GOOD_HEADERS[header] = None
    if crc16_x25(frame[1:fcs_pos]) != frame[fcs_pos] | (frame[fcs_pos + 1] << 8):
        raise DecodeError(ErrorKind.CHECKSUM, f"HDLC FCS wrong ({size}-byte frame)")
    if frame[-1] != FLAG:
        raise DecodeError(ErrorKind.FRAMING, "HDLC closing flag missing")
    info = frame[info_start + 2 : fcs_pos] if info_start != fcs_pos else b""
    return HdlcFrame(bool(frame[1] & 0x08), frame[src_end], info, frame, src_end, dest_end)
