"""Fixtures for the integration runtime: a scriptable link, a simulated meter, a config entry."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import MAJOR_VERSION, MINOR_VERSION
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.syrupy import (  # type: ignore[import-untyped,unused-ignore]
    HomeAssistantSnapshotExtension,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.location import PyTestLocation

from custom_components.swiss_meter_cii import reader as reader_module
from custom_components.swiss_meter_cii.const import (
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_MODEL,
    CONF_PORT,
    CONF_SERIAL_FORMAT,
    DOMAIN,
)
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.link import LinkError, SerialFormat
from custom_components.swiss_meter_cii.reader import ReaderTiming
from simulator import DEFAULT_KEY, MeterSimulator

# The key as a user pastes it: spaced pairs in lower case (the decoder must accept it).
KEY_TEXT = " ".join(f"{byte:02x}" for byte in DEFAULT_KEY)
PORT = "/dev/serial/by-id/usb-test-meter-if00"
FAST_TIMING = ReaderTiming(
    backoff_min=0.02, backoff_max=0.08, watchdog_min=0.4, assumed_interval=0.1, format_timeout=0.4
)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Load custom_components/ in every test."""


class ReleaseSnapshotExtension(HomeAssistantSnapshotExtension):  # type: ignore[misc]
    """Home Assistant's snapshot format, in one folder per Home Assistant release.

    What a release stores and shows changes between the two legs (README "Development"):
    2026.x adds registry fields, keys state attributes by enums and suggests a display
    precision of its own; each leg compares against the snapshots of its release.
    """

    @classmethod
    def dirname(cls, *, test_location: PyTestLocation) -> str:
        """Return snapshots/<major>.<minor>/ next to the test file."""
        base = Path(super().dirname(test_location=test_location))
        return str(base / f"{MAJOR_VERSION}.{MINOR_VERSION}")


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (ids and times left out), per release.

    The test package defines this fixture too, but syrupy's own plugin shadows it.
    """
    return snapshot.use_extension(ReleaseSnapshotExtension)


class FakeWriter:
    """Writer half of a scripted link: the reader only ever closes it."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self.reader = reader
        self.closed = False

    def close(self) -> None:
        self.closed = True
        if not self.reader.at_eof():
            self.reader.feed_eof()

    def is_closing(self) -> bool:
        return self.closed

    async def wait_closed(self) -> None:
        return None


