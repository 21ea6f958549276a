"""Link faults in a running Home Assistant: the real reader, coordinator and entities.

A simulated E450 pushes through the simulator's TcpMeterServer (ser2net) and a FlakyProxy on
loopback, or into a pty behind a stable symlink (a USB adapter). The runtime's timing is
scaled down (push every 50 ms, silence timeout and watchdog 0.8 s instead of 30 s) so every
scenario takes seconds; the rules are the same as in production:

* entities go unavailable within the silence timeout (3 push intervals, at least
  MIN_SILENCE_TIMEOUT) and come back within 5 s of data returning, without a reload;
* one warning per loss, one info line per recovery, nothing louder in between;
* no asyncio task and no file descriptor leaks over 100 reconnect cycles.

Scaled-down back-off would hide a production back-off that makes returning data wait (1 s
doubling to 60 s): the last two tests run the reader with production pauses on a simulated
clock (an adapter gone for an hour, a meter silent for a long time).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
import contextlib
import dataclasses
from dataclasses import dataclass
import logging
import os
from pathlib import Path
from typing import cast
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
)

from custom_components.swiss_meter_cii import (
    availability as availability_module,
    reader as reader_module,
)
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder import StreamDecoder
from custom_components.swiss_meter_cii.link import LinkError, SerialFormat
from custom_components.swiss_meter_cii.reader import Link, MeterReader, Opener, ReaderTiming
from simulator import DEFAULT_KEY, MeterSimulator, TcpMeterServer
from tests.integration.conftest import entity_id, entry_for, setup_entry

from .links import FlakyProxy, PtyMeter, Timeline, open_fds, task_count

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")

INTERVAL = 0.05  # seconds between pushes
SILENCE = 0.8  # MIN_SILENCE_TIMEOUT and the reader's watchdog floor (30 s in production)
TIMING = ReaderTiming(
    backoff_min=0.02,
    backoff_max=0.2,
    watchdog_min=SILENCE,
    assumed_interval=INTERVAL,
    format_timeout=2.0,
)
RECOVERY = 5.0  # entities are back this soon after data returns
SLACK = 1.0  # loop and scheduling jitter on a busy CI machine
CYCLES = int(os.environ.get("RELIABILITY_RECONNECT_CYCLES", "100"))
ENERGY = "1-1:1.8.0.255"
LOGGER = "custom_components.swiss_meter_cii"
LOST = "no valid data from the meter"
BACK = "receiving data from the meter again"


@pytest.fixture(autouse=True)
def fast_runtime() -> Iterator[None]:
    """The production rules with seconds scaled down to fractions of a second."""
    with (
        patch.object(reader_module, "DEFAULT_TIMING", TIMING),
        patch.object(availability_module, "MIN_SILENCE_TIMEOUT", SILENCE),
        patch.object(availability_module, "ASSUMED_PUSH_INTERVAL", INTERVAL),
    ):
        yield


@dataclass(slots=True)
class Rig:
    """A running entry and what it is connected to."""

    entry: MockConfigEntry
    coordinator: SwissMeterCoordinator
    energy: Timeline

    async def until(self, condition: Callable[[], bool], within: float) -> None:
        """Wait (real time) until `condition` holds after some coordinator update."""
        changed = asyncio.Event()
        unsubscribe = self.coordinator.async_add_listener(changed.set)
        try:
            async with asyncio.timeout(within):
                while not condition():
                    changed.clear()
                    await changed.wait()
        finally:
            unsubscribe()

    async def pushes(self, count: int, within: float = RECOVERY) -> None:
        """Wait for `count` more valid pushes."""
        target = self.coordinator.stats.pushes + count
        await self.until(lambda: self.coordinator.stats.pushes >= target, within)


async def start_rig(
    hass: HomeAssistant, sim: MeterSimulator, port: str, serial_format: str = "2400_8E1"
) -> Rig:
    """Set the entry up on `port` and wait for the energy sensor to show a value."""
    entry = entry_for(sim, port=port, serial_format=serial_format)
    coordinator = await setup_entry(hass, entry)
    rig = Rig(entry, coordinator, Timeline(hass, ""))
    await rig.pushes(3)
    await hass.async_block_till_done()
    rig.energy = Timeline(hass, entity_id(hass, f"{sim.meter_number}_{ENERGY}"))
    return rig


async def stop_rig(hass: HomeAssistant, rig: Rig) -> None:
    """Unload (cancels the reader, closes the link)."""
    rig.energy.close()
    if rig.entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(rig.entry.entry_id)
    await hass.async_block_till_done()


def reopened(rig: Rig, counter: str) -> Callable[[], bool]:
    """Condition: the link statistic `counter` went up from its value now."""
    target = getattr(rig.coordinator.stats, counter) + 1
    return lambda: bool(getattr(rig.coordinator.stats, counter) >= target)


def log_lines(caplog: pytest.LogCaptureFixture, text: str, level: int) -> int:
    """Records of the integration at `level` containing `text`."""
    return sum(
        1
        for r in caplog.records
        if r.name.startswith(LOGGER) and r.levelno == level and text in r.getMessage()
    )


def loud_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Everything the integration logged at warning or above."""
    return [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith(LOGGER) and r.levelno >= logging.WARNING
    ]


