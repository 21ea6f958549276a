"""Reassembly: link-layer segments (HDLC S bit, M-Bus CI) and general block transfer.

L+G E450/E570 split a push into GBT blocks, one complete HDLC frame each (LLC only in
the first); Iskra AM550 uses the HDLC segmentation bit (LLC only in the first segment);
Kaifa and Sagemcom split over M-Bus long frames numbered in the CI field. A lost or
repeated piece invalidates the whole push: it is dropped as a `framing` event, never
decoded from partial data.
"""

from __future__ import annotations

from dataclasses import dataclass

from .axdr import TruncatedError, read_length
from .errors import DecodeError, ErrorKind
from .hdlc import HdlcFrame
from .mbus import MbusFrame
from .push import ErrorEvent

LLC_RESPONSE = b"\xe6\xe7\x00"
LLC_COMMAND = b"\xe6\xe6\x00"
GENERAL_BLOCK_TRANSFER = 0xE0
MAX_MESSAGE = 65536  # no push comes near this; bounds memory for endless sequences
_APDU_TAGS = frozenset((0x0F, 0xDB, 0xDC, 0xE0))


@dataclass(slots=True)
class RawApdu:
    """A frame without checksummed link layer: IP wrapper, LLC only, bare APDU or DSMR."""

    kind: str  # "ip", "llc", "bare" or "dsmr"
    data: bytes  # the APDU (LLC removed) or the telegram text
    raw: bytes


type LinkFrame = HdlcFrame | MbusFrame | RawApdu


@dataclass(slots=True)
class Message:
    """Reassembled link-layer payload: one or more APDUs, and the frames that carried it."""

    data: bytes
    raw: bytes


def strip_llc(data: bytes) -> bytes:
    """Remove a leading LLC header (`E6 E7 00` response or `E6 E6 00` command) if present."""
    if data[:3] in (LLC_RESPONSE, LLC_COMMAND):
        return data[3:]
    return data


@dataclass(slots=True)
class GbtBlock:
    """One general-block-transfer APDU: `E0 | BC | BN(2) | BNA(2) | len | block data`."""

    last: bool
    number: int
    acknowledged: int
    data: bytes


def parse_gbt(buf: bytes, pos: int = 0) -> tuple[GbtBlock, int]:
    """Parse a GBT block at `pos` -> (block, position after it).

    Raises DecodeError(MALFORMED) or `axdr.TruncatedError`.
    """
    n = len(buf)
    if pos >= n or buf[pos] != GENERAL_BLOCK_TRANSFER:
        raise DecodeError(ErrorKind.MALFORMED, "not a general-block-transfer APDU")
    if pos + 6 > n:
        raise TruncatedError(pos + 6)
    control = buf[pos + 1]
    number = (buf[pos + 2] << 8) | buf[pos + 3]
    acknowledged = (buf[pos + 4] << 8) | buf[pos + 5]
    length, start = read_length(buf, pos + 6)
    end = start + length
    if end > n:
        raise TruncatedError(end)
    return GbtBlock(bool(control & 0x80), number, acknowledged, bytes(buf[start:end])), end


class _Pieces:
    """The pieces of a message being put together (blocks or segments) and their frames."""

    __slots__ = ("count", "data", "next", "raws", "size")

    def __init__(self) -> None:
        """Start empty."""
        self.clear()

    def clear(self) -> None:
        """Forget every piece."""
        self.data: list[bytes] = []
        self.raws: list[bytes] = []
        self.size = 0
        self.next = 0  # number the next piece must have (blocks, M-Bus segments)
        self.count = 0

    def add(self, data: bytes, raw: bytes) -> None:
        """Append a piece and the link-layer bytes that carried it."""
        self.data.append(data)
        self.raws.append(raw)
        self.size += len(data)
        self.count += 1

    def message(self) -> Message:
        """Join the pieces into the message and start over."""
        message = Message(b"".join(self.data), b"".join(self.raws))
        self.clear()
        return message

    def drop(self, kind: ErrorKind, detail: str) -> ErrorEvent:
        """Discard the pieces as one event (`detail` says why) and start over."""
        event = ErrorEvent(kind, detail, raw=b"".join(self.raws))
        self.clear()
        return event


class BlockAssembler:
    """Joins GBT blocks: starts at BN=1, appends while BN = previous + 1, ends at LB."""

    __slots__ = ("_broken", "_pieces")

    def __init__(self) -> None:
        """Start with no sequence in progress."""
        self._pieces = _Pieces()
        self._broken = False  # the rest of a sequence already reported as broken

    @property
    def pending(self) -> bool:
        """Whether a block sequence is waiting for more blocks."""
        return self._pieces.count > 0

    def _drop(self, reason: str) -> ErrorEvent:
        """Discard the partial sequence as a `framing` event."""
        pieces = self._pieces
        return pieces.drop(ErrorKind.FRAMING, f"{reason}: {pieces.count} block(s) discarded")

    def push(self, block: GbtBlock, raw: bytes) -> list[Message | ErrorEvent]:
        """Add a block; returns the completed inner APDU and/or sequence errors."""
        out: list[Message | ErrorEvent] = []
        pieces = self._pieces
        if block.number == 1:
            self._broken = False
            if pieces.count:
                out.append(self._drop("block transfer restarted at block 1"))
        elif not pieces.count:
            if self._broken:
                self._broken = not block.last
                return out  # belongs to the push already reported
            out.append(
                ErrorEvent(
                    ErrorKind.FRAMING, f"block {block.number} without block 1 discarded", raw=raw
                )
            )
            return out
        elif block.number != pieces.next:
            out.append(self._drop(f"block {block.number} after block {pieces.next - 1}"))
            self._broken = not block.last
            return out
        pieces.add(block.data, raw)
        pieces.next = block.number + 1
        if pieces.size > MAX_MESSAGE:
            out.append(self._drop("block transfer too long"))
        elif block.last:
            out.append(pieces.message())
        return out

    def discard(self) -> None:
        """Frames were lost on the line: never join blocks across the gap.

        The loss was reported where it happened, so the pending blocks and the rest of
        their sequence (up to its last block) are dropped without another event.
        """
        self._pieces.clear()
        self._broken = True

    def flush(self) -> list[ErrorEvent]:
        """End of input: a pending sequence is `incomplete`."""
        pieces = self._pieces
        if not pieces.count:
            return []
        detail = f"block transfer ended after {pieces.count} block(s) without the last block"
        return [pieces.drop(ErrorKind.INCOMPLETE, detail)]


