"""Sensors: one per pushed OBIS value (created as codes appear), net power, link diagnostics.

The platform only decides which entities exist; obis_sensors.py and link_sensors.py hold them,
quantities.py how a value is shown.
"""

from __future__ import annotations

from homeassistant.components.sensor import SensorEntity
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .decoder.catalogue import describe
from .decoder.obis import is_key
from .link_sensors import LINK_SENSORS, LinkSensor
from .meter_state import MeterIdentity
from .net_power import NET_POWER, net_power_pair
from .obis_sensors import NetPowerSensor, ObisSensor
from .runtime_data import SwissMeterConfigEntry

PARALLEL_UPDATES = 0


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwissMeterConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """Link diagnostics now, meter values as soon as they are pushed (or known from before)."""
    coordinator = entry.runtime_data.coordinator
    with_unknown = entry.runtime_data.options.unknown_obis
    async_add_entities(LinkSensor(coordinator, description) for description in LINK_SENSORS)

    created: set[str] = set()

    def obis_sensor(meter: MeterIdentity, obis: str, unit: str | None) -> ObisSensor | None:
        info = describe(obis)
        if not info.known and not with_unknown:
            return None
        return ObisSensor(coordinator, meter, obis, info, unit)

    # Entities known from earlier runs exist from the start: they restore their last value
    # into the energy guard before the first push can arrive.
    restored: list[SensorEntity] = []
    registry = er.async_get(hass)
    for registry_entry in er.async_entries_for_config_entry(registry, entry.entry_id):
        if registry_entry.domain != "sensor":
            continue
        unique_id = registry_entry.unique_id
        created.add(unique_id)
        if unique_id.endswith(f"_{NET_POWER}"):
            meter = MeterIdentity(unique_id[: -len(NET_POWER) - 1])
            restored.append(NetPowerSensor(coordinator, meter))
            continue
        number, _, key = unique_id.rpartition("_")
        if number and is_key(key) and (sensor := obis_sensor(MeterIdentity(number), key, None)):
            restored.append(sensor)
    async_add_entities(restored)

    @callback
    def add_new_codes() -> None:
        state = coordinator.data
        if state.meter is None:
            return
        meter = state.meter
        new: list[SensorEntity] = []
        for obis, reading in state.values.items():
            unique_id = f"{meter.number}_{obis}"
            if unique_id not in created:
                created.add(unique_id)
                if sensor := obis_sensor(meter, obis, reading.unit):
                    new.append(sensor)
        net_id = f"{meter.number}_{NET_POWER}"
        if net_id not in created and net_power_pair(state.values) is not None:
            created.add(net_id)
            new.append(NetPowerSensor(coordinator, meter))
        if new:
            async_add_entities(new)

    entry.async_on_unload(coordinator.async_add_listener(add_new_codes))
    add_new_codes()
