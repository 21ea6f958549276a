"""Outputs: the ser2net-like TCP server, the pty and the byte stream writer."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
import io
import os
from pathlib import Path
import socket
import time

import pytest

from simulator import MeterSimulator, PtyOutput, TcpMeterServer
from simulator.faults import FaultedPush
from simulator.outputs import StreamWriter, _chunks, run_stream

START = datetime(2025, 6, 18, 10, 0, tzinfo=UTC)


def _run_of_pushes(data: bytes, pushes: list[bytes]) -> tuple[int, int]:
    """(first index, count) of the consecutive complete pushes `data` starts with."""
    first = next((i for i, p in enumerate(pushes) if data.startswith(p)), None)
    assert first is not None, "stream does not start at a push boundary"
    pos, index = 0, first
    while index < len(pushes) and data.startswith(pushes[index], pos):
        pos += len(pushes[index])
        index += 1
    return first, index - first


async def _until(condition: Callable[[], bool], limit: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def _read_pushes(reader: asyncio.StreamReader, pushes: list[bytes], n: int) -> bytes:
    """Read until the data holds `n` complete consecutive pushes; return it."""
    data = b""
    while True:
        data += await asyncio.wait_for(reader.read(65536), timeout=5)
        first = next((i for i, p in enumerate(pushes) if data.startswith(p)), None)
        if first is not None and _run_of_pushes(data, pushes)[1] >= n:
            return data


async def test_tcp_server_two_clients_one_leaves(socket_enabled: None) -> None:
    sim = MeterSimulator("e450", seed=1, start=START)
    pushes: list[bytes] = []

    def record(push: FaultedPush) -> None:
        pushes.append(push.data)

    server = TcpMeterServer(sim, interval=0.03, on_push=record)
    port = await server.start(port=0)
    assert port > 0
    try:
        r1, w1 = await asyncio.open_connection("127.0.0.1", port)
        r2, w2 = await asyncio.open_connection("127.0.0.1", port)
        await _until(lambda: server.clients == 2)
        data1 = await _read_pushes(r1, pushes, 3)
        data2 = await _read_pushes(r2, pushes, 3)
        first1, _ = _run_of_pushes(data1, pushes)
        first2, _ = _run_of_pushes(data2, pushes)
        assert abs(first1 - first2) <= 1  # both get the live stream

        w1.write(b"/?!\r\n")  # what a client sends is swallowed, as by ser2net
        await w1.drain()
        w1.close()
        await w1.wait_closed()
        await _until(lambda: server.clients == 1)
        sent_at_leave = server.pushes_sent

        more = await _read_pushes(r2, pushes, 6)
        assert server.pushes_sent > sent_at_leave + 3  # the meter kept pushing
        _, run = _run_of_pushes(data2 + more, pushes)
        assert run >= 9  # client 2 saw an unbroken run across client 1 leaving

        r3, w3 = await asyncio.open_connection("127.0.0.1", port)
        await _read_pushes(r3, pushes, 2)  # a newcomer joins at a push boundary
        w3.close()
        await w3.wait_closed()
    finally:
        await server.stop()
    assert await asyncio.wait_for(r2.read(), timeout=5) is not None  # EOF after stop
    assert r2.at_eof()
    w2.close()
    assert server.clients == 0


async def test_tcp_server_count_and_wait_done(socket_enabled: None) -> None:
    sim = MeterSimulator("am550", seed=2, start=START)
    server = TcpMeterServer(sim, interval=0.01, count=4)
    await server.start()
    await asyncio.wait_for(server.wait_done(), timeout=5)
    assert server.pushes_sent == 4
    assert sim.pushes == 4
    await server.stop()
    with pytest.raises(ValueError, match="interval"):
        TcpMeterServer(sim, interval=0)


def test_tcp_server_from_sync_code(socket_enabled: None) -> None:
    sim = MeterSimulator("kaifa_ma309m", seed=3, start=START)
    server = TcpMeterServer(sim, interval=0.02)
    port = server.start_in_thread()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
            data = b""
            while len(data) < 1000:
                data += conn.recv(4096)
            assert b"\x68\xfa\xfa\x68\x53\xff" in data
    finally:
        server.stop_in_thread()
    assert server.pushes_sent >= 2
    with pytest.raises(OSError):  # noqa: PT011 - errno differs by platform
        socket.create_connection(("127.0.0.1", port), timeout=1)


def test_pty_carries_bytes_unchanged(tmp_path: Path) -> None:
    link = tmp_path / "ttyMETER"
    sim = MeterSimulator("e450", seed=4, start=START)
    reference = MeterSimulator("e450", seed=4, start=START)
    with PtyOutput(str(link)) as pty:
        assert link.is_symlink()
        assert os.readlink(link) == pty.path
        fd = os.open(link, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            sent = run_stream(sim, pty.write, count=3, interval=5.0, realtime=False)
            expected = b"".join(reference.next_push() for _ in range(3))
            received = b""
            deadline = time.monotonic() + 5
            while len(received) < len(expected) and time.monotonic() < deadline:
                try:
                    received += os.read(fd, 65536)
                except BlockingIOError:
                    time.sleep(0.01)
        finally:
            os.close(fd)
        assert sent == 3
        assert received == expected  # raw mode: no CR/LF or control-character mangling
    assert not link.exists()


def test_pty_drops_what_nobody_reads(tmp_path: Path) -> None:
    with PtyOutput() as pty:
        written = pty.write(bytes(1 << 20))
        assert written < 1 << 20  # the kernel buffer filled up; write did not block
        assert pty.dropped == (1 << 20) - written
    target = tmp_path / "not-a-link"
    target.write_text("keep me")
    with pytest.raises(FileExistsError):
        PtyOutput(str(target))
    assert target.read_text() == "keep me"


def test_stream_writer_raw_and_hex() -> None:
    sink = io.BytesIO()
    sim = MeterSimulator("e360", seed=5, start=START)
    reference = MeterSimulator("e360", seed=5, start=START)
    started = time.monotonic()
    assert run_stream(sim, StreamWriter(sink), count=5, interval=5.0, realtime=False) == 5
    assert time.monotonic() - started < 2  # no sleeping between pushes
    assert sink.getvalue() == b"".join(reference.next_push() for _ in range(5))

    hex_sink = io.BytesIO()
    run_stream(sim, StreamWriter(hex_sink, hex_lines=True), count=2, realtime=False)
    lines = hex_sink.getvalue().decode().splitlines()
    assert [bytes.fromhex(line) for line in lines] == [reference.next_push() for _ in range(2)]


def test_realtime_pacing() -> None:
    assert sum(s for _, s in _chunks(bytes(240), 2400)) == pytest.approx(1.1)
    assert [len(c) for c, _ in _chunks(bytes(40), 2400)] == [16, 16, 8]
    sim = MeterSimulator("e450", seed=6, start=START)
    started = time.monotonic()
    run_stream(sim, lambda _data: None, count=3, interval=0.1)
    assert time.monotonic() - started >= 0.19  # two pauses between three pushes
