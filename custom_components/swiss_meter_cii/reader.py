"""The read loop: keep the link open, feed every chunk to the decoder, hand results on at once.

USB adapters get unplugged and ser2net connections drop or go half-open without a FIN, so the
loop reconnects by itself with exponential back-off and closes a link on which nothing at all
arrives for a while (the watchdog). A push is handed to the coordinator in the same loop
iteration as the chunk that completed it: no batching, no queue.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from contextlib import suppress
from dataclasses import dataclass
import logging
import os
from typing import Any, Protocol

import serialx

from .const import (
    BACKOFF_MAX,
    BACKOFF_MIN,
    MIN_SILENCE_TIMEOUT,
    PROBE_ORDER,
    SERIAL_FORMAT_AUTO,
    SLOWEST_PUSH_INTERVAL,
)
from .decoder import DecoderStats, StreamDecoder
from .decoder.errors import ErrorKind
from .decoder.push import ErrorEvent, Push
from .link import LinkError, SerialFormat, open_link, redact_port
from .link_stats import LinkState

_LOGGER = logging.getLogger(__name__)

READ_SIZE = 4096
CLOSE_TIMEOUT = 2.0

type Link = tuple[asyncio.StreamReader, asyncio.StreamWriter]
type Opener = Callable[[str, SerialFormat], Awaitable[Link]]
type DecoderFactory = Callable[[], StreamDecoder]
type TaskSpawner = Callable[[Coroutine[Any, Any, None]], asyncio.Task[None]]


class PushSink(Protocol):
    """What the reader hands its results to (the coordinator; tests record the calls)."""

    @property
    def push_interval(self) -> float | None:
        """The meter's rhythm so far (sizes the watchdog); None until known."""

    def set_link_state(
        self, state: LinkState, *, detail: str | None = None, serial_format: str | None = None
    ) -> None:
        """Record that the link opened, closed or is being opened."""

    def handle_bytes(self, count: int) -> None:
        """Count raw bytes as they arrive."""

    def handle_error(self, event: ErrorEvent) -> None:
        """Take a frame or push the decoder refused."""

    def handle_push(self, push: Push, received_at: float | None = None) -> None:
        """Take a push the decoder completed."""


@dataclass(frozen=True, slots=True)
class ReaderTiming:
    """Back-off and watchdog times; tests swap `DEFAULT_TIMING` for a fast one."""

    backoff_min: float = BACKOFF_MIN
    backoff_max: float = BACKOFF_MAX
    watchdog_min: float = MIN_SILENCE_TIMEOUT  # silent link closed after max(this, 3x interval)
    watchdog_factor: float = 3.0
    device_check: float = 1.0  # while backing off: has the device node come back?
    bridge_check: float = 5.0  # ... does the TCP bridge accept connections again?
    assumed_interval: float = SLOWEST_PUSH_INTERVAL  # until the coordinator has measured one
    format_timeout: float = SLOWEST_PUSH_INTERVAL + 10  # auto: no valid frame by then, next one


DEFAULT_TIMING = ReaderTiming()


@dataclass(frozen=True, slots=True)
class _Session:
    """How one opening of the link ended."""

    good_push: bool
    reason: str
    silent: bool = False  # closed by the watchdog: the link opened fine, nothing came


