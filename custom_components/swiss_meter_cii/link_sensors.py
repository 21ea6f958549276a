"""Diagnostic sensors of the link: one description per statistic, each a function of `LinkView`.

They belong to the device of the meter the entry was set up for and stay available while the
meter is silent: that is when they matter (README "Sensors", "Troubleshooting").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory, UnitOfTime
from homeassistant.helpers.typing import StateType

from .decoder.errors import ErrorKind
from .entity import LinkEntity
from .link_stats import LinkState, LinkView


@dataclass(frozen=True, kw_only=True)
class LinkSensorDescription(SensorEntityDescription):
    """A statistic of the link."""

    value_fn: Callable[[LinkView], StateType | datetime]


def _error_sensor(kind: ErrorKind) -> LinkSensorDescription:
    return LinkSensorDescription(
        key=f"errors_{kind}",
        translation_key=f"errors_{kind}",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda link: link.errors.get(kind, 0),
    )


LINK_SENSORS: tuple[LinkSensorDescription, ...] = (
    LinkSensorDescription(
        key="link_state",
        translation_key="link_state",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in LinkState],
        value_fn=lambda link: link.state.value,
    ),
    LinkSensorDescription(
        key="decode_errors",
        translation_key="decode_errors",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda link: link.total_errors,
    ),
    LinkSensorDescription(
        key="pushes_received",
        translation_key="pushes_received",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda link: link.pushes,
    ),
    LinkSensorDescription(
        key="last_push",
        translation_key="last_push",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda link: link.reading_time,
    ),
    LinkSensorDescription(
        key="push_interval",
        translation_key="push_interval",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=1,
        value_fn=lambda link: link.push_interval,
    ),
    LinkSensorDescription(
        # Last byte of a push to its state write (the Austrian adapter concept: < 50 % of the
        # push interval and at most 0.5 s).
        key="processing_delay",
        translation_key="processing_delay",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MILLISECONDS,
        suggested_display_precision=1,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda link: link.processing_delay,
    ),
    LinkSensorDescription(
        key="frame_counter",
        translation_key="frame_counter",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda link: link.frame_counter,
    ),
    LinkSensorDescription(
        key="reconnects",
        translation_key="reconnects",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda link: link.reconnects,
    ),
    *(_error_sensor(kind) for kind in ErrorKind),
)


class LinkSensor(LinkEntity, SensorEntity):
    """A link statistic."""

    entity_description: LinkSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """Read from the link's counters as they are at this state write."""
        return self.entity_description.value_fn(self.coordinator.link_view())
