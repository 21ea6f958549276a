"""Pipeline: link-layer messages in, pushes and error events out (one per connection).

APDUs (LLC, GBT) -> security (DB/DC) -> Data-Notification or DSMR text -> frame-counter
check -> layouts. StreamDecoder (stream.py) hands it what the link layer delivers: the
information of a frame or of joined segments, from the FrameHunter or from replay of the
learned wire shape. It raises only on a decoder bug, which the stream decoder turns into a
`malformed` event.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo

from . import dsmr
from .apdu import DATA_NOTIFICATION, DataNotification, NotificationMemo, parse_data_notification
from .assembly import GENERAL_BLOCK_TRANSFER, LLC_COMMAND, LLC_RESPONSE, BlockAssembler, parse_gbt
from .counters import OUTER, Context, FrameCounters
from .errors import DecodeError, ErrorKind
from .identity import flag_of, resolve
from .layouts import LayoutDecoder
from .push import ErrorEvent, Push, Security
from .push_plan import Planned, PushPlans, compile_push_plan
from .security import CIPHERED_TAGS, CipheredApdu, Decryptor, parse_ciphered
from .values import CosemDateTime

_LLC = (LLC_RESPONSE, LLC_COMMAND)
# Seen in the DLMS world, never in CII pushes (docs/protocol.md, "APDU tags").
_UNSUPPORTED_APDUS = {
    0xCA: "glo-event-notification is not supported",
    0xD2: "ded-event-notification is not supported",
    0xDD: "general-ciphering is not supported",
    0xDF: "general-signing is not supported",
}

type Result = Push | ErrorEvent


class Pipeline:
    """Joins blocks, deciphers and decodes the messages of one connection."""

    __slots__ = (
        "_blocks",
        "_counters",
        "_decryptor",
        "_last_plain",
        "_layout",
        "_memo",
        "_model",
        "_plans",
        "_tz",
        "message",
    )

    def __init__(
        self, decryptor: Decryptor, layout: LayoutDecoder, *, model: str, local_tz: tzinfo
    ) -> None:
        """Decode with these keys, layout step, configured model and time zone."""
        self._decryptor = decryptor
        self._layout = layout
        self._model = model
        self._tz = local_tz
        # Block transfer outside and inside a ciphertext (E450: outside).
        self._blocks = (BlockAssembler(), BlockAssembler())
        self._counters = FrameCounters()
        self._last_plain: bytes | None = None
        self._memo = NotificationMemo()  # push object list and layout, learned per connection
        self._plans = PushPlans()  # the last notification compiled to its changing fields
        self.message: tuple[bytes, bool] | None = None  # last message that held an APDU

    @property
    def idle(self) -> bool:
        """Whether no block waits for the rest of its push."""
        return not any(b.pending for b in self._blocks)

    def discard(self) -> None:
        """Drop half-built block sequences: bytes were lost between frames."""
        for blocks in self._blocks:
            blocks.discard()

    def flush(self) -> list[ErrorEvent]:
        """End of input: pending blocks become `incomplete` events."""
        tail: list[ErrorEvent] = []
        for blocks in self._blocks:
            tail.extend(blocks.flush())
        return tail

    def on_message(
        self, data: bytes, raw: bytes, ctx: Context, out: list[Result], *, joined: bool
    ) -> None:
        """Decode every APDU in a message (an E450 may pack several in one HDLC frame).

        `raw` is the link-layer bytes that carried it; `joined`: the message is a
        reassembled block transfer (blocks don't nest).
        """
        if ctx is OUTER:
            self.message = (data, joined)
        pos, n = 0, len(data)
        while pos < n:
            if data[pos : pos + 3] in _LLC:
                pos += 3
                continue
            tag = data[pos]
            try:
                if tag == DATA_NOTIFICATION:
                    notification, end = self._parse_notification(data, pos, ctx.system_title)
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
                            self.on_message(item.data, item.raw, ctx, out, joined=True)
                elif not any(data[pos:]):
                    return  # zero padding after the last APDU
                else:
                    name = _UNSUPPORTED_APDUS.get(tag, "unknown APDU")
                    raise DecodeError(ErrorKind.MALFORMED, f"{name} (tag 0x{tag:02X})")
            except DecodeError as err:
                out.append(self._event(err, ctx, raw))
                return
            pos = end

    def _event(self, err: DecodeError, ctx: Context, raw: bytes) -> ErrorEvent:
        """ErrorEvent for a DecodeError raised while decoding one push."""
        return ErrorEvent(
            err.kind, err.detail, system_title=ctx.system_title, raw=raw, structure=err.structure
        )

    def _on_ciphered(self, apdu: CipheredApdu, raw: bytes, out: list[Result]) -> None:
        """Decrypt, tell a wrong key from a broken APDU, check the counter, decode."""
        title = apdu.system_title or None
        ctx = Context(system_title=title, frame_counter=apdu.invocation_counter, inside=True)
        try:
            decrypted = self._decryptor.decrypt(apdu)
        except DecodeError as err:
            out.append(self._event(err, ctx, raw))
            return
        ctx.security = decrypted.security
        plaintext = decrypted.plaintext
        parsed: DataNotification | Planned | dsmr.DsmrTelegram | None = None
        problem: DecodeError | None = None
        try:
            parsed = self._parse_plaintext(plaintext, title)
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
        refusal = self._counters.check(ctx)
        if refusal is not None:
            out.append(ErrorEvent(ErrorKind.REPLAY, refusal, system_title=title, raw=raw))
            return
        if isinstance(parsed, DataNotification | Planned):
            self._on_notification(parsed, None, raw, ctx, out)
        elif isinstance(parsed, dsmr.DsmrTelegram):
            out.append(self._dsmr_push(parsed, raw, ctx))
        else:  # a GBT block inside the ciphertext
            self.on_message(plaintext, raw, ctx, out, joined=False)

    def _parse_plaintext(
        self, plaintext: bytes, title: bytes | None
    ) -> DataNotification | Planned | dsmr.DsmrTelegram | None:
        """Parse decrypted bytes; DecodeError if they are no push (None for a GBT block)."""
        first = plaintext[0] if plaintext else -1
        if first == DATA_NOTIFICATION:
            return self._parse_notification(plaintext, 0, title)[0]
        if first == dsmr.START:
            return dsmr.parse_telegram(plaintext, local_tz=self._tz)
        if first == GENERAL_BLOCK_TRANSFER:
            parse_gbt(plaintext, 0)
            return None
        raise DecodeError(ErrorKind.MALFORMED, "plaintext is not a Data-Notification")

    def _parse_notification(
        self, buf: bytes, pos: int, title: bytes | None
    ) -> tuple[DataNotification | Planned, int]:
        """Read a notification by the push plan (push_plan.py) if it fits, else in full."""
        planned = self._plans.match(buf, pos, title, self._layout.generation)
        if planned is not None:
            self._memo.hit()
            return planned, pos + planned.plan.size
        return parse_data_notification(buf, pos, self._memo)

    def _on_notification(
        self,
        notification: DataNotification | Planned,
        apdu: bytes | None,
        raw: bytes,
        ctx: Context,
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
            if isinstance(notification, Planned):
                result = notification.plan.run(notification.fields)
                timestamp = notification.timestamp
            else:
                result = self._layout.decode(notification.body, system_title=ctx.system_title)
                skeleton = self._memo.applied
                if skeleton is not None and result.plan is not None and self._plans.due():
                    self._plans.plan = compile_push_plan(
                        skeleton,
                        notification.body,
                        result,
                        self._layout,
                        ctx.system_title,
                        self._tz,
                    )
                stamp = notification.date_time
                timestamp = (
                    stamp.to_datetime(self._tz) if isinstance(stamp, CosemDateTime) else None
                )
        except DecodeError as err:
            self._plans.drop()
            out.append(self._event(err, ctx, raw))
            return
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

    def on_dsmr(self, text: bytes, raw: bytes, ctx: Context, out: list[Result]) -> None:
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

    def _dsmr_push(self, telegram: dsmr.DsmrTelegram, raw: bytes, ctx: Context) -> Push:
        """Push for a DSMR telegram (values are complete as printed: no layout step)."""
        return Push(
            values=telegram.values,
            system_title=ctx.system_title,
            frame_counter=ctx.frame_counter,
            security=ctx.security,
            timestamp=telegram.timestamp,
            layout="dsmr",
            model=resolve(self._model, flag_of(ctx.system_title)).model,
            counter_reset=ctx.counter_reset,
            raw=raw,
        )


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
