"""Replay feeding: bytes held while they may be the next push of the learned wire shape.

replay.py learns where a push's frames lie and which bytes repeat; this compares the bytes
of the next push with that shape as they arrive (docs/architecture.md, "Decoder speed").
Every frame header is compared as soon as its bytes are here, so bytes of another shape (the
meter's other list, a lost frame) go back to the FrameHunter at once and never wait for a
push's worth of bytes. Knows nothing of the hunter or the pipeline: StreamDecoder does.
"""

from __future__ import annotations

from enum import Enum
from typing import Final, Literal

from .framing import MAX_FILLER
from .replay import WireShape

# After this many pushes in a row that did not fit the learned shape, learning pauses for
# REPLAY_PAUSE slow pushes (a meter whose frames never repeat).
REPLAY_MISSES = 3
REPLAY_PAUSE = 64


class Miss(Enum):
    """The held bytes are not the learned shape."""

    MISS = "miss"


MISS: Final = Miss.MISS


class ReplayFeed:
    """The learned shape, the bytes held for it and when to learn again."""

    __slots__ = (
        "_checked",
        "_learn_pause",
        "_misses",
        "_skip",
        "_slow_pushes",
        "need",
        "pending",
        "replayed_bytes",
        "replayed_frames",
        "shape",
    )

    def __init__(self) -> None:
        """No shape learned yet."""
        self.shape: WireShape | None = None  # frames of the last push, for replay
        self.pending = bytearray()  # bytes waiting to form a push of that shape
        self.need = 0  # pending bytes before the next check can tell anything
        self._skip = 0  # leading flags of the pending bytes
        self._checked = 0  # frames of the pending push whose header matched
        self._misses = 0
        self._learn_pause = 0
        self._slow_pushes = 0  # pushes that took the full pipeline
        self.replayed_bytes = 0
        self.replayed_frames = 0

    def start(self, shape: WireShape, held: bytes) -> None:
        """Replay `shape` from now on; `held` is the start of the next push, if a read had it."""
        self.shape = shape
        self.pending += held

    def due(self) -> bool:
        """Count a push that took the full pipeline; whether its shape is worth learning.

        A one-shot decode (decode_capture) has one push and never pays for learning.
        """
        if self._learn_pause:
            self._learn_pause -= 1
            return False
        self._slow_pushes += 1
        return self._slow_pushes >= 2

    def release(self) -> bytes:
        """End replay: the bytes it held, for the hunter, in the order they came."""
        data = bytes(self.pending)
        self.pending.clear()
        self.shape = None
        self._skip = self._checked = self.need = 0
        return data

    def miss(self) -> bytes:
        """End replay for bytes that are not the shape; pause learning after a run of these."""
        data = self.release()
        self._misses += 1
        if self._misses >= REPLAY_MISSES:
            self._misses = 0
            self._learn_pause = REPLAY_PAUSE
        return data

    def waiting(self) -> bool:
        """Whether the held bytes begin a push of the shape whose rest is still to come.

        What a small read costs: each frame header is compared once, when all of it is here,
        so bytes of another list go back to the hunter at once; `need` becomes the end of the
        next header. Runs on most reads of a serial port: kept to one loop.
        """
        shape = self.shape
        assert shape is not None
        index = self._checked
        skip = self._skip if index else self._leading(shape)
        pending = self.pending
        available = len(pending) - skip
        if available >= shape.size:
            return False
        marks = shape.marks
        while index < len(marks):
            start, stop, header = marks[index]
            if stop > available:
                self._checked = index
                self.need = skip + stop
                return True
            if not pending.startswith(header, skip + start):
                return False  # another shape: take() says MISS
            index += 1
        self._checked = index
        self.need = skip + shape.size
        return True

    def take(self) -> tuple[bytes, bytes, bool] | Literal[Miss.MISS] | None:
        """Next push of the shape -> (message, raw, joined); MISS; None while bytes are due."""
        shape = self.shape
        assert shape is not None
        pending = self.pending
        skip = self._skip if self._checked else self._leading(shape)
        available = len(pending) - skip
        size = shape.size
        if available < size:
            return None if self.waiting() else MISS
        # A whole push at hand: shape.take compares every header.
        raw = bytes(pending[skip : skip + size])
        message = shape.take(raw)
        if message is None:
            return MISS
        # An HDLC closing flag may also open the next frame (shared flags): it stays, as it
        # stays in the FrameHunter's buffer.
        keep = 1 if raw[-1] == 0x7E else 0
        del pending[: skip + size - keep]
        self._skip = self._checked = 0
        self.need = keep + 1  # the next check needs a byte past the kept flag
        self.replayed_bytes += skip + size - keep
        self.replayed_frames += len(shape.frames)
        self._misses = 0
        return message, raw, shape.blocks

    def _leading(self, shape: WireShape) -> int:
        """Count the flags before a push not begun (they close a frame or fill the line)."""
        skip = 0
        if shape.frames[0].header[0] == 0x7E:
            pending = self.pending
            while skip < MAX_FILLER and pending[skip : skip + 2] == b"~~":
                skip += 1
        self._skip = skip
        return skip
