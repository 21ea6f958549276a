"""Sub-meters relayed on the electricity meter's M-Bus: own devices, classes, Energy dashboard."""

from __future__ import annotations

from typing import Any

from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.const import ATTR_DEVICE_CLASS, ATTR_UNIT_OF_MEASUREMENT
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
)
from pytest_homeassistant_custom_component.components.recorder.common import (  # type: ignore[import-untyped,unused-ignore]
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.swiss_meter_cii.const import DOMAIN
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder.dsmr import parse_telegram
from custom_components.swiss_meter_cii.decoder.push import Push, Reading, Security
from custom_components.swiss_meter_cii.entity import meter_device
from simulator import MeterSimulator

from .conftest import FakeLink, entity_id, send_push, settle

type Loaded = tuple[MockConfigEntry, SwissMeterCoordinator]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(recorder_mock: Any, enable_custom_integrations: None) -> None:
    """The conftest's fixture, with the recorder set up first (before `hass`, as it requires)."""


# The sub-meter lines of a DSMR 5 / Smarty telegram (docs/protocol.md, "M-Bus sub-meters").
SUBMETER_LINES = (
    b"/Ene5\\T210-D ESMR5.0\r\n\r\n"
    b"0-1:24.1.0(003)\r\n"
    b"0-1:96.1.0(4730303339303031363532303530323136)\r\n"
    b"0-1:24.2.1(231202120000W)(01234.567*m3)\r\n"
    b"0-2:24.1.0(007)\r\n"
    b"0-2:96.1.0(3330303231)\r\n"
    b"0-2:24.2.1(231202120000W)(00056.100*m3)\r\n"
    b"!\r\n"
)


async def push_submeters(
    hass: HomeAssistant, coordinator: SwissMeterCoordinator, meter: MeterSimulator
) -> None:
    """The E450's meter number plus the sub-meter values, decoded by the real DSMR parser."""
    values = parse_telegram(SUBMETER_LINES, local_tz=dt_util.get_default_time_zone()).values
    push = Push(
        values={"0-0:96.1.1.255": Reading(meter.meter_number, None), **values},
        system_title=meter.system_title,
        security=Security.ENCRYPTED,
        model="lg_e450",
    )
    coordinator.handle_push(push)
    await settle(hass)


def state_attrs(hass: HomeAssistant, unique_id: str) -> dict[str, Any]:
    state = hass.states.get(entity_id(hass, unique_id))
    assert state is not None
    return dict(state.attributes) | {"state": state.state}


async def test_three_devices_with_via_device(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    entry, coordinator = loaded
    await send_push(hass, fake_link, meter)
    await push_submeters(hass, coordinator, meter)
    number = meter.meter_number
    devices = dr.async_get(hass)
    electricity = meter_device(hass, entry.entry_id, number)
    gas = meter_device(hass, entry.entry_id, f"{number}_mbus1")
    water = meter_device(hass, entry.entry_id, f"{number}_mbus2")
    assert electricity is not None
    assert gas is not None
    assert water is not None
    assert len(dr.async_entries_for_config_entry(devices, entry.entry_id)) == 3
    assert gas.via_device_id == electricity.id
    assert water.via_device_id == electricity.id
    assert gas.name == "Gas meter"
    assert water.name == "Water meter"
    assert gas.serial_number == "4730303339303031363532303530323136"
    assert water.serial_number == "3330303231"

    gas_value = state_attrs(hass, f"{number}_0-1:24.2.1.255")
    assert gas_value[ATTR_DEVICE_CLASS] == SensorDeviceClass.GAS
    assert gas_value[ATTR_UNIT_OF_MEASUREMENT] == "m³"
    assert gas_value["state_class"] == SensorStateClass.TOTAL_INCREASING
    assert float(gas_value["state"]) == 1234.567
    water_value = state_attrs(hass, f"{number}_0-2:24.2.1.255")
    assert water_value[ATTR_DEVICE_CLASS] == SensorDeviceClass.WATER
    assert float(water_value["state"]) == 56.1

    # The reading time: an attribute of the value and a diagnostic timestamp sensor.
    captured = dt_util.parse_datetime(gas_value["reading_time"])
    assert captured is not None
    assert (captured.hour, captured.minute) == (12, 0)
    time_id = entity_id(hass, f"{number}_0-1:24.2.1.255/5")
    time_entry = er.async_get(hass).async_get(time_id)
    assert time_entry is not None
    assert time_entry.device_id == gas.id
    assert time_entry.entity_category == "diagnostic"

    # A second push neither adds devices nor moves entities.
    await push_submeters(hass, coordinator, meter)
    assert len(dr.async_entries_for_config_entry(devices, entry.entry_id)) == 3


async def test_energy_dashboard_accepts_gas_and_water(
    hass: HomeAssistant,
    hass_ws_client: Any,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: Loaded,
) -> None:
    _, coordinator = loaded
    await send_push(hass, fake_link, meter)
    await push_submeters(hass, coordinator, meter)
    assert await async_setup_component(hass, "energy", {})
    number = meter.meter_number
    gas = entity_id(hass, f"{number}_0-1:24.2.1.255")
    water = entity_id(hass, f"{number}_0-2:24.2.1.255")
    # Compile the statistics of the current 5-minute period, as the recorder does after it.
    await async_wait_recording_done(hass)
    now = dt_util.utcnow()
    do_adhoc_statistics(
        hass, start=now.replace(minute=now.minute - now.minute % 5, second=0, microsecond=0)
    )
    await async_wait_recording_done(hass)
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "energy/save_prefs",
            "energy_sources": [
                {
                    "type": "gas",
                    "stat_energy_from": gas,
                    "stat_cost": None,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                },
                {
                    "type": "water",
                    "stat_energy_from": water,
                    "stat_cost": None,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                },
            ],
        }
    )
    saved = await client.receive_json()
    assert saved["success"], saved
    await client.send_json_auto_id({"type": "energy/validate"})
    validated = await client.receive_json()
    assert validated["success"], validated
    issues = validated["result"]["energy_sources"]
    assert issues == [[], []], issues