class MeterReader:
    """One per config entry; `run` loops until cancelled."""

    def __init__(
        self,
        coordinator: PushSink,
        port: str,
        serial_format: str,
        decoder_factory: DecoderFactory,
        *,
        first_link: Link | None = None,
        timing: ReaderTiming | None = None,
        opener: Opener | None = None,
    ) -> None:
        """Use `first_link` when set-up already opened the port (the check before set-up)."""
        self._coordinator = coordinator
        self._port = port
        auto = serial_format == SERIAL_FORMAT_AUTO
        # A raw TCP bridge (ser2net) has its own line settings: nothing to search there.
        self._formats: Sequence[str] = (
            (PROBE_ORDER[:1] if port.startswith("socket://") else PROBE_ORDER)
            if auto
            else (serial_format,)
        )
        self._format_index = 0
        self._decoder_factory = decoder_factory
        self._decoder = decoder_factory()
        self._link = first_link
        self._timing = timing if timing is not None else DEFAULT_TIMING
        self._opener: Opener = opener if opener is not None else open_link
        self._handler_failed = False
        self._task: asyncio.Task[None] | None = None

    @property
    def serial_format(self) -> str:
        """The line settings used for the next (or current) opening."""
        return self._formats[self._format_index]

    @property
    def decoder_stats(self) -> DecoderStats:
        """Counters of the decoder in use (a decoder failure replaces it: counts restart)."""
        return self._decoder.stats

    @property
    def task(self) -> asyncio.Task[None] | None:
        """The task running `run`, once started."""
        return self._task

    def start(self, spawn: TaskSpawner) -> None:
        """Run the loop in the task `spawn` makes (the entry's, so unloading cancels it too)."""
        self._task = spawn(self.run())

    async def stop(self, grace: float) -> None:
        """Cancel the loop and give it `grace` seconds to close the port."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task], timeout=grace)

    async def run(self) -> None:
        """Read, reconnect, repeat; only cancellation ends it."""
        timing = self._timing
        backoff = timing.backoff_min
        loop = asyncio.get_running_loop()
        while True:
            fmt = self.serial_format
            link, self._link = self._link, None
            if link is None:
                self._coordinator.set_link_state(LinkState.CONNECTING)
                try:
                    link = await self._opener(self._port, SerialFormat.parse(fmt))
                except LinkError as err:
                    _LOGGER.debug("%s; retrying in %.1f s", err, backoff)
                    self._coordinator.set_link_state(LinkState.DISCONNECTED, detail=str(err))
                    self._rotate_format()
                    await self._pause(backoff)
                    backoff = min(backoff * 2, timing.backoff_max)
                    continue
            _LOGGER.debug("Opened %s at %s", redact_port(self._port), fmt)
            self._coordinator.set_link_state(LinkState.CONNECTED, serial_format=fmt)
            opened = loop.time()
            try:
                session = await self._read(link[0], opened)
            finally:
                await _close(link[1])
            # A frame cut by the disconnect is counted as incomplete, never glued to new bytes.
            self._dispatch(self._decoder.flush())
            _LOGGER.debug("Closed %s: %s", redact_port(self._port), session.reason)
            self._coordinator.set_link_state(LinkState.DISCONNECTED, detail=session.reason)
            if session.good_push or session.silent:
                # A silent link is reopened at once: the watchdog's own period (>= 30 s)
                # already limits the rate, and a meter that speaks again is heard soon.
                backoff = timing.backoff_min
            if not session.good_push:
                self._rotate_format()
            await self._pause(backoff)
            if not (session.good_push or session.silent):
                backoff = min(backoff * 2, timing.backoff_max)

    async def _pause(self, delay: float) -> None:
        """Back off before the next opening, but stop early once the link looks back.

        The back-off (1 s doubling to 60 s) keeps a gone adapter or bridge from being
        hammered; cheap checks keep returning data from waiting out a long back-off: a
        device node that reappears (checked every second) or a TCP bridge that accepts a
        connection again (every 5 s). Counted down in steps, not by the clock.
        """
        check, step = self._link_back_check()
        if check is None or delay <= step:
            await asyncio.sleep(delay)  # short enough: nothing to gain from checking
            return
        present = await check()
        remaining = delay
        while remaining > 0:
            wait = min(step, remaining)
            await asyncio.sleep(wait)
            remaining -= wait
            now_present = await check()
            if now_present and not present:
                return  # it came back: open it now
            present = now_present

    def _link_back_check(self) -> tuple[Callable[[], Awaitable[bool]] | None, float]:
        """Return a cheap 'is the link there?' probe for this port and how often to run it."""
        port = self._port
        if port.startswith("socket://"):
            host, _, tcp_port = port.removeprefix("socket://").partition("/")[0].rpartition(":")
            if not host or not tcp_port.isdigit():
                return None, 0.0

            async def bridge_accepts() -> bool:
                try:
                    async with asyncio.timeout(2):
                        _, writer = await asyncio.open_connection(host.strip("[]"), int(tcp_port))
                except Exception:  # a probe: any failure means "not back yet"
                    return False
                writer.close()
                with suppress(OSError):
                    await writer.wait_closed()
                return True

            return bridge_accepts, self._timing.bridge_check
        if "://" in port:
            return None, 0.0  # esphome:// and others: connecting is the only test

        async def node_exists() -> bool:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(None, os.path.exists, port)

        return node_exists, self._timing.device_check

    async def _read(self, reader: asyncio.StreamReader, opened: float) -> _Session:
        """Feed chunks until the link closes, fails or stays silent past the watchdog."""
        loop = asyncio.get_running_loop()
        good = False
        watchdog = self._watchdog()
        searching = len(self._formats) > 1
        frames_before = self._decoder.stats.frames if searching else 0
        try:
            async with asyncio.timeout_at(loop.time() + watchdog) as deadline:
                while True:
                    data = await reader.read(READ_SIZE)
                    if not data:
                        return _Session(good, "closed by the other end")
                    now = loop.time()
                    watchdog = self._watchdog()
                    deadline.reschedule(now + watchdog)
                    good = self._feed(data, now) or good
                    if searching:
                        # A frame with a valid checksum proves the line settings, even when
                        # the key is wrong: keep this format from now on.
                        if good or self._decoder.stats.frames > frames_before:
                            self._keep_format()
                            searching = False
                        elif now - opened > self._timing.format_timeout:
                            return _Session(good, f"no valid frame at {self.serial_format}")
        except TimeoutError:
            return _Session(good, f"nothing received for {watchdog:.0f} s", silent=True)
        except (OSError, serialx.SerialException) as err:
            return _Session(good, f"read failed: {err or type(err).__name__}")

    def _watchdog(self) -> float:
        interval = self._coordinator.push_interval or self._timing.assumed_interval
        return max(self._timing.watchdog_min, self._timing.watchdog_factor * interval)

    def _feed(self, data: bytes, received_at: float) -> bool:
        """Decode one chunk and hand every result on; True when it completed a push."""
        self._coordinator.handle_bytes(len(data))
        try:
            events = self._decoder.feed(data)
        except Exception:  # a decoder bug must not end the read loop
            _LOGGER.exception("Decoder failure; starting over with a fresh decoder")
            self._decoder = self._decoder_factory()
            events = [ErrorEvent(ErrorKind.MALFORMED, "decoder failure", raw=data[:256])]
        return self._dispatch(events, received_at)

    def _dispatch(
        self, events: Sequence[Push | ErrorEvent], received_at: float | None = None
    ) -> bool:
        good = False
        for event in events:
            try:
                if isinstance(event, Push):
                    good = True
                    self._coordinator.handle_push(event, received_at)
                else:
                    self._coordinator.handle_error(event)
            except Exception:  # an entity bug must not end the read loop either
                if not self._handler_failed:
                    self._handler_failed = True
                    _LOGGER.exception("Error while publishing a push")
        return good

    def _keep_format(self) -> None:
        fmt = self.serial_format
        _LOGGER.info("%s sends at %s", redact_port(self._port), fmt)
        self._formats, self._format_index = (fmt,), 0

    def _rotate_format(self) -> None:
        """Auto: the next line setting of PROBE_ORDER for the next opening."""
        if len(self._formats) > 1:
            self._format_index = (self._format_index + 1) % len(self._formats)


async def _close(writer: asyncio.StreamWriter) -> None:
    """Close the transport and wait briefly for it (also while being cancelled)."""
    writer.close()
    with suppress(Exception):
        await asyncio.wait_for(writer.wait_closed(), CLOSE_TIMEOUT)