class LinkAssembler:
    """Joins HDLC S-bit segments and M-Bus CI segments into messages."""

    __slots__ = ("_broken", "_hdlc", "_mbus")

    def __init__(self) -> None:
        """Start with nothing pending."""
        self._hdlc = _Pieces()
        self._mbus = _Pieces()
        self._broken = False  # frames were lost: skip segments until a push starts

    @property
    def idle(self) -> bool:
        """No segments pending or being skipped: a whole frame needs no assembly."""
        return not self._hdlc.count and not self._broken

    def discard(self) -> None:
        """Frames were lost on the line: never join segments across the gap.

        Segments carry no push identity, so after a loss the segment that follows may
        belong to the next push (a plaintext push glued from two would pass unnoticed).
        The loss was reported where it happened; the pending segments and the rest of
        their push are dropped without another event, until a push visibly starts
        (HDLC: a segment opening with LLC; M-Bus: segment 0).
        """
        self._hdlc.clear()
        self._mbus.clear()
        self._broken = True

    def push(self, frame: LinkFrame) -> list[Message | ErrorEvent]:
        """Add a validated frame; returns completed messages and sequence errors."""
        if isinstance(frame, HdlcFrame):
            return self._push_hdlc(frame)
        if isinstance(frame, MbusFrame):
            return self._push_mbus(frame)
        return [Message(frame.data, frame.raw)]

    def _push_hdlc(self, frame: HdlcFrame) -> list[Message | ErrorEvent]:
        """HDLC segmentation: S=1 on every frame but the last; LLC only in the first."""
        out: list[Message | ErrorEvent] = []
        info = frame.info
        if self._broken:
            if info[:3] not in (LLC_RESPONSE, LLC_COMMAND):
                self._broken = frame.segmented  # the rest of a push lost on the line
                return out
            self._broken = False
        pieces = self._hdlc
        if pieces.count and info[:3] == LLC_RESPONSE and info[3:4] and info[3] in _APDU_TAGS:
            # A segment that opens with LLC + APDU tag starts a new APDU: the last
            # segment of the previous one was lost.
            out.append(self._drop(pieces, ErrorKind.FRAMING, "HDLC segment sequence broken"))
        if not pieces.count:
            info = strip_llc(info)
        if frame.segmented or pieces.count:
            pieces.add(info, frame.raw)
            if pieces.size > MAX_MESSAGE:
                out.append(self._drop(pieces, ErrorKind.FRAMING, "HDLC segment sequence too long"))
            elif not frame.segmented:
                out.append(pieces.message())
            return out
        out.append(Message(info, frame.raw))
        return out

    @staticmethod
    def _drop(pieces: _Pieces, kind: ErrorKind, reason: str) -> ErrorEvent:
        """Discard pending segments."""
        return pieces.drop(kind, f"{reason}: {pieces.count} segment(s) discarded")

    def _push_mbus(self, frame: MbusFrame) -> list[Message | ErrorEvent]:
        """M-Bus segmentation: numbers 0, 1, 2 ... in the CI; FIN marks the last."""
        out: list[Message | ErrorEvent] = []
        if self._broken:
            if frame.segment != 0:
                self._broken = not frame.last  # the rest of a push lost on the line
                return out
            self._broken = False
        pieces = self._mbus
        if frame.segment == 0:
            if pieces.count:
                out.append(self._drop(pieces, ErrorKind.FRAMING, "M-Bus segment 0 repeated"))
        elif not pieces.count:
            out.append(
                ErrorEvent(
                    ErrorKind.FRAMING,
                    f"M-Bus segment {frame.segment} without segment 0 discarded",
                    raw=frame.raw,
                )
            )
            return out
        elif frame.segment != pieces.next:
            reason = f"M-Bus segment {frame.segment} after segment {(pieces.next - 1) % 16}"
            out.append(self._drop(pieces, ErrorKind.FRAMING, reason))
            return out
        pieces.add(frame.data, frame.raw)
        pieces.next = (frame.segment + 1) % 16
        if frame.last:
            out.append(pieces.message())
        elif pieces.count * 256 > MAX_MESSAGE:
            out.append(self._drop(pieces, ErrorKind.FRAMING, "M-Bus segment sequence too long"))
        return out

    def flush(self) -> list[ErrorEvent]:
        """End of input: pending segments are `incomplete`."""
        out = []
        if self._hdlc.count:
            out.append(
                self._drop(self._hdlc, ErrorKind.INCOMPLETE, "HDLC segments without the last")
            )
        if self._mbus.count:
            out.append(
                self._drop(self._mbus, ErrorKind.INCOMPLETE, "M-Bus segments without the last")
            )
        return out
