"""StreamDecoder: bytes in, pushes and error events out (stateful, one per connection).

The link layer is here: bytes take the FrameHunter and the LinkAssembler (HDLC / M-Bus
segments), or replay of the last push's wire shape (replay_feed.py) once a meter repeats its
frames; the messages go to the pipeline (pipeline.py: APDUs, security, frame counters,
layouts). Sans-IO: the caller owns the port and the clock; `feed` never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import tzinfo
import logging
from typing import Any
from zoneinfo import ZoneInfo

from .assembly import LinkAssembler, LinkFrame, RawApdu
from .counters import OUTER
from .errors import ErrorKind
from .framing import DEFAULT_MAX_BUFFER, FrameHunter
from .framing_dsmr import KIND as DSMR
from .hdlc import HdlcFrame
from .keys import parse_key
from .layouts import LayoutDecoder
from .models import AUTO
from .pipeline import Pipeline
from .push import ErrorEvent, Push
from .replay import learn
from .replay_feed import MISS, ReplayFeed
from .security import Decryptor

_LOGGER = logging.getLogger(__name__)

DEFAULT_TZ = ZoneInfo("Europe/Zurich")

type Result = Push | ErrorEvent


@dataclass(slots=True)
class DecoderStats:
    """Counters for diagnostics and the setup wizard's live check."""

    bytes_received: int = 0
    garbage_bytes: int = 0
    frames: int = 0
    pushes: int = 0
    errors: dict[ErrorKind, int] = field(default_factory=dict)


def _key_bytes(value: bytes | bytearray | str | None, name: str) -> bytes | None:
    """Accept a key as 16 bytes or as hex text; the error message never shows the key."""
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return parse_key(value)
        except ValueError as err:
            raise ValueError(f"{name}: {err}") from None
    if len(value) != 16:
        raise ValueError(f"{name}: {len(value)} bytes, expected 16")
    return bytes(value)


