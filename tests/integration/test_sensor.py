"""Sensors: attributes per value class, dynamic creation, net power, device, diagnostics."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from homeassistant.components.sensor import SensorDeviceClass
from homeassistant.const import (
    ATTR_DEVICE_CLASS,
    ATTR_UNIT_OF_MEASUREMENT,
    STATE_UNAVAILABLE,
    EntityCategory,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
)

from custom_components.swiss_meter_cii.const import CONF_UNKNOWN_OBIS, DOMAIN
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder.push import Push, Reading, Security
from custom_components.swiss_meter_cii.entity import meter_device
from simulator import MeterSimulator

from .conftest import FakeLink, as_float, entity_id, entry_for, send_push, settle, setup_entry

type Loaded = tuple[MockConfigEntry, SwissMeterCoordinator]

ENERGY = "1-1:1.8.0.255"
REACTIVE = "1-1:3.8.0.255"
UNKNOWN = "1-0:130.7.0.255"


def attrs(hass: HomeAssistant, unique_id: str) -> dict[str, object]:
    state = hass.states.get(entity_id(hass, unique_id))
    assert state is not None
    return dict(state.attributes) | {"state": state.state}


def extra_push(meter: MeterSimulator, values: dict[str, Reading]) -> Push:
    """A push of the same meter carrying `values` (codes the simulator's list lacks)."""
    return Push(
        values={"0-0:96.1.1.255": Reading(meter.meter_number, None), **values},
        system_title=meter.system_title,
        security=Security.ENCRYPTED,
        model="lg_e450",
    )


async def test_value_classes(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    await send_push(hass, fake_link, meter)
    number = meter.meter_number
    values = meter.last_values

    energy = attrs(hass, f"{number}_{ENERGY}")
    assert energy[ATTR_DEVICE_CLASS] == SensorDeviceClass.ENERGY
    assert energy["state_class"] == "total_increasing"
    assert energy[ATTR_UNIT_OF_MEASUREMENT] == "kWh"  # suggested display unit for Wh
    assert float(str(energy["state"])) == pytest.approx(as_float(values[ENERGY][0]) / 1000)

    reactive = attrs(hass, f"{number}_{REACTIVE}")
    assert reactive["state_class"] == "total_increasing"
    assert reactive.get(ATTR_DEVICE_CLASS) != SensorDeviceClass.ENERGY  # never energy
    if hasattr(SensorDeviceClass, "REACTIVE_ENERGY"):  # HA 2025.6+
        assert reactive[ATTR_DEVICE_CLASS] == "reactive_energy"
        assert reactive[ATTR_UNIT_OF_MEASUREMENT] == "kvarh"
    else:
        assert ATTR_DEVICE_CLASS not in reactive
        assert reactive[ATTR_UNIT_OF_MEASUREMENT] == "varh"
        assert reactive["state"] == str(values[REACTIVE][0])

    expected = {
        "1-0:1.7.0.255": (SensorDeviceClass.POWER, "W"),
        "1-0:3.7.0.255": (SensorDeviceClass.REACTIVE_POWER, "var"),
        "1-0:32.7.0.255": (SensorDeviceClass.VOLTAGE, "V"),
        "1-0:31.7.0.255": (SensorDeviceClass.CURRENT, "A"),
        "1-0:13.7.0.255": (SensorDeviceClass.POWER_FACTOR, None),
    }
    for obis, (device_class, unit) in expected.items():
        sensor = attrs(hass, f"{number}_{obis}")
        assert sensor[ATTR_DEVICE_CLASS] == device_class, obis
        assert sensor.get(ATTR_UNIT_OF_MEASUREMENT) == unit, obis
        assert sensor["state_class"] == "measurement", obis
        assert Decimal(str(sensor["state"])) == Decimal(str(values[obis][0])), obis

    for obis in ("0-0:96.14.0.255", "0-0:96.13.0.255"):
        text = attrs(hass, f"{number}_{obis}")
        assert "state_class" not in text
        assert ATTR_UNIT_OF_MEASUREMENT not in text
        assert text["state"] == str(values[obis][0])

    registry = er.async_get(hass)
    for obis in ("0-0:42.0.0.255", "0-0:96.1.1.255"):
        entry = registry.async_get(entity_id(hass, f"{number}_{obis}"))
        assert entry is not None
        assert entry.entity_category == EntityCategory.DIAGNOSTIC
    assert attrs(hass, f"{number}_0-0:96.1.1.255")["state"] == number

    clock = registry.async_get(entity_id(hass, f"{number}_0-0:1.0.0.255"))
    assert clock is not None
    assert clock.disabled_by is None  # the meter clock is shown (a diagnostic entity)
    assert clock.entity_category == EntityCategory.DIAGNOSTIC
    assert clock.original_device_class == SensorDeviceClass.TIMESTAMP


async def test_clock_sensor_when_enabled(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    entry, _ = loaded
    await send_push(hass, fake_link, meter)
    clock_id = entity_id(hass, f"{meter.meter_number}_0-0:1.0.0.255")
    er.async_get(hass).async_update_entity(clock_id, disabled_by=None)
    assert await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    assert hass.states.get(clock_id).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    await send_push(hass, fake_link, meter)
    state = hass.states.get(clock_id)
    assert state is not None
    clock = meter.last_values["0-0:1.0.0.255"][0]
    assert isinstance(clock, datetime)
    assert dt_util.parse_datetime(state.state) == clock


async def test_new_codes_appear_dynamically(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    _, coordinator = loaded
    await send_push(hass, fake_link, meter)
    registry = er.async_get(hass)
    frequency = f"{meter.meter_number}_1-0:14.7.0.255"
    assert registry.async_get_entity_id("sensor", DOMAIN, frequency) is None

    coordinator.handle_push(extra_push(meter, {"1-0:14.7.0.255": Reading(Decimal("50.01"), "Hz")}))
    await settle(hass)
    sensor = attrs(hass, frequency)
    assert sensor[ATTR_DEVICE_CLASS] == SensorDeviceClass.FREQUENCY
    assert sensor["state"] == "50.01"
    # Values the latest push lacks keep their last reading (meters alternate lists).
    assert attrs(hass, f"{meter.meter_number}_{ENERGY}")["state"] != STATE_UNAVAILABLE


@pytest.mark.parametrize("with_unknown", [True, False])
async def test_unknown_codes(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, with_unknown: bool
) -> None:
    coordinator = await setup_entry(
        hass, entry_for(meter, options={CONF_UNKNOWN_OBIS: with_unknown})
    )
    coordinator.handle_push(extra_push(meter, {UNKNOWN: Reading(1234, None)}))
    await settle(hass)
    found = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, f"{meter.meter_number}_{UNKNOWN}"
    )
    if with_unknown:
        assert found is not None
        entry = er.async_get(hass).async_get(found)
        assert entry is not None
        assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    else:
        assert found is None
    await hass.config_entries.async_unload(coordinator.config_entry.entry_id)


async def test_long_message_is_truncated(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    _, coordinator = loaded
    message = "Stromunterbruch geplant. " * 20
    coordinator.handle_push(extra_push(meter, {"0-0:96.13.0.255": Reading(message, None)}))
    await settle(hass)
    state = attrs(hass, f"{meter.meter_number}_0-0:96.13.0.255")["state"]
    assert state == message[:255]


async def test_net_power(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    _, coordinator = loaded
    coordinator.handle_push(
        extra_push(meter, {"1-0:1.7.0.255": Reading(1500, "W"), "1-0:2.7.0.255": Reading(0, "W")})
    )
    await settle(hass)
    net_id = f"{meter.meter_number}_net_power"
    net = attrs(hass, net_id)
    assert net["state"] == "1500"
    assert net[ATTR_DEVICE_CLASS] == SensorDeviceClass.POWER
    assert net[ATTR_UNIT_OF_MEASUREMENT] == "W"
    coordinator.handle_push(
        extra_push(
            meter,
            {"1-0:1.7.0.255": Reading(0, "W"), "1-0:2.7.0.255": Reading(Decimal("3.2"), "kW")},
        )
    )
    await settle(hass)
    assert attrs(hass, net_id)["state"] == "-3200.0"


async def test_device_and_link_diagnostics(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    entry, _ = loaded
    number = meter.meter_number
    link_state = attrs(hass, f"{number}_link_state")
    assert link_state["state"] == "connected"
    assert link_state["options"] == ["connected", "connecting", "disconnected"]
    assert attrs(hass, f"{number}_decode_errors")["state"] == "0"

    await send_push(hass, fake_link, meter)
    device = meter_device(hass, entry.entry_id, number)
    assert device is not None
    assert device.manufacturer == "Landis+Gyr"  # from the FLAG id of the system title
    assert device.model is None  # LGZ alone does not tell E450 from E570/E360: no guess
    assert device.serial_number == number
    assert device.name == entry.title
    registry = er.async_get(hass)
    on_device = {e.unique_id for e in er.async_entries_for_device(registry, device.id)}
    assert f"{number}_{ENERGY}" in on_device
    assert f"{number}_link_state" in on_device

    hidden = ("pushes_received", "last_push", "push_interval", "frame_counter", "errors_wrong_key")
    for key in hidden:
        registry_entry = registry.async_get(entity_id(hass, f"{number}_{key}"))
        assert registry_entry is not None, key
        assert registry_entry.disabled_by is not None, key
    authenticated = registry.async_get(entity_id(hass, f"{number}_authenticated", "binary_sensor"))
    assert authenticated is not None
    assert authenticated.disabled_by is not None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_diagnostic_values(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    _, coordinator = loaded
    number = meter.meter_number
    assert attrs(hass, f"{number}_pushes_received")["state"] == "0"
    await send_push(hass, fake_link, meter)
    await send_push(hass, fake_link, meter)
    assert attrs(hass, f"{number}_pushes_received")["state"] == "2"
    assert attrs(hass, f"{number}_frame_counter")["state"] == str(meter.frame_counter)
    assert attrs(hass, f"{number}_reconnects")["state"] == "0"
    assert attrs(hass, f"{number}_errors_checksum")["state"] == "0"
    last = attrs(hass, f"{number}_last_push")["state"]
    assert dt_util.parse_datetime(str(last)) == coordinator.data.timestamp
    state = hass.states.get(entity_id(hass, f"{number}_authenticated", "binary_sensor"))
    assert state is not None
    assert state.state == "off"  # encrypted, no authentication key


async def test_device_model_from_configured_model(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    coordinator = await setup_entry(hass, entry_for(meter, model="lg_e450"))
    await send_push(hass, fake_link, meter)
    device = meter_device(hass, coordinator.config_entry.entry_id, meter.meter_number)
    assert device is not None
    assert (device.manufacturer, device.model) == ("Landis+Gyr", "E450")
    await hass.config_entries.async_unload(coordinator.config_entry.entry_id)


async def test_state_written_within_milliseconds_of_the_last_byte(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    await send_push(hass, fake_link, meter)  # entities exist from now on
    power = entity_id(hass, f"{meter.meter_number}_1-0:1.7.0.255")

    def reported() -> float:
        state = hass.states.get(power)
        assert state is not None
        return state.last_reported_timestamp  # also moves when the value is unchanged

    before = reported()
    wire = meter.next_push()
    fake_link.send(wire[:-1])
    await settle(hass)
    assert reported() == before  # nothing is published from a partial push
    sent = dt_util.utcnow().timestamp()
    fake_link.send(wire[-1:])
    await settle(hass)
    assert 0 <= reported() - sent < 0.05
