"""Simulated E450 meters on TCP ports, in a process of their own (the cost benchmark).

The meters' CPU must not be counted as Home Assistant's, so they run apart from it, like
ser2net on another machine. Prints one JSON line {"ports": [...]} once listening and stops
when its standard input closes. Each meter sends an encrypted 28-value push (GCM with tag)
every `interval` seconds once a client connects; the meters' phases are spread over the
interval so that N meters do not all send in the same millisecond.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable, Sequence
import contextlib
import json
import sys

from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator

from .cases import SIM_START

type Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


def _handler(meter: MeterSimulator, interval: float, phase: float) -> Handler:
    """Make a connection handler that pushes on a fixed schedule until the client goes."""

    async def handle(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + phase
        try:
            while True:
                await asyncio.sleep(max(0.0, due - loop.time()))
                writer.write(meter.next_push(elapsed=interval))
                await writer.drain()
                due += interval
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    return handle


async def serve(count: int, interval: float) -> None:
    """Start `count` meters, announce their ports, run until stdin closes."""
    servers = []
    for index in range(count):
        meter = MeterSimulator(
            "e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=100 + index, start=SIM_START
        )
        handler = _handler(meter, interval, interval * index / max(count, 1))
        servers.append(await asyncio.start_server(handler, "127.0.0.1", 0))
    ports = [server.sockets[0].getsockname()[1] for server in servers]
    print(json.dumps({"ports": ports}), flush=True)
    await asyncio.to_thread(sys.stdin.read)
    for server in servers:
        server.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and serve."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.meters", description=__doc__)
    parser.add_argument("--count", type=int, default=10)
    parser.add_argument("--interval", type=float, default=1.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.count, args.interval))
    return 0


if __name__ == "__main__":
    sys.exit(main())