class FakeLink:
    """Stands in for link.open_link: every opening gets a fresh stream the test writes to."""

    def __init__(self) -> None:
        self.openings: list[tuple[str, str]] = []
        self.writers: list[FakeWriter] = []
        self.fail_next = 0
        self.opened = asyncio.Event()

    async def __call__(
        self, port: str, serial_format: SerialFormat
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        self.openings.append((port, str(serial_format)))
        if self.fail_next:
            self.fail_next -= 1
            raise LinkError(f"cannot open {port}: [Errno 2] No such file or directory")
        stream = asyncio.StreamReader()
        writer = FakeWriter(stream)
        self.writers.append(writer)
        self.opened.set()
        return stream, cast(asyncio.StreamWriter, writer)

    @property
    def current(self) -> FakeWriter:
        return self.writers[-1]

    def send(self, data: bytes) -> None:
        """Bytes from the meter on the open link."""
        self.current.reader.feed_data(data)

    def drop(self) -> None:
        """The other end goes away (USB unplug, ser2net restart)."""
        self.current.reader.feed_eof()

    async def wait_opened(self, count: int, within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while len(self.writers) < count:
                self.opened.clear()
                await self.opened.wait()


@pytest.fixture
def fake_link() -> Iterator[FakeLink]:
    """Replace the port opener used by set-up and by the reader."""
    link = FakeLink()
    with (
        patch("custom_components.swiss_meter_cii.open_link", link),
        patch.object(reader_module, "open_link", link),
    ):
        yield link


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Create every entity enabled (the diagnostic ones are disabled by default)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.fixture
def fast_timing() -> Iterator[ReaderTiming]:
    """Back-off and watchdog in tens of milliseconds."""
    with patch.object(reader_module, "DEFAULT_TIMING", FAST_TIMING):
        yield FAST_TIMING


@pytest.fixture
def no_watchdog() -> Iterator[None]:
    """Keep the link open through long (frozen-time) silences: only the coordinator reacts."""
    with patch.object(reader_module, "DEFAULT_TIMING", ReaderTiming(watchdog_min=1e6)):
        yield


@pytest.fixture
def meter() -> MeterSimulator:
    """A Swiss E450 sending encrypted pushes (SC 0x20) with the documented default key."""
    return MeterSimulator("e450", key=DEFAULT_KEY, seed=7)


def entry_for(
    sim: MeterSimulator,
    *,
    port: str = PORT,
    serial_format: str = "2400_8E1",
    key_text: str = KEY_TEXT,
    auth_text: str = "",
    model: str = "auto",
    options: dict[str, Any] | None = None,
    title: str | None = None,
) -> MockConfigEntry:
    """A config entry as the wizard creates it for `sim` (titled as an E450 by default)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=title or f"Landis+Gyr E450 {sim.meter_number}",
        unique_id=sim.meter_number,
        data={
            CONF_PORT: port,
            CONF_SERIAL_FORMAT: serial_format,
            CONF_MODEL: model,
            CONF_ENCRYPTION_KEY: key_text,
            CONF_AUTHENTICATION_KEY: auth_text,
        },
        options=options or {},
    )


async def settle(hass: HomeAssistant) -> None:
    """Let the reader task consume what was sent, then let HA finish its work."""
    for _ in range(5):
        await asyncio.sleep(0)
    await hass.async_block_till_done()


async def advance(hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float) -> None:
    """Move the frozen clock on, fire the timers due and let the entities write."""
    freezer.tick(timedelta(seconds=seconds))
    async_fire_time_changed(hass)
    await settle(hass)


async def send_push(
    hass: HomeAssistant, link: FakeLink, sim: MeterSimulator, elapsed: float = 5.0
) -> bytes:
    """One push of `sim` on the link; returns its wire bytes."""
    wire = sim.next_push(elapsed)
    link.send(wire)
    await settle(hass)
    return wire


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> SwissMeterCoordinator:
    """Add and set up `entry` in the simulated meters' time zone; returns its coordinator."""
    await hass.config.async_set_time_zone("Europe/Zurich")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return cast(SwissMeterCoordinator, entry.runtime_data.coordinator)


def as_float(value: object) -> float:
    """A simulator or decoder value that must be numeric, as float."""
    assert isinstance(value, int | float | Decimal), value
    return float(value)


def energy_state(hass: HomeAssistant, unique_id: str) -> float:
    """State of an energy sensor in Wh (it is shown in kWh, the suggested display unit)."""
    state = hass.states.get(entity_id(hass, unique_id))
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "kWh"
    return float(state.state) * 1000


def entity_id(hass: HomeAssistant, unique_id: str, domain: str = "sensor") -> str:
    """Entity id registered for `unique_id` (fails when there is none)."""
    found = er.async_get(hass).async_get_entity_id(domain, DOMAIN, unique_id)
    assert found is not None, f"no {domain} entity with unique id {unique_id}"
    return found


@pytest.fixture
async def loaded(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> AsyncIterator[tuple[MockConfigEntry, SwissMeterCoordinator]]:
    """The E450 entry set up on the scripted link, unloaded at the end (no lingering tasks)."""
    entry = entry_for(meter)
    coordinator = await setup_entry(hass, entry)
    yield entry, coordinator
    if entry.state is ConfigEntryState.LOADED:
        assert await hass.config_entries.async_unload(entry.entry_id)
        await hass.async_block_till_done()