def available(state: str) -> bool:
    """A value is shown."""
    return state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)


@dataclass(slots=True)
class TcpLine:
    """Meter server, proxy and the running entry behind them."""

    server: TcpMeterServer
    proxy: FlakyProxy
    rig: Rig


@pytest.fixture
async def tcp_line(hass: HomeAssistant, socket_enabled: None) -> AsyncIterator[TcpLine]:
    sim = MeterSimulator("e450", key=DEFAULT_KEY, seed=41)
    server = TcpMeterServer(sim, interval=INTERVAL)
    proxy = FlakyProxy(await server.start())
    await proxy.start()
    rig = await start_rig(hass, sim, f"socket://127.0.0.1:{proxy.port}")
    try:
        yield TcpLine(server, proxy, rig)
    finally:
        await stop_rig(hass, rig)
        await proxy.stop()
        await server.stop()


async def test_peer_closes_100_times_without_leaks(
    hass: HomeAssistant, tcp_line: TcpLine, caplog: pytest.LogCaptureFixture
) -> None:
    """ser2net restarts over and over: quiet reconnects, no unavailability, no leaks."""
    rig, proxy = tcp_line.rig, tcp_line.proxy
    caplog.set_level(logging.INFO, logger=LOGGER)
    await hass.async_block_till_done()
    fds, tasks = open_fds(), task_count()
    connects = rig.coordinator.stats.connects
    before = hass.states.get(rig.energy.entity_id)
    assert before is not None
    for _ in range(CYCLES):
        await proxy.close_connections()
        await rig.until(reopened(rig, "connects"), RECOVERY)
        await rig.pushes(1)
    await hass.async_block_till_done()
    assert rig.coordinator.stats.connects == connects + CYCLES
    assert proxy.open_connections == 1
    assert open_fds() <= fds, "file descriptors leaked"
    assert task_count() <= tasks, "tasks leaked"
    assert [state for _, state in rig.energy.states if not available(state)] == []
    assert loud_lines(caplog) == []
    # The register may not have changed at all in these seconds: then it shows what it showed.
    last = rig.energy.current or before.state
    assert hass.states.get(rig.energy.entity_id).state == last  # type: ignore[union-attr]


async def test_half_open_link_is_reopened_by_the_watchdog(
    hass: HomeAssistant, tcp_line: TcpLine, caplog: pytest.LogCaptureFixture
) -> None:
    """The bridge vanishes without a FIN: the watchdog closes the dead link and reconnects."""
    rig, proxy = tcp_line.rig, tcp_line.proxy
    caplog.set_level(logging.INFO, logger=LOGGER)
    loop = asyncio.get_running_loop()
    coordinator = rig.coordinator
    reconnects, accepted = coordinator.stats.reconnects, proxy.accepted
    proxy.freeze()
    frozen_at = loop.time()
    await rig.until(lambda: coordinator.stats.reconnects > reconnects, SILENCE + SLACK)
    assert loop.time() - frozen_at <= coordinator.silence_timeout + SLACK
    await rig.pushes(2)
    back = loop.time()
    assert proxy.accepted == accepted + 1
    assert proxy.open_connections == 1  # the reader closed the frozen connection
    await rig.energy.wait_for(available, RECOVERY, now=True)
    assert back - frozen_at <= SILENCE + RECOVERY
    # Watchdog and silence timer run on the same clock: the sensors may blink unavailable
    # once - then with exactly one warning and one recovery line.
    lost = sum(1 for _, state in rig.energy.states if state == STATE_UNAVAILABLE)
    assert lost <= 1
    assert log_lines(caplog, LOST, logging.WARNING) == lost
    assert log_lines(caplog, BACK, logging.INFO) == lost
    assert len(loud_lines(caplog)) == lost


