"""StreamDecoder: bytes in, pushes and error events out (stateful, one per connection).

Pipeline: FrameHunter -> LinkAssembler (HDLC / M-Bus segments) -> APDUs (LLC, GBT) ->
security (DB/DC) -> Data-Notification or DSMR text -> frame-counter check -> layouts.
Sans-IO: the caller owns the port and the clock; `feed` never raises.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import tzinfo
import logging
from typing import Any
from zoneinfo import ZoneInfo

from . import dsmr
from .apdu import DATA_NOTIFICATION, DataNotification, NotificationMemo, parse_data_notification
from .assembly import (
    GENERAL_BLOCK_TRANSFER,
    LLC_COMMAND,
    LLC_RESPONSE,
    BlockAssembler,
    LinkAssembler,
    LinkFrame,
    RawApdu,
    parse_gbt,
)
from .errors import DecodeError, ErrorKind
from .framing import DEFAULT_MAX_BUFFER, MAX_FILLER, FrameHunter
from .framing_dsmr import KIND as DSMR
from .hdlc import HdlcFrame
from .keys import parse_key
from .layouts import LayoutDecoder
from .models import AUTO, MODELS
from .push import ErrorEvent, Push, Security
from .replay import WireShape, learn
from .security import CIPHERED_TAGS, CipheredApdu, Decryptor, parse_ciphered
from .values import CosemDateTime

_LOGGER = logging.getLogger(__name__)

DEFAULT_TZ = ZoneInfo("Europe/Zurich")
# Replay (replay.py): after this many pushes in a row that did not fit the learned shape,
# learning pauses for REPLAY_PAUSE slow pushes (a meter whose frames never repeat).
REPLAY_MISSES = 3
REPLAY_PAUSE = 64
RESYNC_REFUSALS = 3  # strictly rising refused counters that re-synchronise (architecture.md)
_MAX_TITLES = 64  # system titles tracked per connection (bounded against hostile input)
_LLC = (LLC_RESPONSE, LLC_COMMAND)
# Seen in the DLMS world, never in CII pushes (docs/protocol.md, "APDU tags").
_UNSUPPORTED_APDUS = {
    0xCA: "glo-event-notification is not supported",
    0xD2: "ded-event-notification is not supported",
    0xDD: "general-ciphering is not supported",
    0xDF: "general-signing is not supported",
}

type Result = Push | ErrorEvent


@dataclass(slots=True)
class DecoderStats:
    """Counters for diagnostics and the setup wizard's live check."""

    bytes_received: int = 0
    garbage_bytes: int = 0
    frames: int = 0
    pushes: int = 0
    errors: dict[ErrorKind, int] = field(default_factory=dict)


@dataclass(slots=True)
class _Context:
    """What the security layer learned about the push being decoded."""

    system_title: bytes | None = None
    frame_counter: int | None = None
    security: Security = Security.NONE
    counter_reset: bool = False
    inside: bool = False  # decoding the plaintext of a ciphered APDU


# Context of frames outside any ciphering. Never changed: only a ciphered push gets (and
# changes) a context of its own, so one instance serves every plain frame.
_OUTER = _Context()


