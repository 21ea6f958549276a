"""Wire-shape replay: the next push of a meter, checked against the frames of the last one.

A meter sends every push in the same frames: the same HDLC or M-Bus headers (length,
addresses, control, segment and block numbers), the same LLC and block-transfer headers;
only the payload bytes and the checksums change. Once a push has come through the full
pipeline (FrameHunter, LinkAssembler, BlockAssembler), `learn` records that shape. The
next push is then taken in one step: every header compared byte for byte with the
learned one (its HCS was verified then), every FCS or M-Bus sum computed, and the
payloads joined into the message the assemblers would have built. Anything that differs
returns None, and the caller gives the bytes to the FrameHunter as if replay did not
exist: the result of a push never depends on which path decoded it
(docs/architecture.md, "Decoder speed").
"""

from __future__ import annotations

from binascii import crc_hqx
from dataclasses import dataclass, field

from .assembly import GENERAL_BLOCK_TRANSFER, LLC_COMMAND, LLC_RESPONSE, parse_gbt
from .crc import X25_RESIDUE, reverse_bits
from .errors import DecodeError
from .hdlc import FLAG, HdlcFrame, parse_frame as parse_hdlc
from .mbus import START, STOP, MbusFrame, parse_frame as parse_mbus

_LLC = (LLC_RESPONSE, LLC_COMMAND)
_HDLC: int = 0
_MBUS: int = 1


@dataclass(frozen=True, slots=True)
class FrameShape:
    """One frame of a push: where it lies, the bytes that must repeat, where its payload is."""

    start: int
    end: int
    header: bytes  # push[start : start + len(header)]: flags, headers, LLC, GBT header
    kind: int  # _HDLC (FCS over start+1 .. end-3) or _MBUS (sum over start+4 .. end-2)

    @property
    def payload(self) -> tuple[int, int]:
        """Offsets of the payload within the push."""
        trailer = 3 if self.kind == _HDLC else 2
        return self.start + len(self.header), self.end - trailer


@dataclass(frozen=True, slots=True)
class WireShape:
    """The frames of one push and how their payloads form the message."""

    size: int
    frames: tuple[FrameShape, ...]
    blocks: bool  # the message is a joined block transfer (decoded with joined=True)
    # Per frame: start, end, header, kind, payload start and end (plain ints: hot loop).
    _checks: tuple[tuple[int, int, bytes, int, int, int], ...] = field(
        init=False, repr=False, compare=False
    )
    # Per frame: start, end of its header, the header (ReplayFeed checks them as they come).
    marks: tuple[tuple[int, int, bytes], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Flatten the frames for `take` and for the checks of a push still arriving."""
        checks = tuple((f.start, f.end, f.header, f.kind, *f.payload) for f in self.frames)
        object.__setattr__(self, "_checks", checks)
        marks = tuple((f.start, f.start + len(f.header), f.header) for f in self.frames)
        object.__setattr__(self, "marks", marks)

    def take(self, data: bytes) -> bytes | None:
        """Return the message carried by `data` (`size` bytes), or None if it differs.

        Checks what the FrameHunter checks for a frame whose header it has verified
        before: the repeated header, the FCS or M-Bus checksum and the closing byte.
        The bytes are bit-reversed once for all FCS checks (crc.py, X25_RESIDUE).
        """
        reversed_data = b""
        pieces = []
        for start, end, header, kind, first, last in self._checks:
            if not data.startswith(header, start):
                return None
            if kind == _HDLC:
                if not reversed_data:
                    reversed_data = reverse_bits(data)
                if (
                    data[end - 1] != FLAG
                    or crc_hqx(reversed_data[start + 1 : end - 1], 0xFFFF) != X25_RESIDUE
                ):
                    return None
            elif data[end - 1] != STOP or sum(data[start + 4 : end - 2]) & 0xFF != data[end - 2]:
                return None
            pieces.append(data[first:last])
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)


def _frames(raw: bytes) -> list[tuple[int, bytes]] | None:
    """Cut the bytes of a push into its frames by their length fields (None if they don't)."""
    out = []
    pos, n = 0, len(raw)
    while pos < n:
        first = raw[pos]
        if first == FLAG and pos + 3 <= n:
            size = (((raw[pos + 1] & 0x07) << 8) | raw[pos + 2]) + 2
        elif first == START and pos + 4 <= n:
            length = raw[pos + 1]
            size = (length if length >= 5 else length + 256) + 6
        else:
            return None
        if pos + size > n:
            return None
        out.append((pos, raw[pos : pos + size]))
        pos += size
    return out


def learn(raw: bytes, message: bytes) -> WireShape | None:
    """Record the shape of a push that decoded from `raw` (its frames) as `message`.

    `message` is what the assemblers passed on (the joined block data, or the joined
    segments). The shape is kept only when its payloads join to exactly that message, so
    a layer this module does not know (several APDUs per frame, mixed frames) is never
    replayed.
    """
    cut = _frames(raw)
    if not cut:
        return None
    frames: list[FrameShape] = []
    blocks: set[bool] = set()
    for start, frame_bytes in cut:
        try:
            frame: HdlcFrame | MbusFrame = (
                parse_hdlc(frame_bytes) if frame_bytes[0] == FLAG else parse_mbus(frame_bytes)
            )
        except DecodeError:
            return None
        if isinstance(frame, HdlcFrame):
            info, kind, trailer = frame.info, _HDLC, 3
        else:
            info, kind, trailer = frame.data, _MBUS, 2
        skip = 3 if info[:3] in (LLC_RESPONSE, LLC_COMMAND) else 0
        is_block = info[skip : skip + 1] == bytes((GENERAL_BLOCK_TRANSFER,))
        if is_block:
            try:
                block, end = parse_gbt(info, skip)
            except DecodeError:
                return None
            if end != len(info):
                return None
            skip = len(info) - len(block.data)
        blocks.add(is_block)
        header_size = len(frame_bytes) - trailer - len(info) + skip
        frames.append(FrameShape(start, start + len(frame_bytes), frame_bytes[:header_size], kind))
    if len(blocks) != 1:
        return None
    shape = WireShape(len(raw), tuple(frames), blocks.pop())
    joined = shape.take(raw)
    if joined is None or not message.endswith(joined):
        return None
    # A lone frame reaches the APDU layer with its LLC header, which skips it.
    head = message[: len(message) - len(joined)]
    return shape if head == b"" or (head in _LLC and not shape.blocks) else None
