"""Latency and per-meter cost inside a real Home Assistant (scripts/benchmark latency|cost).

Uses pytest-homeassistant-custom-component's `hass` (Home Assistant's real core: state
machine, event bus, entity platform) and the integration's real set-up, reader, decoder,
coordinator and sensors over real loopback TCP (`socket://`, as with ser2net). This file is
not part of the test suite (pytest's testpaths is tests/): scripts/benchmark runs it by path.
It prints figures; it never asserts a time (a shared machine's timings are not pass/fail).

Knobs (environment): BENCH_PUSHES (latency, default 1000), BENCH_GAP (latency: seconds between
pushes, default 0.02), BENCH_METERS (cost, default 10),
BENCH_SECONDS (cost: seconds measured idle and with the meters, default 60), BENCH_SOAK (cost:
seconds of extra running with RSS samples, default 0), BENCH_MIN_INTERVAL (cost: the entries'
min_interval option, seconds between state writes, default 0 = every push).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
import contextlib
import gc
import json
import logging
import os
import pathlib
import resource
import sys
import time

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import recorder as recorder_helper
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped, unused-ignore]
    MockConfigEntry,
)

from benchmarks.cases import simulated_pushes
from benchmarks.common import ROOT, Summary, machine_line
from custom_components.swiss_meter_cii.const import (
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_MIN_INTERVAL,
    CONF_MODEL,
    CONF_PORT,
    CONF_SERIAL_FORMAT,
    DOMAIN,
)
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder.push import ErrorEvent, Push
from custom_components.swiss_meter_cii.decoder.stream import StreamDecoder
from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY

WARMUP_PUSHES = 50  # entities are created by the first push; caches warm up
# Idle time between pushes (BENCH_GAP): 20 ms keeps the caches fairly warm; a real meter waits
# 1-60 s, and from about 0.1 s on every push is handled cold (README "At the meters' rhythm").
GAP = float(os.environ.get("BENCH_GAP", "0.02"))
PUSH_TIMEOUT = 2.0
SETTLE = 10.0  # seconds after set-up before the cost is measured


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/swiss_meter_cii."""


@pytest.fixture(autouse=True)
def quiet_logs() -> None:
    """Log at warning level, Home Assistant's default (the harness logs at info)."""
    for name in ("homeassistant", "custom_components", "serialx", "sqlalchemy.engine"):
        logging.getLogger(name).setLevel(logging.WARNING)


@pytest.fixture(autouse=True)
async def enable_event_loop_debug() -> None:
    """Override the plugin's fixture of this name: asyncio debug mode adds its own overhead.

    Home Assistant runs without it; timing with it on would measure the debugger. (Async:
    the current test package has no `event_loop` fixture any more.)
    """
    asyncio.get_running_loop().set_debug(False)


def meter_entry(
    port: int, title: str, meter_number: str | None = None, min_interval: float = 0
) -> MockConfigEntry:
    """Build the config entry the wizard stores for an encrypted E450 behind ser2net.

    `meter_number` is the entry's unique id, as the wizard stores it; without one (meters in
    another process) the entry follows whatever meter sends, so no meter-swap repair runs.
    """
    return MockConfigEntry(
        domain=DOMAIN,
        title=title,
        unique_id=meter_number,
        data={
            CONF_PORT: f"socket://127.0.0.1:{port}",
            CONF_SERIAL_FORMAT: "2400_8E1",
            CONF_MODEL: "lg_e450",
            CONF_ENCRYPTION_KEY: DEFAULT_KEY.hex(),
            CONF_AUTHENTICATION_KEY: DEFAULT_AUTH_KEY.hex(),
        },
        options={CONF_MIN_INTERVAL: min_interval} if min_interval else {},
    )


def cpu_seconds() -> float:
    """User + system CPU time of this process, all threads (not the meters' process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_bytes() -> int:
    """Resident set size now (Linux /proc)."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def print_header(what: str) -> None:
    """Name the measurement and the machine."""
    print()
    print(f"== {what}")
    print(machine_line())
    print(f"asyncio debug mode: {asyncio.get_running_loop().get_debug()}")


# --------------------------------------------------------------------------------------------
# Latency


