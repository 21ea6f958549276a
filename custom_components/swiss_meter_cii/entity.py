"""Base entities: one device per meter (by number), one per M-Bus sub-meter, link diagnostics."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import SwissMeterCoordinator
from .decoder.identity import is_title_identity
from .decoder.push import Reading
from .decoder.submeters import Medium, channel_of, device_type_key, medium_of, serial_key
from .meter_state import MeterIdentity


def meter_device_info(coordinator: SwissMeterCoordinator, meter: MeterIdentity) -> DeviceInfo:
    """Describe the meter's device; unknown fields are left out so they never blank the registry."""
    info = DeviceInfo(identifiers={(DOMAIN, meter.number)}, name=coordinator.config_entry.title)
    if meter.manufacturer:
        info["manufacturer"] = meter.manufacturer
    if meter.model:
        info["model"] = meter.model
    if not is_title_identity(meter.number):
        info["serial_number"] = meter.number
    return info


def submeter_identifier(meter: MeterIdentity, channel: int) -> tuple[str, str]:
    """Device identifier of M-Bus channel `channel`: stable before the serial is known."""
    return DOMAIN, f"{meter.number}_mbus{channel}"


def submeter_device_info(
    coordinator: SwissMeterCoordinator, meter: MeterIdentity, channel: int
) -> DeviceInfo:
    """Describe the sub-meter on `channel`, relayed by (via) the electricity meter.

    The name follows the medium (gas, water, heat). Before the medium is known (entities
    restored at start-up) an existing device keeps its name: only a new one is named
    generically, so a restart never renames "Gas meter" back to "M-Bus meter 1".
    """
    values = coordinator.data.values if coordinator.data is not None else {}
    identifier = submeter_identifier(meter, channel)
    info = DeviceInfo(identifiers={identifier})
    if _VIA_DEVICE_ID:
        info["via_device_id"] = _meter_device_id(coordinator, meter)  # type: ignore[typeddict-unknown-key,unused-ignore]
    else:
        info["via_device"] = (DOMAIN, meter.number)  # type: ignore[typeddict-unknown-key,unused-ignore]
    device_type = values.get(device_type_key(channel))
    medium = medium_of(device_type.value) if device_type is not None else None
    if medium is not None:
        info["translation_key"] = _SUBMETER_NAMES.get(medium, "submeter")
    elif not _device_exists(coordinator, identifier):
        info["translation_key"] = "submeter"
    if info.get("translation_key") == "submeter":
        info["translation_placeholders"] = {"channel": str(channel)}
    serial = values.get(serial_key(channel))
    if serial is not None and isinstance(serial.value, str) and serial.value:
        info["serial_number"] = serial.value
    return info


# Newer Home Assistant links a device to its parent by device id (`via_device` by identifier
# is deprecated there and missing from DeviceInfo); 2025.4 only knows `via_device`.
_VIA_DEVICE_ID = "via_device_id" in DeviceInfo.__annotations__


def _meter_device_id(coordinator: SwissMeterCoordinator, meter: MeterIdentity) -> str:
    """Id of the electricity meter's device, created here if its entities are not yet added.

    Sub-meter values usually arrive in the meter's first push, so their entities can be
    created before any entity of the meter itself; the same identifiers make it one device.
    """
    entry = coordinator.config_entry
    device = meter_device(coordinator.hass, entry.entry_id, meter.number)
    if device is None:
        device = dr.async_get(coordinator.hass).async_get_or_create(
            config_entry_id=entry.entry_id, **meter_device_info(coordinator, meter)
        )
    return device.id


def _device_exists(coordinator: SwissMeterCoordinator, identifier: tuple[str, str]) -> bool:
    """Whether this entry already has a device with `identifier` (see meter_device)."""
    registry = dr.async_get(coordinator.hass)
    entries = dr.async_entries_for_config_entry(registry, coordinator.config_entry.entry_id)
    return any(identifier in device.identifiers for device in entries)


_SUBMETER_NAMES: dict[Medium, str] = {
    Medium.GAS: "submeter_gas",
    Medium.WATER: "submeter_water",
    Medium.HEAT: "submeter_heat",
}


def meter_device(hass: HomeAssistant, entry_id: str, number: str) -> dr.DeviceEntry | None:
    """Return the device of meter `number` of this entry.

    Looked up through the entry's devices: `async_get_device` is deprecated from 2026.x (an
    identifier is only unique within an entry) and its replacement does not exist in 2025.4.
    """
    identifier = (DOMAIN, number)
    for device in dr.async_entries_for_config_entry(dr.async_get(hass), entry_id):
        if identifier in device.identifiers:
            return device
    return None


def link_device_id(coordinator: SwissMeterCoordinator) -> str:
    """Return the device of the link diagnostics: the meter the entry was set up for."""
    entry = coordinator.config_entry
    return entry.unique_id or entry.entry_id


class SwissMeterEntity(CoordinatorEntity[SwissMeterCoordinator]):
    """Common base: translated names below the device name."""

    _attr_has_entity_name = True


class MeterEntity(SwissMeterEntity):
    """A value of one meter; unavailable while that meter is silent or not the one sending."""

    def __init__(self, coordinator: SwissMeterCoordinator, meter: MeterIdentity, key: str) -> None:
        """Bind the entity to `meter` (unique id `<meter number>_<key>`)."""
        super().__init__(coordinator)
        self.meter_number = meter.number
        self._attr_unique_id = f"{meter.number}_{key}"
        channel = channel_of(key)
        if channel is None:
            self._attr_device_info = meter_device_info(coordinator, meter)
        else:
            self._attr_device_info = submeter_device_info(coordinator, meter, channel)

    @property
    def _current(self) -> bool:
        state = self.coordinator.data
        return (
            state.available and state.meter is not None and state.meter.number == self.meter_number
        )

    def reading(self, obis: str) -> Reading | None:
        """Return the published reading of `obis` for this entity's meter, if it is current."""
        return self.coordinator.data.values.get(obis) if self._current else None


class LinkEntity(SwissMeterEntity):
    """Diagnostics of the link: meaningful exactly when the meter is silent, so always available."""

    def __init__(self, coordinator: SwissMeterCoordinator, description: EntityDescription) -> None:
        """Attach to the entry's device (the meter it was set up for)."""
        super().__init__(coordinator)
        self.entity_description = description
        device_id = link_device_id(coordinator)
        self._attr_unique_id = f"{device_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, device_id)}, name=coordinator.config_entry.title
        )

    @property
    def available(self) -> bool:
        """Always: a dead link is what these entities report."""
        return True
