"""Whether the last push was authenticated (GCM tag checked with the authentication key)."""

from __future__ import annotations

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .decoder.push import Security
from .entity import LinkEntity
from .runtime_data import SwissMeterConfigEntry

PARALLEL_UPDATES = 0

AUTHENTICATED = BinarySensorEntityDescription(
    key="authenticated",
    translation_key="authenticated",
    entity_category=EntityCategory.DIAGNOSTIC,
    entity_registry_enabled_default=False,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwissMeterConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """One per entry, next to the other link diagnostics."""
    async_add_entities([AuthenticatedBinarySensor(entry.runtime_data.coordinator, AUTHENTICATED)])


class AuthenticatedBinarySensor(LinkEntity, BinarySensorEntity):
    """On when the tag of the last push verified; unknown before the first push."""

    @property
    def is_on(self) -> bool | None:
        """From the security of the last decoded push."""
        security = self.coordinator.stats.security
        return None if security is None else security is Security.AUTHENTICATED