async def test_latency(hass: HomeAssistant, socket_enabled: None) -> None:
    """Time from the last byte of a push written to the socket to its state_changed events.

    The "meter" is a TCP server in the same process and event loop as Home Assistant, so both
    time stamps come from one clock; it only writes (the kernel does the rest), so it adds
    nothing to what is measured. `first` is the first sensor's state_changed, `all` the last
    one of the same push (every sensor of the push updated).
    """
    count = int(os.environ.get("BENCH_PUSHES", "1000"))
    print_header(f"end-to-end latency, {count} encrypted E450 pushes over TCP, {GAP:g} s apart")
    meter, pushes = simulated_pushes(
        "e450", WARMUP_PUSHES + count, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY
    )
    loop = asyncio.get_running_loop()
    connected: asyncio.Future[asyncio.StreamWriter] = loop.create_future()

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not connected.done():
            connected.set_result(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    entry = meter_entry(port, "E450 latency", meter.meter_number)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    writer = await asyncio.wait_for(connected, 10)

    coordinator = entry.runtime_data.coordinator
    delays: list[float] = []  # the integration's own processing-delay diagnostic, per push
    stamps: list[float] = []
    waiter: asyncio.Future[None] = loop.create_future()

    @callback
    def on_state_changed(event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"].startswith(("sensor.", "binary_sensor.")):
            stamps.append(time.perf_counter())
            if not waiter.done():
                waiter.set_result(None)

    unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, on_state_changed)
    first: list[float] = []
    last: list[float] = []
    events: list[int] = []
    missed = 0
    try:
        for index, push in enumerate(pushes):
            stamps.clear()
            waiter = loop.create_future()
            writer.write(push)  # the socket is empty: the bytes go to the kernel right here
            sent = time.perf_counter()
            try:
                await asyncio.wait_for(waiter, PUSH_TIMEOUT)
            except TimeoutError:
                missed += 1
                continue
            await asyncio.sleep(GAP)  # every state write of this push has happened by now
            if index >= WARMUP_PUSHES:
                first.append(stamps[0] - sent)
                last.append(stamps[-1] - sent)
                events.append(len(stamps))
                if (delay := coordinator.last_delay) is not None:  # this push's state write
                    delays.append(delay)
    finally:
        unsubscribe()
        await hass.config_entries.async_unload(entry.entry_id)
        writer.close()
        server.close()
        await server.wait_closed()

    print(f"pushes timed: {len(first)} (after {WARMUP_PUSHES} warm-up), missed: {missed}")
    print(f"state_changed events per push: {sum(events) / max(len(events), 1):.1f}")
    print(f"first sensor  {Summary.of(first).line()}")
    print(f"all sensors   {Summary.of(last).line()}")
    print(f"processing delay diagnostic (read to state write) {Summary.of(delays).line()}")
    p99 = Summary.of(last).p99
    print(f"target p99 <= 5 ms (all sensors): {p99:.2f} ms -> {'MET' if p99 <= 5 else 'MISSED'}")
    assert first, "no push reached the state machine"


# --------------------------------------------------------------------------------------------
# Cost per meter


@contextlib.asynccontextmanager
async def meter_process(count: int) -> AsyncIterator[list[int]]:
    """Run `count` simulated meters in their own process; yield their ports."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "benchmarks.meters",
        "--count",
        str(count),
        "--interval",
        "1.0",
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 30)
        yield [int(port) for port in json.loads(line)["ports"]]
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 10)
        except TimeoutError:
            process.kill()
            await process.wait()


class PushClock:
    """Thread CPU time of the parts of a push: decoding, the coordinator, the state writes.

    Decoding is `StreamDecoder.feed` (every reader's decoder); the state writes are each
    coordinator's call of its entities' listeners, where Home Assistant works out and sets
    the state of every sensor of the push (state machine, event bus; our entities'
    properties are a small part of it); the coordinator is `handle_push` without the writes
    made inside it. Whatever the process spends besides (the event loop, socket reads,
    other threads) is the difference to the process total. Thread CPU time of the event
    loop's thread only; the parts do not overlap.
    """

    def __init__(self) -> None:
        """Start at zero."""
        self.decode = 0.0
        self.coordinator = 0.0
        self.writes = 0.0
        self.write_calls = 0
        self.running = False

    def watch(self, coordinator: SwissMeterCoordinator) -> None:
        """Time `coordinator`'s pushes and listener calls while `running`."""
        update, handle = coordinator.async_update_listeners, coordinator.handle_push

        def timed_update() -> None:
            if not self.running:
                update()
                return
            start = time.thread_time()
            update()
            self.writes += time.thread_time() - start
            self.write_calls += 1

        def timed_handle(push: Push, received_at: float | None = None) -> None:
            if not self.running:
                handle(push, received_at)
                return
            start, writes = time.thread_time(), self.writes
            handle(push, received_at)
            self.coordinator += time.thread_time() - start - (self.writes - writes)

        coordinator.async_update_listeners = timed_update  # type: ignore[method-assign]
        coordinator.handle_push = timed_handle  # type: ignore[method-assign]

    @contextlib.contextmanager
    def decoding(self) -> Iterator[None]:
        """Time every StreamDecoder.feed while inside (all readers' decoders)."""
        feed = StreamDecoder.feed

        def timed_feed(
            self_: StreamDecoder, data: bytes | bytearray | memoryview
        ) -> list[Push | ErrorEvent]:
            start = time.thread_time()
            try:
                return feed(self_, data)
            finally:
                self.decode += time.thread_time() - start

        StreamDecoder.feed = timed_feed  # type: ignore[method-assign,assignment]
        try:
            yield
        finally:
            StreamDecoder.feed = feed  # type: ignore[method-assign]


async def _wait_for_pushes(entries: list[MockConfigEntry], pushes: int) -> None:
    """Wait (up to 30 s) until every entry's coordinator has handled `pushes` pushes."""
    for _ in range(300):
        if all(e.runtime_data.coordinator.stats.pushes >= pushes for e in entries):
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the meters did not push")


async def _measure(seconds: float) -> tuple[float, float]:
    """(CPU seconds, wall seconds) of this process over an idle `seconds` sleep."""
    cpu, wall = cpu_seconds(), time.monotonic()
    await asyncio.sleep(seconds)
    return cpu_seconds() - cpu, time.monotonic() - wall


async def _soak(seconds: float) -> list[str]:
    """Keep running `seconds` more, sampling RSS and live objects every 30 s (BENCH_SOAK).

    Tells allocator high-water marks (flat after a while) from a leak (keeps rising).
    """
    lines = []
    start = time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        await asyncio.sleep(min(30.0, seconds - elapsed))
        gc.collect()
        lines.append(
            f"  soak {time.monotonic() - start:5.0f} s: RSS {rss_bytes() / 2**20:.2f} MiB, "
            f"{len(gc.get_objects())} live objects"
        )
    return lines


async def test_cost(hass: HomeAssistant, socket_enabled: None) -> None:
    """CPU share of the Home Assistant process and memory per meter at 1 push/s, 28 values.

    Idle baseline first (the same `hass`, no meter), then N meters pushing once a second;
    CPU per meter = (CPU with N - CPU idle) / N. Memory per meter = RSS growth from one
    configured meter (code imported, caches warm) to N, divided by N - 1.
    """
    await _cost(hass, "without recorder: the integration's own cost")


async def test_cost_recorder(
    hass: HomeAssistant, socket_enabled: None, tmp_path: pathlib.Path
) -> None:
    """The same with Home Assistant's recorder writing every state change to SQLite.

    A real installation records every state change (in its own thread, same process), so
    this is closer to what a user's Home Assistant spends per meter.
    """
    db_url = f"sqlite:///{tmp_path / 'home-assistant_v2.db'}"
    recorder_helper.async_initialize_recorder(hass)  # what bootstrap does before set-up
    assert await async_setup_component(hass, "recorder", {"recorder": {"db_url": db_url}})
    await hass.data[recorder_helper.DATA_RECORDER].db_connected
    await hass.async_block_till_done()
    await _cost(hass, "with the recorder (SQLite file, default commit interval)")


async def _cost(hass: HomeAssistant, variant: str) -> None:
    """Measure and print the cost figures (see test_cost)."""
    meters = max(2, int(os.environ.get("BENCH_METERS", "10")))
    seconds = float(os.environ.get("BENCH_SECONDS", "60"))
    min_interval = float(os.environ.get("BENCH_MIN_INTERVAL", "0"))
    print_header(
        f"cost per meter, {variant}: {meters} encrypted E450 meters at 1 push/s, {seconds:.0f} s"
        + (f", state written at most every {min_interval:g} s" if min_interval else "")
    )

    idle_cpu, idle_wall = await _measure(seconds)
    idle_share = idle_cpu / idle_wall
    print(f"idle Home Assistant (no meter): {idle_share * 100:.3f} % of one core")

    changed = 0

    @callback
    def count_changes(event: Event[EventStateChangedData]) -> None:
        nonlocal changed
        changed += 1

    async with meter_process(meters) as ports:
        entries = [
            meter_entry(port, f"E450 cost {n}", min_interval=min_interval)
            for n, port in enumerate(ports)
        ]
        gc.collect()
        rss_empty = rss_bytes()
        entries[0].add_to_hass(hass)
        assert await hass.config_entries.async_setup(entries[0].entry_id)
        await _wait_for_pushes(entries[:1], 3)
        gc.collect()
        rss_one, objects_one = rss_bytes(), len(gc.get_objects())
        for entry in entries[1:]:
            entry.add_to_hass(hass)
            assert await hass.config_entries.async_setup(entry.entry_id)
        await _wait_for_pushes(entries, 3)
        await asyncio.sleep(SETTLE)
        gc.collect()
        rss_all, objects_all = rss_bytes(), len(gc.get_objects())

        parts = PushClock()
        for entry in entries:
            parts.watch(entry.runtime_data.coordinator)
        unsubscribe = hass.bus.async_listen(EVENT_STATE_CHANGED, count_changes)
        pushes_before = sum(e.runtime_data.coordinator.stats.pushes for e in entries)
        parts.running = True
        with parts.decoding():
            busy_cpu, busy_wall = await _measure(seconds)
        parts.running = False
        pushes = sum(e.runtime_data.coordinator.stats.pushes for e in entries) - pushes_before
        unsubscribe()
        gc.collect()
        rss_end, objects_end = rss_bytes(), len(gc.get_objects())
        soak = await _soak(float(os.environ.get("BENCH_SOAK", "0")))
        errors = sum(e.runtime_data.coordinator.stats.total_errors for e in entries)
        for entry in entries:
            await hass.config_entries.async_unload(entry.entry_id)
        assert all(e.state is ConfigEntryState.NOT_LOADED for e in entries)

    busy_share = busy_cpu / busy_wall
    per_meter = (busy_share - idle_share) / meters
    print(
        f"with {meters} meters: {busy_share * 100:.3f} % of one core; "
        f"{pushes / busy_wall:.2f} pushes/s, {changed / busy_wall:.0f} state changes/s, "
        f"{errors} decode errors"
    )
    per_push = per_meter * busy_wall * meters / max(pushes, 1)
    print(f"CPU per meter: {per_meter * 100:.3f} % of one core ({per_push * 1000:.2f} ms per push)")
    shares = [
        (
            f"state writes ({parts.write_calls}, {changed / max(parts.write_calls, 1):.1f} changed "
            "states each)",
            parts.writes,
        ),
        ("decoding", parts.decode),
        ("coordinator without the writes", parts.coordinator),
    ]
    for label, spent in shares:
        share = spent / max(pushes, 1)
        print(
            f"  {label}: {share * 1000:.2f} ms per push ({share / max(per_push, 1e-9) * 100:.0f} %)"
        )
    rest = per_push - sum(spent for _, spent in shares) / max(pushes, 1)
    print(
        f"  the rest of the process (event loop, socket reads; the recorder's thread when it "
        f"runs): {rest * 1000:.2f} ms per push"
    )
    print(
        f"memory: first meter (code + caches) {(rss_one - rss_empty) / 2**20:.2f} MiB; "
        f"each further meter {(rss_all - rss_one) / (meters - 1) / 1024:.0f} KiB RSS, "
        f"{(objects_all - objects_one) / (meters - 1):.0f} Python objects"
    )
    print(
        f"growth while running {busy_wall:.0f} s: RSS {(rss_end - rss_all) / 1024:+.0f} KiB, "
        f"live Python objects {objects_end - objects_all:+d}"
    )
    for line in soak:
        print(line)
    verdict = "MET" if per_meter <= 0.001 else "MISSED"
    print(f"target <= 0.1 % of one core per meter: {per_meter * 100:.3f} % -> {verdict}")
    assert pushes > 0, "no push was handled"