async def test_silent_meter_unavailable_then_back_without_reload(
    hass: HomeAssistant, tcp_line: TcpLine, caplog: pytest.LogCaptureFixture
) -> None:
    """The meter stops sending for a while (several watchdog reconnects), then resumes."""
    rig, proxy = tcp_line.rig, tcp_line.proxy
    caplog.set_level(logging.INFO, logger=LOGGER)
    loop = asyncio.get_running_loop()
    coordinator = rig.coordinator
    timeout = coordinator.silence_timeout
    assert timeout == pytest.approx(SILENCE)
    proxy.silent = True
    silent_at = loop.time()
    gone = await rig.energy.wait_for(lambda s: s == STATE_UNAVAILABLE, timeout + SLACK)
    assert timeout - 2 * INTERVAL - SLACK / 4 <= gone - silent_at <= timeout + SLACK
    reconnects = coordinator.stats.reconnects
    await rig.until(lambda: coordinator.stats.reconnects >= reconnects + 2, 4 * SILENCE + SLACK)
    proxy.silent = False
    resumed_at = loop.time()
    back = await rig.energy.wait_for(available, RECOVERY)
    assert back - resumed_at <= RECOVERY
    assert rig.entry.state is ConfigEntryState.LOADED
    assert rig.entry.runtime_data.coordinator is coordinator  # no reload
    assert log_lines(caplog, LOST, logging.WARNING) == 1
    assert log_lines(caplog, BACK, logging.INFO) == 1
    assert len(loud_lines(caplog)) == 1


@dataclass(slots=True)
class SerialLine:
    """The pty meter and the running entry reading it."""

    meter: PtyMeter
    rig: Rig


@pytest.fixture
async def serial_line(hass: HomeAssistant, tmp_path: Path) -> AsyncIterator[SerialLine]:
    sim = MeterSimulator("e450", key=DEFAULT_KEY, seed=43)
    meter = PtyMeter(sim, tmp_path / "usb-FTDI_FT232R_METER-if00-port0", INTERVAL)
    await meter.start()
    # 8N1: a pty refuses a second opening with parity set (EINVAL), a USB adapter does not.
    rig = await start_rig(hass, sim, str(meter.link), "9600_8N1")
    try:
        yield SerialLine(meter, rig)
    finally:
        await stop_rig(hass, rig)
        await meter.stop()


async def test_serial_adapter_unplugged_and_back(
    hass: HomeAssistant, serial_line: SerialLine, caplog: pytest.LogCaptureFixture
) -> None:
    """The device disappears (pty closed, link removed) for a while and comes back."""
    rig, meter = serial_line.rig, serial_line.meter
    caplog.set_level(logging.INFO, logger=LOGGER)
    loop = asyncio.get_running_loop()
    timeout = rig.coordinator.silence_timeout
    meter.unplug()
    assert not meter.link.exists()
    gone_at = loop.time()
    gone = await rig.energy.wait_for(lambda s: s == STATE_UNAVAILABLE, timeout + SLACK)
    assert gone - gone_at <= timeout + SLACK
    await asyncio.sleep(2 * SILENCE)  # the reader keeps retrying a missing device
    meter.plug()
    plugged_at = loop.time()
    back = await rig.energy.wait_for(available, RECOVERY)
    assert back - plugged_at <= RECOVERY
    assert rig.entry.runtime_data.coordinator is rig.coordinator
    assert log_lines(caplog, LOST, logging.WARNING) == 1
    assert log_lines(caplog, BACK, logging.INFO) == 1
    assert len(loud_lines(caplog)) == 1