@dataclass(slots=True)
class _Counter:
    """Frame-counter tracking for one system title."""

    last: int
    refused: list[int] = field(default_factory=list)


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
        self._tz: tzinfo = local_tz if local_tz is not None else DEFAULT_TZ
        self._model = model
        self._layout = LayoutDecoder(
            model=model, scaler_overrides=scaler_overrides, local_tz=self._tz, country=country
        )
        self._max_buffer = max_buffer
        self._hunter = FrameHunter(max_buffer=max_buffer)
        self._link = LinkAssembler()
        # Block transfer outside and inside a ciphertext (E450: outside).
        self._blocks = (BlockAssembler(), BlockAssembler())
        self._counters: dict[bytes, _Counter] = {}
        self._last_plain: bytes | None = None
        self._memo = NotificationMemo()  # push object list and layout, learned per connection
        self._stats = DecoderStats()
        self._hunter_totals = (0, 0, 0)  # bytes, garbage, frames of replaced hunters
        self._shape: WireShape | None = None  # frames of the last push, for replay
        self._pending = bytearray()  # bytes waiting to form a push of that shape
        self._message: tuple[bytes, bool] | None = None  # last message that held an APDU
        self._replay_misses = 0
        self._replay_skip = 0  # leading flags of the pending bytes
        self._replay_checked = 0  # frames of the pending push whose header matched
        self._replay_need = 0  # pending bytes before the next check can tell anything
        self._learn_pause = 0
        self._slow_pushes = 0  # pushes that took the full pipeline
        self._replayed = [0, 0]  # bytes, frames taken by replay

    def __repr__(self) -> str:
        """Describe the configuration without key material."""
        return f"StreamDecoder(model={self._model!r}, decryptor={self._decryptor!r})"

    @property
    def stats(self) -> DecoderStats:
        """A snapshot of the counters."""
        hunter = self._hunter
        received, garbage, frames = self._hunter_totals
        replayed_bytes, replayed_frames = self._replayed
        return replace(
            self._stats,
            bytes_received=received + hunter.bytes_received + replayed_bytes + len(self._pending),
            garbage_bytes=garbage + hunter.garbage_bytes,
            frames=frames + hunter.frames + replayed_frames,
            errors=dict(self._stats.errors),
        )

    # -- public entry points ----------------------------------------------------------

    def feed(self, data: bytes | bytearray | memoryview) -> list[Result]:
        """Decode a chunk of any size; returns pushes and errors completed by it."""
        if self._shape is not None:
            return self._feed_replay(data)
        out = self._feed_hunter(data)
        self._learn_and_go_on(out)
        return out

    def _learn_and_go_on(self, out: list[Result]) -> None:
        """Learn from `out`; bytes of the next push the hunter held go on along the shape."""
        self._learn(out)
        if self._shape is not None and self._pending:
            out.extend(self._feed_replay(b""))

    def flush(self) -> list[Result]:
        """End of capture (or a long silence): leftovers become `incomplete` events."""
        held = self._release_pending()  # the end of input is no miss of the shape
        out = self._feed_hunter(held) if held else []
        out.extend(self._flush_hunter())
        return out

    # -- replay of the last push's wire shape (replay.py) ------------------------------

    def _feed_hunter(self, data: bytes | bytearray | memoryview) -> list[Result]:
        """Run the full pipeline: FrameHunter, assemblers, APDUs."""
        try:
            items = self._hunter.feed(data)
        except Exception:  # last line of defence, see _internal_error
            items = [self._internal_error(bytes(data[:256]))]
            self._reset_hunter()
        return self._process(items)

    def _feed_replay(self, data: bytes | bytearray | memoryview) -> list[Result]:
        """Take whole pushes of the learned shape; anything else goes to the hunter.

        Every frame header is compared as soon as its bytes are here, so bytes of another
        shape (the meter's other list, a lost frame) go to the hunter at once and never
        wait for a push's worth of bytes.
        """
        shape = self._shape
        assert shape is not None
        pending = self._pending
        pending += data
        if len(pending) < self._replay_need:
            return []  # nothing new to check before these many bytes (64-byte reads)
        out: list[Result] = []
        frames = shape.frames
        size = shape.size
        while True:
            skip = 0  # flags that close the last frame or fill the line (not garbage)
            while (
                skip < MAX_FILLER
                and frames[0].header[0] == 0x7E
                and pending[skip : skip + 2] == b"~~"
            ):
                skip += 1
            if skip != self._replay_skip:
                self._replay_skip, self._replay_checked = skip, 0
            available = len(pending) - skip
            index = self._replay_checked
            while index < len(frames) and frames[index].end <= available:
                if not pending.startswith(frames[index].header, skip + frames[index].start):
                    out.extend(self._stop_replay())
                    return out
                index += 1
            if index < len(frames):
                frame = frames[index]
                have = min(available - frame.start, len(frame.header))
                start = skip + frame.start
                if have > 0 and pending[start : start + have] != frame.header[:have]:
                    out.extend(self._stop_replay())
                    return out
                self._replay_checked = index
                whole = len(frame.header) if have < len(frame.header) else frame.end - frame.start
                self._replay_need = start + whole
                return out
            raw = bytes(pending[skip : skip + size])
            message = shape.take(raw)
            if message is None:
                out.extend(self._stop_replay())
                return out
            # An HDLC closing flag may also open the next frame (shared flags): it stays, as
            # it stays in the FrameHunter's buffer.
            keep = 1 if raw[-1] == 0x7E else 0
            del pending[: skip + size - keep]
            self._replay_skip = self._replay_checked = self._replay_need = 0
            self._replayed[0] += skip + size - keep
            self._replayed[1] += len(frames)
            self._replay_misses = 0
            start = len(out)
            try:
                self._on_message(message, raw, _OUTER, out, joined=shape.blocks)
            except Exception:  # last line of defence
                del out[start:]
                out.append(self._internal_error(raw))
            self._count(out[start:])

    def _release_pending(self) -> bytes:
        """End replay: the bytes it held, for the hunter, in the order they came."""
        data = bytes(self._pending)
        self._pending.clear()
        self._shape = None
        self._replay_skip = self._replay_checked = self._replay_need = 0
        return data

    def _stop_replay(self) -> list[Result]:
        """Give bytes that are not the learned shape to the hunter, as they came."""
        data = self._release_pending()
        self._replay_misses += 1
        if self._replay_misses >= REPLAY_MISSES:
            self._replay_misses = 0
            self._learn_pause = REPLAY_PAUSE
        out = self._feed_hunter(data)
        self._learn_and_go_on(out)
        return out

    def _learn(self, out: list[Result]) -> None:
        """After a push that ends the bytes seen so far, learn its shape for replay."""
        if not out or not isinstance(out[-1], Push) or self._message is None:
            return
        if self._learn_pause:
            self._learn_pause -= 1
            return
        self._slow_pushes += 1
        if self._slow_pushes < 2:  # a one-shot decode (decode_capture) never pays for learning
            return
        if not self._link.idle or any(b.pending for b in self._blocks):
            return
        message, joined = self._message
        shape = learn(out[-1].raw, message)
        if shape is None or shape.blocks != joined:
            return
        rest = self._hunter.detach()  # the start of the next push, if a read held it
        if rest is None:
            return
        self._shape = shape
        self._pending += rest

    def _flush_hunter(self) -> list[Result]:
        """End of input for the full pipeline."""
        try:
            items = self._hunter.flush()
        except Exception:  # last line of defence
            items = [self._internal_error(b"")]
            self._reset_hunter()
        out = self._process(items)
        tail: list[ErrorEvent] = [*self._link.flush()]
        for blocks in self._blocks:
            tail.extend(blocks.flush())
        self._count(tail)
        out.extend(tail)
        return out

    # -- pipeline ---------------------------------------------------------------------

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
                for blocks in self._blocks:
                    blocks.discard()
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

    def _count(self, results: list[Result] | list[ErrorEvent]) -> None:
        """Update push and error counters."""
        errors = self._stats.errors
        for result in results:
            if isinstance(result, Push):
                self._stats.pushes += 1
            else:
                errors[result.kind] = errors.get(result.kind, 0) + 1

    def _on_frame(self, frame: LinkFrame, out: list[Result]) -> None:
        """Reassemble a validated link frame, then decode what it completes."""
        if isinstance(frame, RawApdu) and frame.kind == DSMR:
            self._on_dsmr(frame.data, frame.raw, _OUTER, out)
            return
        if type(frame) is HdlcFrame and not frame.segmented and self._link.idle:
            # The common case (every E450 frame): a whole APDU or block, nothing to join.
            self._on_message(frame.info, frame.raw, _OUTER, out, joined=False)
            return
        for message in self._link.push(frame):
            if isinstance(message, ErrorEvent):
                out.append(message)
            else:
                self._on_message(message.data, message.raw, _OUTER, out, joined=False)

    def _on_message(
        self, data: bytes, raw: bytes, ctx: _Context, out: list[Result], *, joined: bool
    ) -> None:
        """Decode every APDU in a message (an E450 may pack several in one HDLC frame).

        `raw` is the link-layer bytes that carried it; `joined`: the message is a
        reassembled block transfer (blocks don't nest).
        """
        if ctx is _OUTER:
            self._message = (data, joined)
        pos, n = 0, len(data)
        while pos < n:
            if data[pos : pos + 3] in _LLC:
                pos += 3
                continue
            tag = data[pos]
            try:
                if tag == DATA_NOTIFICATION:
                    notification, end = parse_data_notification(data, pos, self._memo)
                    self._on_notification(notification, data[pos:end], raw, ctx, out)
                elif tag in CIPHERED_TAGS:
                    if ctx.inside:
                        raise DecodeError(ErrorKind.MALFORMED, "ciphered APDU inside a ciphertext")
                    ciphered, end = parse_ciphered(data, pos)
                    self._on_ciphered(ciphered, raw, out)
                elif tag == GENERAL_BLOCK_TRANSFER:
                    if joined:
                        raise DecodeError(ErrorKind.MALFORMED, "block transfer inside a block")
                    block, end = parse_gbt(data, pos)
                    for item in self._blocks[ctx.inside].push(block, raw):
                        if isinstance(item, ErrorEvent):
                            out.append(replace(item, system_title=ctx.system_title))
                        else:
                            self._on_message(item.data, item.raw, ctx, out, joined=True)
                elif not any(data[pos:]):
                    return  # zero padding after the last APDU
                else:
                    name = _UNSUPPORTED_APDUS.get(tag, "unknown APDU")
                    raise DecodeError(ErrorKind.MALFORMED, f"{name} (tag 0x{tag:02X})")
            except DecodeError as err:
                out.append(self._event(err, ctx, raw))
                return
            pos = end

    def _event(self, err: DecodeError, ctx: _Context, raw: bytes) -> ErrorEvent:
        """ErrorEvent for a DecodeError raised while decoding one push."""
        return ErrorEvent(
            err.kind, err.detail, system_title=ctx.system_title, raw=raw, structure=err.structure
        )

    def _on_ciphered(self, apdu: CipheredApdu, raw: bytes, out: list[Result]) -> None:
        """Decrypt, tell a wrong key from a broken APDU, check the counter, decode."""
        title = apdu.system_title or None
        ctx = _Context(system_title=title, frame_counter=apdu.invocation_counter, inside=True)
        try:
            decrypted = self._decryptor.decrypt(apdu)
        except DecodeError as err:
            out.append(self._event(err, ctx, raw))
            return
        ctx.security = decrypted.security
        plaintext = decrypted.plaintext
        parsed: DataNotification | dsmr.DsmrTelegram | None = None
        problem: DecodeError | None = None
        try:
            parsed = self._parse_plaintext(plaintext)
        except DecodeError as err:
            problem = err
        if decrypted.tag_failed:
            if problem is None:
                problem = DecodeError(
                    ErrorKind.AUTH_FAILED,
                    "authentication tag does not verify: the authentication key is wrong "
                    "(the encryption key is right)",
                )
            else:
                problem = DecodeError(
                    ErrorKind.WRONG_KEY,
                    "decryption gives no valid APDU: the encryption key is wrong",
                )
        elif (
            problem is not None
            and decrypted.security is Security.ENCRYPTED
            and not _plausible_header(plaintext)
        ):
            problem = DecodeError(
                ErrorKind.WRONG_KEY,
                f"decrypted APDU starts with 0x{plaintext[:1].hex().upper() or '--'}, "
                "not a push: the encryption key is wrong",
            )
        if problem is not None:
            out.append(self._event(problem, ctx, raw))
            return
        refusal = self._check_counter(ctx)
        if refusal is not None:
            out.append(ErrorEvent(ErrorKind.REPLAY, refusal, system_title=title, raw=raw))
            return
        if isinstance(parsed, DataNotification):
            self._on_notification(parsed, None, raw, ctx, out)
        elif isinstance(parsed, dsmr.DsmrTelegram):
            out.append(self._dsmr_push(parsed, raw, ctx))
        else:  # a GBT block inside the ciphertext
            self._on_message(plaintext, raw, ctx, out, joined=False)

    def _parse_plaintext(self, plaintext: bytes) -> DataNotification | dsmr.DsmrTelegram | None:
        """Parse decrypted bytes; DecodeError if they are no push (None for a GBT block)."""
        first = plaintext[0] if plaintext else -1
        if first == DATA_NOTIFICATION:
            return parse_data_notification(plaintext, 0, self._memo)[0]
        if first == dsmr.START:
            return dsmr.parse_telegram(plaintext, local_tz=self._tz)
        if first == GENERAL_BLOCK_TRANSFER:
            parse_gbt(plaintext, 0)
            return None
        raise DecodeError(ErrorKind.MALFORMED, "plaintext is not a Data-Notification")

    def _check_counter(self, ctx: _Context) -> str | None:
        """Frame-counter rule of architecture.md; returns why a push is refused, or None.

        A counter above the highest accepted one passes. Three consecutive refusals with
        strictly rising counters mean the meter restarted its counter: the third passes
        with `counter_reset`. Single replays or out-of-order old frames never pass.
        """
        title, counter = ctx.system_title, ctx.frame_counter
        if counter is None:
            return None
        key = title or b""
        state = self._counters.get(key)
        if state is None:
            if len(self._counters) >= _MAX_TITLES:
                del self._counters[next(iter(self._counters))]
            self._counters[key] = _Counter(counter)
            return None
        if counter > state.last:
            state.last = counter
            state.refused.clear()
            return None
        refused = state.refused
        if refused and counter > refused[-1]:
            refused.append(counter)
        else:
            refused[:] = [counter]
        if len(refused) >= RESYNC_REFUSALS:
            state.last = counter
            refused.clear()
            ctx.counter_reset = True
            return None
        return f"frame counter {counter} is not above {state.last}"

    def _on_notification(
        self,
        notification: DataNotification,
        apdu: bytes | None,
        raw: bytes,
        ctx: _Context,
        out: list[Result],
    ) -> None:
        """Layout step and Push for one Data-Notification (`apdu` = its bytes if plain)."""
        if ctx.frame_counter is None and apdu is not None:
            if apdu == self._last_plain:
                out.append(
                    ErrorEvent(ErrorKind.REPLAY, "push identical to the previous one", raw=raw)
                )
                return
            self._last_plain = apdu
        try:
            result = self._layout.decode(notification.body, system_title=ctx.system_title)
        except DecodeError as err:
            out.append(self._event(err, ctx, raw))
            return
        stamp = notification.date_time
        timestamp = stamp.to_datetime(self._tz) if isinstance(stamp, CosemDateTime) else None
        out.append(
            Push(
                values=result.values,
                system_title=ctx.system_title,
                frame_counter=ctx.frame_counter,
                security=ctx.security,
                timestamp=timestamp or result.timestamp,
                invoke_id=notification.invoke_id,
                push_setup=result.push_setup,
                layout=result.layout,
                model=result.model,
                counter_reset=ctx.counter_reset,
                raw=raw,
            )
        )

    def _on_dsmr(self, text: bytes, raw: bytes, ctx: _Context, out: list[Result]) -> None:
        """Decode a plain DSMR telegram from the byte stream."""
        try:
            telegram = dsmr.parse_telegram(text, local_tz=self._tz)
        except DecodeError as err:
            out.append(self._event(err, ctx, raw))
            return
        if text == self._last_plain:
            out.append(
                ErrorEvent(ErrorKind.REPLAY, "telegram identical to the previous one", raw=raw)
            )
            return
        self._last_plain = text
        out.append(self._dsmr_push(telegram, raw, ctx))

    def _dsmr_push(self, telegram: dsmr.DsmrTelegram, raw: bytes, ctx: _Context) -> Push:
        """Push for a DSMR telegram (values are complete as printed: no layout step)."""
        return Push(
            values=telegram.values,
            system_title=ctx.system_title,
            frame_counter=ctx.frame_counter,
            security=ctx.security,
            timestamp=telegram.timestamp,
            layout="dsmr",
            model=self._dsmr_model(ctx.system_title),
            counter_reset=ctx.counter_reset,
            raw=raw,
        )

    def _dsmr_model(self, title: bytes | None) -> str:
        """Pick the configured model, else the one model whose FLAG the system title has."""
        if self._model != AUTO or not title:
            return self._model
        flag = title[:3].decode("latin-1").upper()
        matches = [m.id for m in MODELS.values() if m.flag == flag]
        return matches[0] if len(matches) == 1 else AUTO


def _plausible_header(plaintext: bytes) -> bool:
    """Whether decrypted bytes open like a real Data-Notification with a real date.

    Used only to tell a broken body (reported as malformed) from a wrong key: random
    plaintext passes these byte checks with a chance of about one in 10^8.
    """
    if len(plaintext) < 18 or plaintext[0] != DATA_NOTIFICATION:
        return False
    marker = plaintext[5]
    if marker in (0x0C, 0x19):
        date = 6
    elif marker == 0x09 and plaintext[6] == 0x0C:
        date = 7
    else:
        return False
    month, day, hour, minute = (plaintext[date + i] for i in (2, 3, 5, 6))
    return 1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60


def decode_capture(data: bytes | bytearray | memoryview, **kwargs: Any) -> list[Result]:
    """Decode a complete capture in one go (same keyword arguments as StreamDecoder)."""
    decoder = StreamDecoder(**kwargs)
    return decoder.feed(data) + decoder.flush()