async def test_medium_after_the_value_sets_the_class_in_place(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    """A value pushed before its medium: same entity and device, the class follows."""
    entry, coordinator = loaded
    await send_push(hass, fake_link, meter)
    values = parse_telegram(SUBMETER_LINES, local_tz=dt_util.get_default_time_zone()).values
    number_reading = Reading(meter.meter_number, None)
    value_only = {k: v for k, v in values.items() if k.startswith("0-1:24.2.1")}
    for pushed in (value_only, values):
        coordinator.handle_push(
            Push(
                values={"0-0:96.1.1.255": number_reading, **pushed},
                system_title=meter.system_title,
                security=Security.ENCRYPTED,
                model="lg_e450",
            )
        )
        await settle(hass)
        if pushed is value_only:
            before = entity_id(hass, f"{meter.meter_number}_0-1:24.2.1.255")
            first = state_attrs(hass, f"{meter.meter_number}_0-1:24.2.1.255")
            assert ATTR_DEVICE_CLASS not in first
            assert first["state_class"] == SensorStateClass.TOTAL_INCREASING
    after = state_attrs(hass, f"{meter.meter_number}_0-1:24.2.1.255")
    assert after[ATTR_DEVICE_CLASS] == SensorDeviceClass.GAS
    assert entity_id(hass, f"{meter.meter_number}_0-1:24.2.1.255") == before
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)
    assert len(devices) == 3  # electricity, channel 1, channel 2: never a second channel-1
    channel_1 = [d for d in devices if (DOMAIN, f"{meter.meter_number}_mbus1") in d.identifiers]
    assert len(channel_1) == 1


async def test_sub_meter_entities_come_back_after_a_reload(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator, loaded: Loaded
) -> None:
    """Every sensor, the capture time ('code/5') included, is there again before a push."""
    entry, coordinator = loaded
    await send_push(hass, fake_link, meter)
    await push_submeters(hass, coordinator, meter)
    number = meter.meter_number
    ids = {
        key: entity_id(hass, f"{number}_{key}") for key in ("0-1:24.2.1.255", "0-1:24.2.1.255/5")
    }
    assert await hass.config_entries.async_reload(entry.entry_id)
    await settle(hass)
    for key, eid in ids.items():
        state = hass.states.get(eid)
        assert state is not None, key  # restored from the registry, not waiting for a push
        assert state.state == "unavailable", key