async def test_serial_replug_cycles_without_leaks(
    hass: HomeAssistant, serial_line: SerialLine, caplog: pytest.LogCaptureFixture
) -> None:
    """Short unplugs (a flaky USB hub): every one reconnects, nothing accumulates."""
    rig, meter = serial_line.rig, serial_line.meter
    caplog.set_level(logging.INFO, logger=LOGGER)
    await hass.async_block_till_done()
    fds, tasks = open_fds(), task_count()
    for _ in range(CYCLES // 4):
        meter.unplug()
        await rig.until(reopened(rig, "reconnects"), RECOVERY)
        meter.plug()
        await rig.pushes(1)
    await hass.async_block_till_done()
    assert open_fds() <= fds, "file descriptors leaked"
    assert task_count() <= tasks, "tasks leaked"
    assert loud_lines(caplog) == []


class SimulatedClock:
    """Stands in for `asyncio` inside reader.py: back-off pauses pass in simulated time.

    Everything else is the real asyncio. `now` is the simulated time: the sum of all the
    sleeps the reader asked for (its sessions end by the watchdog in real milliseconds).
    """

    def __init__(self) -> None:
        self.now = 0.0
        self.on_sleep: Callable[[], None] | None = None

    def __getattr__(self, name: str) -> object:
        return getattr(asyncio, name)

    async def sleep(self, delay: float) -> None:
        self.now += delay
        if self.on_sleep is not None:
            self.on_sleep()
        await asyncio.sleep(0)


class _Watcher:
    """The coordinator calls the reader makes, with no Home Assistant behind them."""

    push_interval: float | None = None

    def __init__(self) -> None:
        self.pushes = 0

    def set_link_state(self, *_args: object, **_kwargs: object) -> None:
        pass

    def handle_bytes(self, _count: int) -> None:
        pass

    def handle_error(self, _event: object) -> None:
        pass

    def handle_push(self, _push: object, _received_at: float | None = None) -> None:
        self.pushes += 1


class _Closer:
    """Writer half of the scripted link (the reader only closes it)."""

    def close(self) -> None:
        pass

    async def wait_closed(self) -> None:
        pass


# Production back-off and device checks; only the watchdog is fast, so that a silent
# session ends in milliseconds of real time instead of 30 s.
PRODUCTION_PAUSES = dataclasses.replace(
    ReaderTiming(), watchdog_min=0.01, assumed_interval=0.001, format_timeout=1.0
)


async def run_reader(port: str, opener: Opener, clock: SimulatedClock) -> _Watcher:
    """Run a reader with the scripted opener until it delivered one push."""
    watcher = _Watcher()
    reader = MeterReader(
        cast(SwissMeterCoordinator, watcher),
        port,
        "2400_8E1",
        lambda: StreamDecoder(key=DEFAULT_KEY),
        timing=PRODUCTION_PAUSES,
        opener=opener,
    )
    with patch.object(reader_module, "asyncio", clock):
        task = asyncio.create_task(reader.run())
        try:
            # A guard against a hang, in real time: an hour of simulated back-off takes 3-8 s
            # of CPU here (more under coverage on a loaded machine); the assertions are on the
            # simulated clock.
            async with asyncio.timeout(30):
                while not watcher.pushes:  # noqa: ASYNC110 - no event to wait on
                    await asyncio.sleep(0.001)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return watcher


async def test_adapter_back_after_an_hour_is_read_within_5_s(tmp_path: Path) -> None:
    """Production back-off (1 s doubling to 60 s): the adapter is gone for an hour."""
    device = tmp_path / "usb-FTDI_FT232R_METER-if00-port0"
    sim = MeterSimulator("e360", key=DEFAULT_KEY, seed=5)
    clock = SimulatedClock()
    back_at: list[float] = []
    opened_at: list[float] = []

    def replug() -> None:
        if clock.now >= 3600 and not back_at:
            device.touch()
            back_at.append(clock.now)

    async def opener(port: str, _format: SerialFormat) -> Link:
        if not os.path.exists(port):
            raise LinkError(f"cannot open {port}: [Errno 2] No such file or directory")
        opened_at.append(clock.now)
        stream = asyncio.StreamReader()
        stream.feed_data(sim.next_push())
        return stream, cast(asyncio.StreamWriter, _Closer())

    clock.on_sleep = replug
    await run_reader(str(device), opener, clock)
    assert opened_at[0] - back_at[0] <= RECOVERY


async def test_silent_meter_is_read_within_5_s_when_it_resumes(tmp_path: Path) -> None:
    """The adapter stays, the meter is silent for a long time, then sends again.

    Each silent session ends by the watchdog and the back-off grows; the meter resumes at
    the worst moment, right after a silent session ended.
    """
    device = tmp_path / "usb-FTDI_FT232R_METER-if00-port0"
    device.touch()
    sim = MeterSimulator("e360", key=DEFAULT_KEY, seed=6)
    clock = SimulatedClock()
    openings: list[float] = []
    resumed_at: list[float] = []

    async def opener(port: str, _format: SerialFormat) -> Link:
        openings.append(clock.now)
        stream = asyncio.StreamReader()
        if len(openings) == 20:
            resumed_at.append(clock.now)  # this session stays silent; the next one won't
        elif resumed_at:
            stream.feed_data(sim.next_push())
        return stream, cast(asyncio.StreamWriter, _Closer())

    await run_reader(str(device), opener, clock)
    assert openings[-1] - resumed_at[0] <= RECOVERY, f"pauses: {openings[-3:]}"
