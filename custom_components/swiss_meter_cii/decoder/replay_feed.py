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

    def take(self) -> tuple[bytes, bytes, bool] | Literal[Miss.MISS] | None:
        """Next push of the shape -> (message, raw, joined); MISS; None while bytes are due."""
        shape = self.shape
        assert shape is not None
        pending = self.pending
        if self._checked:
            skip = self._skip  # a header matched after these flags: they are all there is
        else:
            skip = 0  # flags that close the last frame or fill the line (not garbage)
            if shape.frames[0].header[0] == 0x7E:
                while skip < MAX_FILLER and pending[skip : skip + 2] == b"~~":
                    skip += 1
            self._skip = skip
        available = len(pending) - skip
        size = shape.size
        if available < size:
            return self._check_headers(shape, skip, available)
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

    def _check_headers(self, shape: WireShape, skip: int, available: int) -> Miss | None:
        """Compare the frame headers that are here; `need` becomes the next one's end.

        Each header is compared once, when all of it is here (what is here of it when a
        check runs anyway), so bytes of another list go back to the hunter at once.
        """
        pending = self.pending
        marks = shape.marks
        index = self._checked
        while index < len(marks):
            start, stop, header = marks[index]
            if stop > available:
                have = available - start
                if have > 0 and pending[skip + start : skip + available] != header[:have]:
                    return MISS
                self._checked = index
                self.need = skip + stop
                return None
            if not pending.startswith(header, skip + start):
                return MISS
            index += 1
        self._checked = index
        self.need = skip + shape.size
        return None
