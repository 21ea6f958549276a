"""Snapshots of every entity (registry entry and state) and of the diagnostics after one push.

Three meters, each through the real reader, decoder and coordinator on the scripted link: a
Landis+Gyr E450 (HDLC, encrypted), a Kaifa MA309M (M-Bus, encrypted) and a DSMR text telegram
with a gas and a water meter. Deterministic: fixed simulator seeds and start, frozen wall
clock, entity ids from the entry titles. Each test leg has its own snapshots
(snapshots/<release>/, see conftest.py): update them with
`scripts/test tests/integration/test_snapshots.py --snapshot-update` and
`scripts/test --ha current tests/integration/test_snapshots.py --snapshot-update`, and review
the diff like code.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory

# Imported before any test freezes the clock: the diagnostics download loads hassio, whose
# Supervisor client builds dataclass decoders from `datetime`, which freezegun replaces.
import homeassistant.components.hassio  # noqa: F401
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.diagnostics import (  # type: ignore[import-untyped,unused-ignore]
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped,unused-ignore]
    ClientSessionGenerator,
)
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.swiss_meter_cii.const import (
    CONF_AUTHENTICATION_KEY,
    CONF_ENCRYPTION_KEY,
    CONF_MODEL,
    CONF_PORT,
    CONF_SERIAL_FORMAT,
    DOMAIN,
)
from simulator import DEFAULT_KEY, MeterSimulator
from tests.decoder import ref_crc16_arc

from .conftest import PORT, FakeLink, entry_for, settle, setup_entry

# The wall clock at the push (receive time in the link statistics and the diagnostics); the
# simulated meters' clocks start 10 s earlier.
NOW = datetime(2026, 12, 2, 12, 0, 0, tzinfo=UTC)
METER_START = datetime(2026, 12, 2, 11, 59, 50, tzinfo=UTC)

# A DSMR 5 telegram (the lines of tests/decoder/test_dsmr.py) with the gas and water meter of
# docs/protocol.md, "M-Bus sub-meters"; the CRC comes from the reference implementation.
DSMR_LINES = (
    "/EST5\\253710000_A",
    "",
    "1-3:0.2.8(50)",
    "0-0:1.0.0(261202125955W)",
    "0-0:96.1.1(4B384547303034303436333935353037)",
    "1-0:1.8.1(004567.123*kWh)",
    "1-0:1.8.2(002345.678*kWh)",
    "1-0:2.8.1(000123.456*kWh)",
    "1-0:2.8.2(000045.678*kWh)",
    "0-0:96.14.0(0002)",
    "1-0:1.7.0(01.234*kW)",
    "1-0:2.7.0(00.000*kW)",
    "1-0:32.7.0(231.4*V)",
    "1-0:31.7.0(005*A)",
    "0-0:96.13.0()",
    "0-1:24.1.0(003)",
    "0-1:96.1.0(4730303339303031363532303530323136)",
    "0-1:24.2.1(261202120000W)(01234.567*m3)",
    "0-2:24.1.0(007)",
    "0-2:96.1.0(3330303231)",
    "0-2:24.2.1(261202120000W)(00056.100*m3)",
)
DSMR_NUMBER = "4B384547303034303436333935353037"

# Measured on the event loop after the state write: the time from a push's last byte to its
# state write varies with the machine and its load from run to run.
VOLATILE_DIAGNOSTICS = props("processing_delay_ms")


@dataclass(frozen=True, slots=True)
class Meter:
    """One meter of the snapshots: its entry and the bytes of its first push."""

    entry: MockConfigEntry
    wire: bytes


def dsmr_telegram() -> bytes:
    """The DSMR telegram as it arrives on the line."""
    body = ("\r\n".join(DSMR_LINES) + "\r\n!").encode("ascii")
    return body + f"{ref_crc16_arc(body):04X}\r\n".encode()


def make_meter(kind: str) -> Meter:
    """The entry the wizard stores for `kind`, and one push of that meter."""
    if kind == "dsmr":
        entry = MockConfigEntry(
            domain=DOMAIN,
            title=f"Smart meter {DSMR_NUMBER}",
            unique_id=DSMR_NUMBER,
            data={
                CONF_PORT: PORT,
                CONF_SERIAL_FORMAT: "115200_8N1",
                CONF_MODEL: "auto",
                CONF_ENCRYPTION_KEY: "",
                CONF_AUTHENTICATION_KEY: "",
            },
        )
        return Meter(entry, dsmr_telegram())
    title = {"e450": "Landis+Gyr E450", "kaifa_ma309m": "Kaifa MA309M"}[kind]
    sim = MeterSimulator(kind, key=DEFAULT_KEY, seed=7, start=METER_START)
    entry = entry_for(sim, title=f"{title} {sim.meter_number}")
    return Meter(entry, sim.next_push())


@pytest.fixture(autouse=True)
def frozen(freezer: FrozenDateTimeFactory) -> None:
    """The wall clock stands still at NOW (the event loop's clock runs on)."""
    freezer.move_to(NOW)


@pytest.fixture
def platforms(request: pytest.FixtureRequest) -> Iterator[list[Platform]]:
    """Load only the platform under test (snapshot_platform: one platform at a time)."""
    chosen = [request.param]
    with patch("custom_components.swiss_meter_cii.PLATFORMS", chosen):
        yield chosen


async def pushed(hass: HomeAssistant, link: FakeLink, meter: Meter) -> None:
    """Set the entry up and let the meter's push arrive through the reader."""
    await setup_entry(hass, meter.entry)
    link.send(meter.wire)
    await settle(hass)
    assert meter.entry.runtime_data.coordinator.stats.pushes == 1


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
@pytest.mark.parametrize("platforms", [Platform.SENSOR, Platform.BINARY_SENSOR], indirect=True)
@pytest.mark.parametrize("kind", ["e450", "kaifa_ma309m", "dsmr"])
async def test_entities(
    hass: HomeAssistant,
    fake_link: FakeLink,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    platforms: list[Platform],
    kind: str,
) -> None:
    """Every entity of one push: names, classes, units, precision, values, attributes.

    The processing delay of a push is measured after its state write, so after one push its
    sensor is still unknown: no state here depends on the machine's speed.
    """
    meter = make_meter(kind)
    await pushed(hass, fake_link, meter)
    await snapshot_platform(hass, entity_registry, snapshot, meter.entry.entry_id)
    assert await hass.config_entries.async_unload(meter.entry.entry_id)


@pytest.mark.parametrize("kind", ["e450", "kaifa_ma309m", "dsmr"])
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fake_link: FakeLink,
    snapshot: SnapshotAssertion,
    kind: str,
) -> None:
    """The download after one push: settings (redacted), link, decoder, values, frames."""
    meter = make_meter(kind)
    await pushed(hass, fake_link, meter)
    diagnostics: dict[str, Any] = await get_diagnostics_for_config_entry(
        hass, hass_client, meter.entry
    )
    assert isinstance(diagnostics["link"]["processing_delay_ms"], float)
    assert diagnostics == snapshot(exclude=VOLATILE_DIAGNOSTICS)
    assert await hass.config_entries.async_unload(meter.entry.entry_id)
