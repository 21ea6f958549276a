"""Broken links on demand, for the link-fault tests in a running Home Assistant.

* `FlakyProxy` sits between the reader and the simulator's `TcpMeterServer` (ser2net) like the
  network does: it can close the reader's connection (ser2net restarts), freeze it without a
  FIN (the bridge lost power, Wi-Fi dropped: half-open), or stop passing data altogether (the
  meter is silent), and pass data again.
* `PtyMeter` is the serial adapter: pushes go into a pseudo-terminal behind a stable symlink
  (like /dev/serial/by-id/...); `unplug()` closes the pty and removes the link, `plug()`
  creates a new one under the same name.
* `Timeline` records every state an entity takes, with the loop time.
* `open_fds()` and `task_count()` are the leak gauges.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path

from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback

from simulator import MeterSimulator, PtyOutput

READ_SIZE = 4096


def open_fds() -> int:
    """Open file descriptors of this process (sockets, ptys, files)."""
    return len(os.listdir("/proc/self/fd"))


def task_count() -> int:
    """Unfinished asyncio tasks on the running loop."""
    return len(asyncio.all_tasks())


@dataclass(slots=True, eq=False)
class _Pipe:
    """One reader connection through the proxy and its upstream connection."""

    down: asyncio.StreamWriter
    up: asyncio.StreamWriter
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    frozen: bool = False


class FlakyProxy:
    """TCP proxy from the reader to a meter server that breaks the link on request."""

    def __init__(self, upstream_port: int) -> None:
        """Forward to 127.0.0.1:upstream_port once started."""
        self.upstream_port = upstream_port
        self.port = 0
        self.accepted = 0
        self.silent = False  # pass nothing on any connection (the meter stopped sending)
        self._server: asyncio.Server | None = None
        self._pipes: set[_Pipe] = set()
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def open_connections(self) -> int:
        """Reader connections currently open through the proxy."""
        return len(self._pipes)

    async def start(self) -> int:
        """Listen on a free loopback port; returns it."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        """Close every connection and the listening socket."""
        if self._server is not None:
            self._server.close()
        await self.close_connections()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def close_connections(self) -> None:
        """The peer closes: every reader connection gets a FIN."""
        for pipe in list(self._pipes):
            await self._close(pipe)

    def freeze(self) -> None:
        """Half-open: the current connections stay open but carry nothing any more."""
        for pipe in self._pipes:
            pipe.frozen = True

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self.accepted += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:
            writer.close()
            if task is not None:
                self._handlers.discard(task)
            return
        pipe = _Pipe(writer, up_writer)
        self._pipes.add(pipe)
        pipe.tasks = [
            asyncio.create_task(self._downstream(pipe, up_reader), name="proxy-down"),
            asyncio.create_task(self._upstream(pipe, reader), name="proxy-up"),
        ]
        try:  # either side ending ends the connection (the reader's FIN, the meter leaving)
            await asyncio.wait(pipe.tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            await self._close(pipe)
            if task is not None:
                self._handlers.discard(task)

    async def _downstream(self, pipe: _Pipe, up_reader: asyncio.StreamReader) -> None:
        """Meter -> reader, unless frozen or silent (then the bytes are swallowed)."""
        with contextlib.suppress(ConnectionError, OSError):
            while data := await up_reader.read(READ_SIZE):
                if not pipe.frozen and not self.silent and not pipe.down.is_closing():
                    pipe.down.write(data)

    async def _upstream(self, pipe: _Pipe, reader: asyncio.StreamReader) -> None:
        """Reader -> nowhere (the meter only talks); ends when the reader closes."""
        with contextlib.suppress(ConnectionError, OSError):
            while await reader.read(READ_SIZE):
                pass

    async def _close(self, pipe: _Pipe) -> None:
        if pipe not in self._pipes:
            return
        self._pipes.discard(pipe)
        current = asyncio.current_task()
        for task in pipe.tasks:
            if task is not current:
                task.cancel()
        for writer in (pipe.down, pipe.up):
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


class PtyMeter:
    """A meter on a serial adapter that can be unplugged and plugged in again."""

    def __init__(self, simulator: MeterSimulator, link: Path, interval: float) -> None:
        """Push every `interval` seconds into a pty reachable as `link` once started."""
        self.simulator = simulator
        self.link = link
        self.interval = interval
        self.sent = 0
        self.silent = False
        self._pty: PtyOutput | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def plugged(self) -> bool:
        """Whether the adapter is there."""
        return self._pty is not None

    def plug(self) -> None:
        """The adapter appears (a new pty under the same name)."""
        if self._pty is None:
            self._pty = PtyOutput(link=str(self.link))

    def unplug(self) -> None:
        """The adapter disappears: the pty closes, its name goes away."""
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    async def start(self) -> None:
        """Plug in and start pushing."""
        self.plug()
        self._task = asyncio.create_task(self._push_loop(), name="pty-meter")

    async def stop(self) -> None:
        """Stop pushing and unplug."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.unplug()

    async def _push_loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            wire = self.simulator.next_push(elapsed=self.interval)
            if self._pty is not None and not self.silent:
                self._pty.write(wire)
                self.sent += 1
            due += self.interval
            await asyncio.sleep(max(0.0, due - loop.time()))


class Timeline:
    """Every state of one entity, with the loop time it was written."""

    def __init__(self, hass: HomeAssistant, entity_id: str) -> None:
        """Start listening; `close()` stops."""
        self.hass = hass
        self.entity_id = entity_id
        self.states: list[tuple[float, str]] = []
        self._changed = asyncio.Event()
        self._unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, self._on_event)

    @callback
    def _on_event(self, event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] != self.entity_id:
            return
        new = event.data["new_state"]
        self.states.append((self.hass.loop.time(), new.state if new is not None else "removed"))
        self._changed.set()

    @property
    def current(self) -> str | None:
        """The latest state written (None before the first)."""
        return self.states[-1][1] if self.states else None

    async def wait_for(
        self, condition: Callable[[str], bool], within: float, *, now: bool = False
    ) -> float:
        """Wait until a state satisfying `condition` is written; returns its loop time.

        `now`: the current state counts too (returns at once when it already satisfies).
        """
        current = self.hass.states.get(self.entity_id)
        if now and current is not None and condition(current.state):
            return self.hass.loop.time()
        start = len(self.states)
        async with asyncio.timeout(within):
            while True:
                for when, state in self.states[start:]:
                    if condition(state):
                        return when
                start = len(self.states)
                self._changed.clear()
                await self._changed.wait()

    def close(self) -> None:
        """Stop listening."""
        self._unsubscribe()
