"""The wizard's live check: open the link, find the line settings and decode two pushes.

Setup must fail with the real cause (a wrong key is a wrong key, not "no data"), so the probe
listens to the meter the way the runtime will and sorts what it sees into one reason per
failure. It never sees or logs key material beyond handing the bytes to the decoder.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
import logging
import time

from .const import PROBE_ORDER, PROBE_TIMEOUT, SERIAL_FORMAT_AUTO
from .decoder import StreamDecoder
from .decoder.errors import ErrorKind
from .decoder.identity import model_name, push_flag, system_title_identity
from .decoder.models import AUTO
from .decoder.push import ErrorEvent, Push
from .link import LinkError, SerialFormat, open_link, redact_port
from .push_lists import list_id

_LOGGER = logging.getLogger(__name__)

type Opener = Callable[
    [str, SerialFormat], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]
]

# Failure reasons; each is an error key of the wizard with its own translated message.
CANNOT_CONNECT = "cannot_connect"  # the port does not open
NO_DATA = "no_data"  # the port opens but stays silent
NO_FRAMES = "no_frames"  # bytes arrive but never a frame with a valid checksum
NO_PUSH = "no_push"  # valid frames but no complete push within the time allowed
MISSING_KEY = "missing_key"
WRONG_KEY = "wrong_key"
AUTH_FAILED = "auth_failed"
UNSUPPORTED_LAYOUT = "unsupported_layout"
PROBE_ERRORS: tuple[str, ...] = (
    CANNOT_CONNECT,
    NO_DATA,
    NO_FRAMES,
    NO_PUSH,
    MISSING_KEY,
    WRONG_KEY,
    AUTH_FAILED,
    UNSUPPORTED_LAYOUT,
)

# Decoder verdicts that end a push attempt; anything else (checksum, framing, incomplete) is line
# noise the decoder resynchronises over. A malformed APDU is a layout we cannot read.
_PUSH_ERRORS: dict[ErrorKind, str] = {
    ErrorKind.MISSING_KEY: MISSING_KEY,
    ErrorKind.WRONG_KEY: WRONG_KEY,
    ErrorKind.AUTH_FAILED: AUTH_FAILED,
    ErrorKind.UNSUPPORTED_LAYOUT: UNSUPPORTED_LAYOUT,
    ErrorKind.MALFORMED: UNSUPPORTED_LAYOUT,
}
# When two attempts failed differently, report the one the user can act on first.
_PRIORITY = (MISSING_KEY, AUTH_FAILED, WRONG_KEY, UNSUPPORTED_LAYOUT)

# More bytes than any push (a few HDLC frames or M-Bus telegrams) without one valid frame means
# the line settings are wrong even when the meter never pauses long enough to see a burst end.
GARBAGE_LIMIT = 4096
# Push attempts (decoded or refused) to wait for: two show that decoding is stable.
WANTED_PUSHES = 2


class ProbeError(Exception):
    """The live check failed; `reason` is one of PROBE_ERRORS (a translation key)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ProbeTimeouts:
    """How long the probe waits; injectable so tests (and impatient users) need not wait 60 s."""

    total: float = PROBE_TIMEOUT  # from opening the port until two pushes are in
    per_format: float = 20.0  # auto-detect: a format that shows no valid frame by then is wrong
    gap: float = 0.5  # silence that ends a burst (a frame never pauses inside at 2400 baud)


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """What the wizard shows and stores after a successful check."""

    serial_format: str  # the format that worked ("2400_8E1"), never "auto"
    meter_number: str | None
    system_title: str | None  # hex, a fallback identity for meters without a number
    model: str  # decoder model id of the pushes ("auto" when it could not tell)
    manufacturer: str | None  # FLAG id, e.g. "LGZ"
    values: int  # values in the richest push
    pushes: int
    security: str  # none / encrypted / authenticated
    # Push list -> seconds between its two pushes, when both were of one list (stored with
    # the entry so availability knows the meter's rhythm from the first push on).
    intervals: Mapping[str, float] = field(default_factory=dict)

    @property
    def identity(self) -> str | None:
        """Stable id of the meter: its number, else its system title."""
        if self.meter_number:
            return self.meter_number
        if self.system_title:
            return system_title_identity(self.system_title)
        return None

    def model_name(self, configured: str = AUTO) -> str | None:
        """Readable model name such as 'Landis+Gyr E450', or None when unknown."""
        return model_name(self.manufacturer, configured, self.model)


@dataclass(slots=True)
class _Session:
    """Everything one open port has shown so far."""

    decoder: StreamDecoder
    bytes_seen: int = 0
    pushes: list[Push] = field(default_factory=list)
    arrivals: list[tuple[str, float]] = field(default_factory=list)  # (push list, monotonic)
    refusals: list[str] = field(default_factory=list)  # probe reasons of refused pushes
    replays: int = 0

    @property
    def frames(self) -> int:
        return int(self.decoder.stats.frames)

    @property
    def attempts(self) -> int:
        return len(self.pushes) + len(self.refusals) + self.replays

    def feed(self, data: bytes) -> None:
        self.bytes_seen += len(data)
        for event in self.decoder.feed(data):
            if isinstance(event, Push):
                self.pushes.append(event)
                self.arrivals.append((list_id(event), time.monotonic()))
            elif isinstance(event, ErrorEvent):
                self._refused(event)

    def _refused(self, event: ErrorEvent) -> None:
        reason = _PUSH_ERRORS.get(event.kind)
        if reason is not None:
            _LOGGER.debug("Probe: push refused (%s): %s", event.kind, event.detail)
            self.refusals.append(reason)
        elif event.kind is ErrorKind.REPLAY:
            # An identical plain push again: the meter is alive, but nothing new to learn.
            self.replays += 1

    def intervals(self) -> dict[str, float]:
        """Seconds between consecutive pushes of the same list (the last pair of each)."""
        found: dict[str, float] = {}
        last: dict[str, float] = {}
        for name, when in self.arrivals:
            if name in last:
                found[name] = round(when - last[name], 1)
            last[name] = when
        return found

    def done(self) -> bool:
        return len(self.pushes) >= WANTED_PUSHES or self.attempts >= WANTED_PUSHES


