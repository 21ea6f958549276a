"""Where the pushes go: a ser2net-like TCP server, a byte stream (file/stdout), a pty.

The TCP server behaves like ser2net in front of a meter: the meter pushes whether or
not anyone listens, every connected client receives the live stream from the moment
it connects, what clients send is ignored, and a client leaving changes nothing for
the others. `baud` paces the bytes like a serial line (11 bits per byte, 8E1).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
import contextlib
import os
from pathlib import Path
import signal
import threading
import time
from typing import BinaryIO

from .faults import INTACT, FaultedPush, FaultInjector
from .meter import MeterSimulator

BITS_PER_BYTE = 11  # start + 8 data + parity + stop
CHUNK = 16  # bytes written at once when pacing
MAX_BACKLOG = 1 << 20  # a client this far behind is dropped, as a serial line would lose it

type PushCallback = Callable[[FaultedPush], None]


def pushes(
    simulator: MeterSimulator, *, interval: float, faults: FaultInjector | None = None
) -> Iterator[FaultedPush]:
    """Endless pushes, each `interval` simulated seconds after the previous one."""
    while True:
        wire = simulator.next_push(elapsed=interval)
        yield faults.apply(wire) if faults is not None else FaultedPush(wire, INTACT, wire)


def _chunks(data: bytes, baud: int) -> Iterator[tuple[bytes, float]]:
    """Split into line-sized pieces with the time each takes on the wire."""
    if baud <= 0:
        yield data, 0.0
        return
    for offset in range(0, len(data), CHUNK):
        piece = data[offset : offset + CHUNK]
        yield piece, len(piece) * BITS_PER_BYTE / baud


def run_stream(
    simulator: MeterSimulator,
    write: Callable[[bytes], object],
    *,
    count: int | None,
    interval: float = 5.0,
    faults: FaultInjector | None = None,
    realtime: bool = True,
    baud: int = 0,
    on_push: PushCallback | None = None,
) -> int:
    """Write pushes through `write` (file, stdout, pty); sleep between them if realtime.

    Returns the number of pushes written. `count=None` runs until interrupted.
    """
    sent = 0
    due = time.monotonic()
    stream = pushes(simulator, interval=interval, faults=faults)
    while count is None or sent < count:
        faulted = next(stream)  # only now does the meter advance: no push is wasted
        if realtime and sent:
            due += interval
            time.sleep(max(0.0, due - time.monotonic()))
        if on_push is not None:
            on_push(faulted)
        for piece, seconds in _chunks(faulted.data, baud if realtime else 0):
            write(piece)
            if seconds:
                time.sleep(seconds)
        sent += 1
    return sent


class StreamWriter:
    """`write` for a binary file object, as raw bytes or one hex line per push."""

    def __init__(self, sink: BinaryIO, *, hex_lines: bool = False) -> None:
        """Wrap `sink`; flushes after each write so readers see pushes live."""
        self._sink = sink
        self._hex = hex_lines

    def __call__(self, data: bytes) -> None:
        """Write one push (or one paced piece of it)."""
        self._sink.write(data.hex().upper().encode() + b"\n" if self._hex else data)
        self._sink.flush()


class PtyOutput:
    """A pseudo-terminal whose slave end looks like the meter's serial adapter.

    Bytes nobody reads are dropped once the kernel buffer is full, like a serial line
    that nobody listens to. `link` creates a symlink (e.g. /tmp/ttyMETER) to the slave.
    """

    def __init__(self, link: str | None = None) -> None:
        """Open the pty pair in raw mode and optionally create the symlink."""
        import tty  # POSIX only: imported here so the rest of the package works anywhere

        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)  # no echo, no CR/LF translation: bytes pass unchanged
        os.set_blocking(self._master, False)
        self.path = os.ttyname(self._slave)
        self.link: Path | None = None
        self.dropped = 0
        if link is not None:
            target = Path(link)
            if target.is_symlink():
                target.unlink()
            elif target.exists():
                self.close()
                raise FileExistsError(f"{link} exists and is not a symlink; not replacing it")
            target.symlink_to(self.path)
            self.link = target

    def write(self, data: bytes) -> int:
        """Queue bytes for the reader; returns how many fit (the rest is lost)."""
        written = 0
        while written < len(data):
            try:
                written += os.write(self._master, data[written:])
            except BlockingIOError:
                break
        self.dropped += len(data) - written
        return written

    def close(self) -> None:
        """Close both ends and remove the symlink."""
        if self.link is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link.unlink()
            self.link = None
        for fd in (self._master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)

    def __enter__(self) -> PtyOutput:
        """Use as a context manager."""
        return self

    def __exit__(self, *_exc: object) -> None:
        """Close on leaving the block."""
        self.close()


class TcpMeterServer:
    """Serve the simulator's live push stream to any number of TCP clients.

    Use `await start()` / `await stop()` inside an event loop, or `start_in_thread()`
    / `stop_in_thread()` from synchronous code. `count` stops pushing after N pushes.
    """

    def __init__(
        self,
        simulator: MeterSimulator,
        *,
        interval: float = 5.0,
        faults: FaultInjector | None = None,
        count: int | None = None,
        baud: int = 0,
        on_push: PushCallback | None = None,
    ) -> None:
        """Configure; nothing runs until started."""
        if interval <= 0:
            raise ValueError("interval must be > 0 seconds")
        self.simulator = simulator
        self.interval = interval
        self.faults = faults
        self.count = count
        self.baud = baud
        self.on_push = on_push
        self.pushes_sent = 0
        self.port = 0
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[None]] = set()
        self._pusher: asyncio.Task[None] | None = None
        self._done: asyncio.Event | None = None
        self._thread: threading.Thread | None = None
        self._thread_loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None

    @property
    def clients(self) -> int:
        """Number of connected clients."""
        return len(self._clients)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen and start pushing; returns the port actually bound (0 = any free)."""
        if self._server is not None:
            raise RuntimeError("server already started")
        self._done = asyncio.Event()
        self._server = await asyncio.start_server(self._client, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._pusher = asyncio.create_task(self._push_loop(), name="meter-push-loop")
        return self.port

    async def wait_done(self) -> None:
        """Return once `count` pushes were sent (or the server was stopped)."""
        if self._done is None:
            raise RuntimeError("server not started")
        await self._done.wait()

    async def stop(self) -> None:
        """Stop pushing, disconnect every client and close the listening socket."""
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
            self._pusher = None
        if self._server is not None:
            self._server.close()
        for writer in list(self._clients):
            writer.close()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        if self._done is not None:
            self._done.set()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Keep a client until it leaves; what it sends goes nowhere (the meter only talks)."""
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        self._clients.add(writer)
        try:
            while await reader.read(4096):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self._clients.discard(writer)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()
            if task is not None:
                self._handlers.discard(task)

    async def _push_loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        try:
            for faulted in pushes(self.simulator, interval=self.interval, faults=self.faults):
                if self.on_push is not None:
                    self.on_push(faulted)
                await self._broadcast(faulted.data)
                self.pushes_sent += 1
                if self.count is not None and self.pushes_sent >= self.count:
                    break
                due += self.interval
                await asyncio.sleep(max(0.0, due - loop.time()))
        finally:
            if self._done is not None:
                self._done.set()

    async def _broadcast(self, data: bytes) -> None:
        for piece, seconds in _chunks(data, self.baud):
            for writer in list(self._clients):
                if writer.is_closing():
                    self._clients.discard(writer)
                elif writer.transport.get_write_buffer_size() > MAX_BACKLOG:
                    self._clients.discard(writer)
                    writer.close()
                else:
                    writer.write(piece)
            if seconds:
                await asyncio.sleep(seconds)

    # ----------------------------------------------------------------- sync use

    def start_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Run the server on its own event loop in a thread; returns the bound port."""
        if self._thread is not None:
            raise RuntimeError("server already running in a thread")
        ready: Future[int] = Future()

        def run() -> None:
            loop = asyncio.new_event_loop()
            try:
                stop_event = asyncio.Event()
                bound = loop.run_until_complete(self.start(host, port))
            except BaseException as err:  # hand any bind error to the caller
                ready.set_exception(err)
                loop.close()
                return
            self._thread_loop = loop
            self._stop_event = stop_event
            ready.set_result(bound)
            loop.run_until_complete(stop_event.wait())
            loop.run_until_complete(self.stop())
            loop.close()

        thread = threading.Thread(target=run, name="meter-tcp-server", daemon=True)
        thread.start()
        try:
            bound = ready.result(timeout=10)
        except BaseException:
            thread.join()
            raise
        self._thread = thread
        return bound

    def stop_in_thread(self) -> None:
        """Stop a server started with `start_in_thread` and join its thread."""
        thread, loop, event = self._thread, self._thread_loop, self._stop_event
        if thread is None or loop is None or event is None:
            return
        loop.call_soon_threadsafe(event.set)
        thread.join()
        self._thread = self._thread_loop = self._stop_event = None


async def serve(
    server: TcpMeterServer,
    host: str,
    port: int,
    on_ready: Callable[[int], Awaitable[None] | None],
) -> None:
    """Run `server` until its count is reached or the task is cancelled (Ctrl-C).

    SIGTERM ends it like Ctrl-C, through the loop (raising from a plain signal handler can land
    inside the loop's own machinery and leave the server running; seen on Python 3.14).
    """
    loop = asyncio.get_running_loop()
    main = asyncio.current_task()
    terminated = False

    def on_terminate() -> None:
        nonlocal terminated
        terminated = True
        if main is not None:
            main.cancel()

    handled = False
    if threading.current_thread() is threading.main_thread():
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, on_terminate)
            handled = True
    bound = await server.start(host, port)
    try:
        result = on_ready(bound)
        if result is not None:
            await result
        await server.wait_done()
        await asyncio.sleep(0.2)  # let the last bytes leave the socket buffers
    except asyncio.CancelledError:
        if terminated:
            raise KeyboardInterrupt from None
        raise
    finally:
        await server.stop()
        if handled:
            loop.remove_signal_handler(signal.SIGTERM)