class StreamDecoder:
    """Decodes one connection's byte stream into `Push` and `ErrorEvent` objects."""

    def __init__(
        self,
        *,
        key: bytes | bytearray | str | None = None,
        auth_key: bytes | bytearray | str | None = None,
        model: str = AUTO,
        scaler_overrides: Mapping[str, int] | None = None,
        local_tz: tzinfo | None = None,
        max_buffer: int = DEFAULT_MAX_BUFFER,
        country: str | None = None,
    ) -> None:
        """Configure keys (bytes or hex text), model, scaler overrides, time zone, country.

        Raises ValueError for a malformed key, an unknown model or a bad override.
        """
        self._decryptor = Decryptor(
            _key_bytes(key, "encryption key"), _key_bytes(auth_key, "authentication key")
        )
        tz: tzinfo = local_tz if local_tz is not None else DEFAULT_TZ
        self._model = model
        self._layout = LayoutDecoder(
            model=model, scaler_overrides=scaler_overrides, local_tz=tz, country=country
        )
        self._pipeline = Pipeline(self._decryptor, self._layout, model=model, local_tz=tz)
        self._max_buffer = max_buffer
        self._hunter = FrameHunter(max_buffer=max_buffer)
        self._hunter_totals = (0, 0, 0)  # bytes, garbage, frames of replaced hunters
        self._link = LinkAssembler()
        self._replay = ReplayFeed()
        self._pushes = 0
        self._errors: dict[ErrorKind, int] = {}

    def __repr__(self) -> str:
        """Describe the configuration without key material."""
        return f"StreamDecoder(model={self._model!r}, decryptor={self._decryptor!r})"

    @property
    def stats(self) -> DecoderStats:
        """A snapshot of the counters."""
        hunter = self._hunter
        replay = self._replay
        received, garbage, frames = self._hunter_totals
        return DecoderStats(
            bytes_received=received
            + hunter.bytes_received
            + replay.replayed_bytes
            + len(replay.pending),
            garbage_bytes=garbage + hunter.garbage_bytes,
            frames=frames + hunter.frames + replay.replayed_frames,
            pushes=self._pushes,
            errors=dict(self._errors),
        )

    # -- public entry points ----------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[Result]:
        """Decode a chunk of any size; returns pushes and errors completed by it."""
        replay = self._replay
        if replay.shape is not None:
            replay.pending += data
            if len(replay.pending) < replay.need or replay.waiting():
                return []  # a serial port's small reads: nothing new, or headers that match
            return self._replayed()
        out = self._feed_hunter(data)
        self._learn_and_go_on(out)
        return out

    def flush(self) -> list[Result]:
        """End of capture (or a long silence): leftovers become `incomplete` events."""
        held = self._replay.release()  # the end of input is no miss of the shape
        out = self._feed_hunter(held) if held else []
        out.extend(self._flush_hunter())
        return out

    # -- replay of the last push's wire shape (replay_feed.py) -------------------------

    def _replayed(self) -> list[Result]:
        """Take whole pushes of the learned shape; anything else goes to the hunter."""
        replay = self._replay
        pending = replay.pending
        out: list[Result] = []
        while len(pending) >= replay.need:  # else nothing new to check
            step = replay.take()
            if step is None:
                return out
            if step is MISS:
                out.extend(self._stop_replay())
                return out
            message, raw, joined = step
            start = len(out)
            try:
                self._pipeline.on_message(message, raw, OUTER, out, joined=joined)
            except Exception:  # last line of defence
                del out[start:]
                out.append(self._internal_error(raw))
            self._count(out[start:])
        return out

    def _stop_replay(self) -> list[Result]:
        """Give bytes that are not the learned shape to the hunter, as they came."""
        out = self._feed_hunter(self._replay.miss())
        self._learn_and_go_on(out)
        return out

    def _learn_and_go_on(self, out: list[Result]) -> None:
        """Learn from `out`; bytes of the next push the hunter held go on along the shape."""
        self._learn(out)
        if self._replay.shape is not None and self._replay.pending:
            out.extend(self._replayed())

    def _learn(self, out: list[Result]) -> None:
        """After a push that ends the bytes seen so far, learn its shape for replay."""
        pipeline = self._pipeline
        if not out or not isinstance(out[-1], Push) or pipeline.message is None:
            return
        if not self._replay.due() or not self._link.idle or not pipeline.idle:
            return
        message, joined = pipeline.message
        shape = learn(out[-1].raw, message)
        if shape is None or shape.blocks != joined:
            return
        rest = self._hunter.detach()  # the start of the next push, if a read held it
        if rest is None:
            return
        self._replay.start(shape, rest)

    # -- the full pipeline -------------------------------------------------------------

    def _feed_hunter(self, data: bytes | bytearray | memoryview) -> list[Result]:
        """Run the full pipeline: FrameHunter, assemblers, APDUs."""
        try:
            items = self._hunter.feed(data)
        except Exception:  # last line of defence, see _internal_error
            items = [self._internal_error(bytes(data[:256]))]
            self._reset_hunter()
        return self._process(items)

    def _flush_hunter(self) -> list[Result]:
        """End of input for the full pipeline."""
        try:
            items = self._hunter.flush()
        except Exception:  # last line of defence
            items = [self._internal_error(b"")]
            self._reset_hunter()
        out = self._process(items)
        tail: list[ErrorEvent] = [*self._link.flush(), *self._pipeline.flush()]
        self._count(tail)
        out.extend(tail)
        return out

    def _reset_hunter(self) -> None:
        """Replace a hunter that failed, keeping its counters."""
        hunter = self._hunter
        received, garbage, frames = self._hunter_totals
        self._hunter_totals = (
            received + hunter.bytes_received,
            garbage + hunter.garbage_bytes,
            frames + hunter.frames,
        )
        self._hunter = FrameHunter(max_buffer=self._max_buffer)

    def _internal_error(self, raw: bytes) -> ErrorEvent:
        """Turn an unexpected exception (a decoder bug) into a `malformed` event."""
        _LOGGER.debug("Decoder bug while decoding a push", exc_info=True)
        return ErrorEvent(ErrorKind.MALFORMED, "internal decoder error", raw=raw)

    def _process(self, items: list[LinkFrame | ErrorEvent]) -> list[Result]:
        """Run every frame through the rest of the pipeline; one bad push stops nothing."""
        out: list[Result] = []
        for item in items:
            if isinstance(item, ErrorEvent):
                # Bytes were lost between frames: a half-built push must not be completed
                # with segments or blocks of the next one.
                self._link.discard()
                self._pipeline.discard()
                out.append(item)
                continue
            start = len(out)
            try:
                self._on_frame(item, out)
            except Exception:  # last line of defence
                del out[start:]
                out.append(self._internal_error(item.raw))
        self._count(out)
        return out

    def _on_frame(self, frame: LinkFrame, out: list[Result]) -> None:
        """Reassemble a validated link frame, then decode what it completes."""
        pipeline = self._pipeline
        if isinstance(frame, RawApdu) and frame.kind == DSMR:
            pipeline.on_dsmr(frame.data, frame.raw, OUTER, out)
            return
        if type(frame) is HdlcFrame and not frame.segmented and self._link.idle:
            # The common case (every E450 frame): a whole APDU or block, nothing to join.
            pipeline.on_message(frame.info, frame.raw, OUTER, out, joined=False)
            return
        for message in self._link.push(frame):
            if isinstance(message, ErrorEvent):
                out.append(message)
            else:
                pipeline.on_message(message.data, message.raw, OUTER, out, joined=False)

    def _count(self, results: list[Result] | list[ErrorEvent]) -> None:
        """Update push and error counters."""
        errors = self._errors
        for result in results:
            if isinstance(result, Push):
                self._pushes += 1
            else:
                errors[result.kind] = errors.get(result.kind, 0) + 1


def decode_capture(data: bytes | bytearray | memoryview, **kwargs: Any) -> list[Result]:
    """Decode a complete capture in one go (same keyword arguments as StreamDecoder)."""
    decoder = StreamDecoder(**kwargs)
    return decoder.feed(data) + decoder.flush()
