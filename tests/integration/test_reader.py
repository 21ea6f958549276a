"""The read loop: reconnects, back-off, watchdog, auto format, clean cancel, loopback TCP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import itertools
from pathlib import Path
import socket
from typing import cast

from homeassistant.core import HomeAssistant
import pytest

from custom_components.swiss_meter_cii.const import PROBE_ORDER, SERIAL_FORMAT_AUTO
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder import StreamDecoder
from custom_components.swiss_meter_cii.decoder.errors import ErrorKind
from custom_components.swiss_meter_cii.decoder.push import ErrorEvent, Push
from custom_components.swiss_meter_cii.link import LinkError
from custom_components.swiss_meter_cii.link_stats import LinkState
from custom_components.swiss_meter_cii.reader import MeterReader, Opener, ReaderTiming
from simulator import DEFAULT_KEY, MeterSimulator, TcpMeterServer, wrong_key

from .conftest import (
    FAST_TIMING,
    FakeLink,
    FakeWriter,
    as_float,
    energy_state,
    entity_id,
    entry_for,
    send_push,
    settle,
    setup_entry,
)


async def wait_for(
    coordinator: SwissMeterCoordinator, condition: Callable[[], bool], within: float = 5.0
) -> None:
    """Wait (real time: loopback tests) until `condition` holds after a coordinator update."""
    changed = asyncio.Event()
    unsubscribe = coordinator.async_add_listener(changed.set)
    try:
        async with asyncio.timeout(within):
            while not condition():
                changed.clear()
                await changed.wait()
    finally:
        unsubscribe()


class Recorder:
    """The three coordinator calls the reader makes, recorded."""

    def __init__(self) -> None:
        self.pushes: list[Push] = []
        self.errors: list[ErrorEvent] = []
        self.states: list[tuple[LinkState, str | None]] = []
        self.bytes = 0
        self.push_interval: float | None = None

    def handle_push(self, push: Push, _received_at: float | None = None) -> None:
        self.pushes.append(push)

    def handle_error(self, event: ErrorEvent) -> None:
        self.errors.append(event)

    def handle_bytes(self, count: int) -> None:
        self.bytes += count

    def set_link_state(
        self, state: LinkState, *, detail: str | None = None, serial_format: str | None = None
    ) -> None:
        self.states.append((state, serial_format or detail))


def make_reader(
    link: FakeLink,
    serial_format: str = "2400_8E1",
    timing: ReaderTiming = FAST_TIMING,
    decoder: type[StreamDecoder] = StreamDecoder,
) -> tuple[MeterReader, Recorder]:
    recorder = Recorder()
    reader = MeterReader(
        cast(SwissMeterCoordinator, recorder),
        "/dev/ttyUSB0",
        serial_format,
        lambda: decoder(key=DEFAULT_KEY),
        timing=timing,
        opener=link,
    )
    return reader, recorder


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_every_push_is_handed_on_at_once(meter: MeterSimulator) -> None:
    link = FakeLink()
    reader, recorder = make_reader(link)
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    wire = meter.next_push()
    # Byte by byte: the push must be complete exactly with its last byte.
    for i, byte in enumerate(wire):
        link.send(bytes([byte]))
        for _ in range(3):
            await asyncio.sleep(0)
        assert len(recorder.pushes) == (1 if i == len(wire) - 1 else 0)
    assert recorder.bytes == len(wire)
    push = recorder.pushes[0]
    assert push.values["1-1:1.8.0.255"].value == meter.last_values["1-1:1.8.0.255"][0]
    await stop(task)
    assert link.current.closed


async def test_reconnects_with_exponential_backoff(meter: MeterSimulator) -> None:
    link = FakeLink()
    link.fail_next = 5
    reader, recorder = make_reader(link)
    loop = asyncio.get_running_loop()
    times: list[float] = []
    original = link.__call__

    async def timed(port: str, fmt: object) -> object:
        times.append(loop.time())
        return await original(port, fmt)  # type: ignore[arg-type]

    reader._opener = timed  # type: ignore[assignment]
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    expected = [0.02, 0.04, 0.08, 0.08, 0.08]  # doubles, capped at backoff_max
    assert len(gaps) == len(expected)
    for gap, wanted in zip(gaps, expected, strict=True):
        assert gap >= wanted * 0.9
    assert [state for state, _ in recorder.states].count(LinkState.DISCONNECTED) == 5
    assert "No such file" in str(recorder.states[1][1])

    # A good push resets the back-off: after the next drop the reader is back quickly.
    link.send(meter.next_push())
    await asyncio.sleep(0.01)
    assert recorder.pushes
    link.drop()
    before = loop.time()
    await link.wait_opened(2)
    assert loop.time() - before < 0.08
    await stop(task)


async def test_watchdog_reopens_a_silent_link(meter: MeterSimulator) -> None:
    link = FakeLink()
    reader, recorder = make_reader(link)
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    link.send(meter.next_push())
    await asyncio.sleep(0.01)
    assert len(recorder.pushes) == 1
    loop = asyncio.get_running_loop()
    start = loop.time()
    await link.wait_opened(2)  # half-open TCP: nothing arrives, the watchdog closes it
    assert loop.time() - start >= FAST_TIMING.watchdog_min * 0.9
    assert link.writers[0].closed
    assert any("nothing received" in str(detail) for _, detail in recorder.states)
    link.send(meter.next_push())
    await asyncio.sleep(0.01)
    assert len(recorder.pushes) == 2
    await stop(task)


async def test_auto_format_rotates_then_sticks(meter: MeterSimulator) -> None:
    link = FakeLink()
    link.fail_next = 2
    reader, recorder = make_reader(link, serial_format=SERIAL_FORMAT_AUTO)
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    assert [fmt for _, fmt in link.openings] == list(PROBE_ORDER[:3])
    # Garbage at this speed: no valid frame within the format timeout -> the next format.
    for _ in range(8):
        link.send(b"\x55\xaa" * 50)
        await asyncio.sleep(0.06)
    await link.wait_opened(2)
    assert link.openings[-1][1] == PROBE_ORDER[3]
    link.send(meter.next_push())
    await asyncio.sleep(0.01)
    assert recorder.pushes
    assert (LinkState.CONNECTED, PROBE_ORDER[3]) in recorder.states
    link.drop()
    await link.wait_opened(3)
    assert link.openings[-1][1] == PROBE_ORDER[3]  # the format that worked is kept
    await stop(task)


async def test_auto_format_kept_on_valid_frames_with_a_wrong_key() -> None:
    """A wrong key is a key problem, not a line problem: the format search must stop."""
    stranger = MeterSimulator("e450", key=wrong_key(DEFAULT_KEY), seed=7)
    link = FakeLink()
    reader, recorder = make_reader(link, serial_format=SERIAL_FORMAT_AUTO)
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    link.send(stranger.next_push())
    await asyncio.sleep(0.01)
    assert [event.kind for event in recorder.errors] == [ErrorKind.WRONG_KEY]
    assert reader.serial_format == PROBE_ORDER[0]
    link.drop()
    await link.wait_opened(2)
    assert [fmt for _, fmt in link.openings] == [PROBE_ORDER[0]] * 2
    await stop(task)


async def test_auto_format_over_raw_tcp_does_not_search() -> None:
    link = FakeLink()
    link.fail_next = 2
    recorder = Recorder()
    reader = MeterReader(
        cast(SwissMeterCoordinator, recorder),
        "socket://192.0.2.7:3001",
        SERIAL_FORMAT_AUTO,
        lambda: StreamDecoder(key=DEFAULT_KEY),
        timing=FAST_TIMING,
        opener=link,
    )
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    assert [fmt for _, fmt in link.openings] == [PROBE_ORDER[0]] * 3
    await stop(task)


async def test_cut_frame_is_counted_not_glued(meter: MeterSimulator) -> None:
    link = FakeLink()
    reader, recorder = make_reader(link)
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    wire = meter.next_push()
    link.send(wire[: len(wire) // 2])
    await asyncio.sleep(0.01)
    link.drop()
    await link.wait_opened(2)
    assert any(event.kind is ErrorKind.INCOMPLETE for event in recorder.errors)
    link.send(meter.next_push())
    await asyncio.sleep(0.01)
    assert len(recorder.pushes) == 1
    await stop(task)


async def test_decoder_failure_does_not_end_the_loop(meter: MeterSimulator) -> None:
    class Fragile(StreamDecoder):
        broken = True

        def feed(self, data: bytes) -> list[Push | ErrorEvent]:
            if Fragile.broken:
                Fragile.broken = False
                raise RuntimeError("decoder bug")
            return super().feed(data)

    link = FakeLink()
    reader, recorder = make_reader(link, decoder=Fragile)
    task = asyncio.create_task(reader.run())
    await link.wait_opened(1)
    link.send(b"\x7e\x00")
    await asyncio.sleep(0.01)
    assert [event.kind for event in recorder.errors] == [ErrorKind.MALFORMED]
    link.send(meter.next_push())
    await asyncio.sleep(0.01)
    assert len(recorder.pushes) == 1
    assert not task.done()
    await stop(task)


@pytest.mark.usefixtures("socket_enabled", "fast_timing")
async def test_reconnect_after_dropped_tcp_link(hass: HomeAssistant) -> None:
    sim = MeterSimulator("e450", key=DEFAULT_KEY, seed=3)
    server = TcpMeterServer(sim, interval=0.05)
    port = await server.start()
    entry = entry_for(sim, port=f"socket://127.0.0.1:{port}")
    coordinator = await setup_entry(hass, entry)
    try:
        await wait_for(coordinator, lambda: coordinator.stats.pushes >= 2)
        energy = entity_id(hass, f"{sim.meter_number}_1-1:1.8.0.255")
        assert hass.states.get(energy).state not in ("unavailable", "unknown")  # type: ignore[union-attr]

        await server.stop()  # ser2net restarts: the connection drops
        await wait_for(coordinator, lambda: coordinator.stats.state is not LinkState.CONNECTED)
        server = TcpMeterServer(sim, interval=0.05)
        await server.start(port=port)
        seen = coordinator.stats.pushes
        await wait_for(coordinator, lambda: coordinator.stats.pushes >= seen + 2)
        assert coordinator.stats.state is LinkState.CONNECTED
        assert coordinator.stats.reconnects >= 1
        await settle(hass)
        wh = energy_state(hass, f"{sim.meter_number}_1-1:1.8.0.255")
        assert wh == pytest.approx(as_float(coordinator.data.values["1-1:1.8.0.255"].value))
    finally:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
        try:
            # Unloading closed our socket: the server sees its client leave.
            async with asyncio.timeout(2):
                while server.clients:  # noqa: ASYNC110 - the simulator has no event for it
                    await asyncio.sleep(0.01)
        finally:
            await server.stop()


async def test_link_state_follows_the_reader(
    hass: HomeAssistant,
    fast_timing: ReaderTiming,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: object,
) -> None:
    link_state = entity_id(hass, f"{meter.meter_number}_link_state")
    assert hass.states.get(link_state).state == "connected"  # type: ignore[union-attr]
    await send_push(hass, fake_link, meter)
    fake_link.fail_next = 100
    fake_link.drop()
    await settle(hass)
    assert hass.states.get(link_state).state in ("connecting", "disconnected")  # type: ignore[union-attr]


def _returning_link(
    meter: MeterSimulator, is_back: Callable[[], bool]
) -> Callable[[str, object], object]:
    """An opener that fails until `is_back()`, then delivers one push."""

    async def opener(port: str, _fmt: object) -> tuple[asyncio.StreamReader, FakeWriter]:
        if not is_back():
            raise LinkError(f"cannot open {port}: [Errno 2] No such file or directory")
        stream = asyncio.StreamReader()
        stream.feed_data(meter.next_push())
        return stream, FakeWriter(stream)

    return opener


async def test_a_returning_adapter_ends_a_long_back_off(
    meter: MeterSimulator, tmp_path: Path
) -> None:
    # The back-off is 30 s, but the device node is watched: its return is acted on at once.
    node = tmp_path / "usb-meter"
    recorder = Recorder()
    reader = MeterReader(
        cast(SwissMeterCoordinator, recorder),
        str(node),
        "2400_8E1",
        lambda: StreamDecoder(key=DEFAULT_KEY),
        timing=ReaderTiming(backoff_min=30, backoff_max=30, device_check=0.02),
        opener=cast(Opener, _returning_link(meter, node.exists)),
    )
    task = asyncio.create_task(reader.run())
    await asyncio.sleep(0.1)  # the first opening failed: backing off
    assert not recorder.pushes
    node.touch()  # plugged in again
    async with asyncio.timeout(2):
        while not recorder.pushes:  # noqa: ASYNC110 - polling a plain recorder
            await asyncio.sleep(0.01)
    await stop(task)


async def test_a_returning_bridge_ends_a_long_back_off(
    meter: MeterSimulator, socket_enabled: None
) -> None:
    # ser2net is down; when it accepts connections again the reader does not wait 30 s.
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()
    server: asyncio.Server | None = None
    recorder = Recorder()
    reader = MeterReader(
        cast(SwissMeterCoordinator, recorder),
        f"socket://127.0.0.1:{port}",
        "2400_8E1",
        lambda: StreamDecoder(key=DEFAULT_KEY),
        timing=ReaderTiming(backoff_min=30, backoff_max=30, bridge_check=0.02),
        opener=cast(Opener, _returning_link(meter, lambda: server is not None)),
    )
    task = asyncio.create_task(reader.run())
    await asyncio.sleep(0.1)
    assert not recorder.pushes
    server = await asyncio.start_server(lambda _r, w: w.close(), "127.0.0.1", port)
    try:
        async with asyncio.timeout(2):
            while not recorder.pushes:  # noqa: ASYNC110 - polling a plain recorder
                await asyncio.sleep(0.01)
    finally:
        server.close()
        await server.wait_closed()
        await stop(task)
