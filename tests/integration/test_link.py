"""link.py against real transports: a loopback socket:// server and a pseudo-terminal."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import suppress
import os
import tty

import pytest
import serialx

from custom_components.swiss_meter_cii.link import (
    LinkError,
    SerialFormat,
    is_url,
    open_link,
    redact_port,
    scrub,
)
from simulator import DEFAULT_KEY, MeterSimulator

FORMAT = SerialFormat.parse("2400_8E1")


def test_serial_format_round_trip() -> None:
    for text in ("2400_8E1", "9600_8N1", "115200_8N1", "38400_7O2"):
        assert str(SerialFormat.parse(text)) == text
    parsed = SerialFormat.parse("2400_8E1")
    assert (parsed.baudrate, parsed.byte_size, parsed.parity) == (2400, 8, serialx.Parity.EVEN)
    for bad in ("auto", "2400", "2400_8X1", "fast_8N1", ""):
        with pytest.raises(ValueError, match="not a serial format"):
            SerialFormat.parse(bad)


def test_redaction() -> None:
    url = "esphome://bridge.local:6053/?port_name=CII&key=c2VjcmV0LW5vaXNlLXBzaw=="
    assert is_url(url)
    assert not is_url("/dev/ttyUSB0")
    assert "c2VjcmV0" not in redact_port(url)
    assert "port_name=CII" in redact_port(url)
    assert redact_port("/dev/ttyUSB0") == "/dev/ttyUSB0"
    # Written by us (serialx.redact_uri exists only from serialx 1.15; HA 2026.10 pins 1.11).
    assert redact_port("esphome://h/?noise_psk=abc%3D&port_name=x") == (
        "esphome://h/?noise_psk=REDACTED&port_name=x"
    )
    assert redact_port("esphome://h/?Key=abc#frag") == "esphome://h/?Key=REDACTED#frag"
    assert redact_port("rfc2217://user:pw@bridge:4000") == "rfc2217://user:REDACTED@bridge:4000"
    assert redact_port("socket://bridge:3001") == "socket://bridge:3001"
    assert "pw" not in scrub(
        "failed rfc2217://user:pw@bridge:4000 (pw)", "rfc2217://user:pw@bridge:4000"
    )
    message = f"could not open {url}: key c2VjcmV0LW5vaXNlLXBzaw== refused"
    cleaned = scrub(message, url)
    assert "c2VjcmV0" not in cleaned
    assert "refused" in cleaned


@pytest.fixture
async def meter_server(socket_enabled: None) -> AsyncIterator[tuple[int, asyncio.Queue[bytes]]]:
    """A ser2net stand-in: what is put in the queue goes to the connected client."""
    outbox: asyncio.Queue[bytes] = asyncio.Queue()
    handlers: set[asyncio.Task[None]] = set()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        handlers.add(task)
        try:
            while (data := await outbox.get()) != b"":
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield port, outbox
    server.close()
    for task in handlers:
        task.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    await server.wait_closed()


async def test_socket_url(meter_server: tuple[int, asyncio.Queue[bytes]]) -> None:
    port, outbox = meter_server
    wire = MeterSimulator("e450", key=DEFAULT_KEY, seed=5).next_push()
    reader, writer = await open_link(f"socket://127.0.0.1:{port}", FORMAT)
    try:
        outbox.put_nowait(wire)
        received = b""
        async with asyncio.timeout(5):
            while len(received) < len(wire):
                received += await reader.read(4096)
        assert received == wire
        outbox.put_nowait(b"")  # the bridge hangs up: end of stream
        async with asyncio.timeout(5):
            assert await reader.read(4096) == b""
    finally:
        writer.close()
        with suppress(OSError):
            await writer.wait_closed()


async def test_refused_socket_is_a_link_error(socket_enabled: None) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(LinkError, match=f"cannot open socket://127.0.0.1:{port}"):
        await open_link(f"socket://127.0.0.1:{port}", FORMAT)


async def test_missing_device_is_a_link_error() -> None:
    with pytest.raises(LinkError, match="/dev/does-not-exist"):
        await open_link("/dev/does-not-exist", FORMAT)


async def test_pty_device() -> None:
    """A USB adapter stand-in: bytes written to the master arrive on the opened slave."""
    master, slave = os.openpty()
    tty.setraw(master)
    path = os.ttyname(slave)
    wire = MeterSimulator("e450", key=DEFAULT_KEY, seed=6).next_push()
    try:
        reader, writer = await open_link(path, FORMAT)
        try:
            os.write(master, wire)
            received = b""
            async with asyncio.timeout(5):
                while len(received) < len(wire):
                    received += await reader.read(4096)
            assert received == wire
        finally:
            writer.close()
            with suppress(OSError):
                await writer.wait_closed()
    finally:
        os.close(slave)
        os.close(master)
