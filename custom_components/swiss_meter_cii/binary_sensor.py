"""Whether the last push was authenticated (GCM tag checked with the authentication key)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddEntitiesCallback

from .decoder.push import Security
from .entity import LinkEntity
from .link_stats import LinkView
from .runtime_data import SwissMeterConfigEntry

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class LinkBinarySensorDescription(BinarySensorEntityDescription):
    """A yes/no fact about the link; None while it is not known."""

    is_on_fn: Callable[[LinkView], bool | None]


def _authenticated(link: LinkView) -> bool | None:
    """Unknown before the first push; on when the tag of the last push verified."""
    return None if link.security is None else link.security is Security.AUTHENTICATED


AUTHENTICATED = LinkBinarySensorDescription(
    key="authenticated",
    translation_key="authenticated",
    entity_category=EntityCategory.DIAGNOSTIC,
    entity_registry_enabled_default=False,
    is_on_fn=_authenticated,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: SwissMeterConfigEntry,
    async_add_entities: AddEntitiesCallback,
) -> None:
    """One per entry, next to the other link diagnostics."""
    async_add_entities([LinkBinarySensor(entry.runtime_data.coordinator, AUTHENTICATED)])


class LinkBinarySensor(LinkEntity, BinarySensorEntity):
    """A yes/no link diagnostic."""

    entity_description: LinkBinarySensorDescription

    @property
    def is_on(self) -> bool | None:
        """Read from the link's counters as they are at this state write."""
        return self.entity_description.is_on_fn(self.coordinator.link_view())