async def async_probe(
    port: str,
    serial_format: str,
    *,
    key: bytes | None,
    auth_key: bytes | None,
    model: str = AUTO,
    timeouts: ProbeTimeouts | None = None,
    opener: Opener | None = None,
) -> ProbeResult:
    """Listen on `port` and return what the meter sent, or raise ProbeError with the reason.

    With serial_format "auto" the formats of PROBE_ORDER are tried in turn and the first one that
    yields a frame with a valid checksum is kept. A raw TCP bridge (socket://) ignores line
    settings, so it is only listened to once.
    """
    timeouts = timeouts or ProbeTimeouts()
    opener = opener or open_link
    if serial_format == SERIAL_FORMAT_AUTO:
        formats: Sequence[str] = PROBE_ORDER[:1] if port.startswith("socket://") else PROBE_ORDER
    else:
        formats = (serial_format,)
    auto = len(formats) > 1
    heard_bytes = False
    for fmt in formats:
        session = _Session(StreamDecoder(key=key, auth_key=auth_key, model=model))
        await _listen(port, fmt, session, opener, timeouts, auto=auto)
        _LOGGER.debug(
            "Probe of %s at %s: %d bytes, %d frames, %d pushes, refused %s",
            redact_port(port),
            fmt,
            session.bytes_seen,
            session.frames,
            len(session.pushes),
            session.refusals,
        )
        if session.frames:
            return _verdict(fmt, session)
        heard_bytes = heard_bytes or session.bytes_seen > 0
    if heard_bytes:
        raise ProbeError(NO_FRAMES, "bytes arrived but no frame had a valid checksum")
    raise ProbeError(NO_DATA, "the port opened but nothing arrived")


async def _listen(
    port: str,
    fmt: str,
    session: _Session,
    opener: Opener,
    timeouts: ProbeTimeouts,
    *,
    auto: bool,
) -> None:
    """Read from one opening of the port until the session is decided or time is up."""
    try:
        reader, writer = await opener(port, SerialFormat.parse(fmt))
    except LinkError as err:
        raise ProbeError(CANNOT_CONNECT, str(err)) from err
    try:
        await _read_loop(reader, session, timeouts, auto=auto)
    finally:
        writer.close()
        with suppress(OSError, asyncio.CancelledError, TimeoutError):
            async with asyncio.timeout(2):
                await writer.wait_closed()


async def _read_loop(
    reader: asyncio.StreamReader, session: _Session, timeouts: ProbeTimeouts, *, auto: bool
) -> None:
    """Feed the decoder until two pushes are in, the format is shown wrong, or time is up.

    A burst is a run of bytes ended by `gap` of silence. Only a burst that also began after
    silence is whole; two whole bursts without a valid frame mean wrong line settings (the
    first burst may have been cut when the port opened mid-push).
    """
    start = time.monotonic()
    deadline = start + timeouts.total
    frame_deadline = start + (timeouts.per_format if auto else timeouts.total)
    quiet = False  # silence seen since the last byte: the next burst is whole
    burst: bool | None = None  # None between bursts, else whether the current burst is whole
    bad_bursts = 0
    while not session.done():
        now = time.monotonic()
        limit = deadline if session.frames else min(deadline, frame_deadline)
        if now >= limit:
            return
        wait = min(timeouts.gap, limit - now)
        try:
            async with asyncio.timeout(wait):
                data = await reader.read(4096)
        except TimeoutError:
            if wait < timeouts.gap:
                continue  # time is up, not a real pause
            if burst and not session.frames:
                bad_bursts += 1
                if bad_bursts >= 2:
                    return
            burst = None
            quiet = True
            continue
        except OSError as err:
            _LOGGER.debug("Probe: read failed: %s", err)
            if not session.bytes_seen:
                raise ProbeError(CANNOT_CONNECT, f"read failed: {err}") from err
            return
        if not data:  # the other end closed the connection
            if not session.bytes_seen:
                raise ProbeError(CANNOT_CONNECT, "the connection was closed")
            return
        if burst is None:
            burst, quiet = quiet, False
        session.feed(data)
        if not session.frames and session.bytes_seen >= GARBAGE_LIMIT:
            return


def _verdict(fmt: str, session: _Session) -> ProbeResult:
    """Success when a push decoded, else the most actionable refusal."""
    if not session.pushes:
        for reason in _PRIORITY:
            if reason in session.refusals:
                raise ProbeError(reason, f"{session.refusals.count(reason)} push(es) refused")
        raise ProbeError(NO_PUSH, f"{session.frames} valid frames but no complete push")
    richest = max(session.pushes, key=lambda push: len(push.values))
    number = next((p.meter_number for p in session.pushes if p.meter_number), None)
    title = next((p.system_title for p in session.pushes if p.system_title), None)
    manufacturer = next((m for m in map(push_flag, session.pushes) if m), None)
    return ProbeResult(
        serial_format=fmt,
        meter_number=number,
        system_title=title.hex().upper() if title else None,
        model=richest.model,
        manufacturer=manufacturer,
        values=len(richest.values),
        pushes=len(session.pushes),
        security=str(richest.security),
        intervals=session.intervals(),
    )
