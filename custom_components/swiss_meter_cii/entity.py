"""Base entities: one device per meter (by meter number) plus the link's diagnostic entities."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import MeterIdentity, SwissMeterCoordinator
from .decoder.push import Reading


def meter_device_info(coordinator: SwissMeterCoordinator, meter: MeterIdentity) -> DeviceInfo:
    """Describe the meter's device; unknown fields are left out so they never blank the registry."""
    info = DeviceInfo(identifiers={(DOMAIN, meter.number)}, name=coordinator.config_entry.title)
    if meter.manufacturer:
        info["manufacturer"] = meter.manufacturer
    if meter.model:
        info["model"] = meter.model
    if not meter.number.startswith("st-"):
        info["serial_number"] = meter.number
    return info


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
        self._attr_device_info = meter_device_info(coordinator, meter)

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
