"""Sensors: one per pushed OBIS value (created as codes appear), net power, link diagnostics."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import re

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS, UNIT_CONVERTERS
from homeassistant.const import EntityCategory, UnitOfPower, UnitOfTime
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddEntitiesCallback
from homeassistant.helpers.typing import StateType

from .coordinator import SwissMeterCoordinator
from .decoder.catalogue import ObisInfo, Quantity, describe
from .decoder.errors import ErrorKind
from .decoder.push import Value
from .decoder.submeters import Medium, capture_time_key, channel_of, device_type_key, medium_of
from .entity import LinkEntity, MeterEntity
from .link_stats import LinkState
from .meter_state import MeterIdentity
from .net_power import net_power, net_power_pair
from .runtime_data import SwissMeterConfigEntry

PARALLEL_UPDATES = 0

MAX_TEXT = 255
NET_POWER = "net_power"
_OBIS_RE = re.compile(r"^\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")

# Present from Home Assistant 2025.6 only: never fall back to ENERGY for varh.
REACTIVE_ENERGY_CLASS: SensorDeviceClass | None = getattr(
    SensorDeviceClass, "REACTIVE_ENERGY", None
)


@dataclass(frozen=True, slots=True)
class _Kind:
    """How a quantity shows up in Home Assistant."""

    device_class: SensorDeviceClass | None = None
    state_class: SensorStateClass | None = None
    suggested_unit: str | None = None  # only used when HA can convert to it
    numeric: bool = True
    diagnostic: bool = False
    enabled: bool = True


_KINDS: dict[Quantity, _Kind] = {
    Quantity.ACTIVE_ENERGY: _Kind(
        SensorDeviceClass.ENERGY, SensorStateClass.TOTAL_INCREASING, "kWh"
    ),
    Quantity.REACTIVE_ENERGY: _Kind(
        REACTIVE_ENERGY_CLASS, SensorStateClass.TOTAL_INCREASING, "kvarh"
    ),
    Quantity.APPARENT_ENERGY: _Kind(None, SensorStateClass.TOTAL_INCREASING),
    Quantity.ACTIVE_POWER: _Kind(SensorDeviceClass.POWER, SensorStateClass.MEASUREMENT),
    Quantity.REACTIVE_POWER: _Kind(SensorDeviceClass.REACTIVE_POWER, SensorStateClass.MEASUREMENT),
    Quantity.APPARENT_POWER: _Kind(SensorDeviceClass.APPARENT_POWER, SensorStateClass.MEASUREMENT),
    Quantity.VOLTAGE: _Kind(SensorDeviceClass.VOLTAGE, SensorStateClass.MEASUREMENT),
    Quantity.CURRENT: _Kind(SensorDeviceClass.CURRENT, SensorStateClass.MEASUREMENT),
    Quantity.POWER_FACTOR: _Kind(SensorDeviceClass.POWER_FACTOR, SensorStateClass.MEASUREMENT),
    Quantity.FREQUENCY: _Kind(SensorDeviceClass.FREQUENCY, SensorStateClass.MEASUREMENT),
    Quantity.ANGLE: _Kind(None, SensorStateClass.MEASUREMENT),
    # The meter clock: changes with every push like the powers do, so it is shown too
    # (users compare it with the receive time: DST and drift questions).
    Quantity.TIMESTAMP: _Kind(SensorDeviceClass.TIMESTAMP, numeric=False, diagnostic=True),
    Quantity.TEXT: _Kind(numeric=False),
    Quantity.MESSAGE: _Kind(numeric=False),
    Quantity.TARIFF: _Kind(numeric=False),
    Quantity.IDENTIFIER: _Kind(numeric=False, diagnostic=True),
    # Device class from the medium (0-n:24.1.0), see _submeter_class.
    Quantity.SUBMETER_TOTAL: _Kind(None, SensorStateClass.TOTAL_INCREASING),
}
# Sub-meter medium -> device class the Energy dashboard's gas / water / energy sections take.
_MEDIUM_CLASSES: dict[Medium, SensorDeviceClass] = {
    Medium.GAS: SensorDeviceClass.GAS,
    Medium.WATER: SensorDeviceClass.WATER,
    Medium.HEAT: SensorDeviceClass.ENERGY,
    Medium.UNKNOWN: SensorDeviceClass.VOLUME,
}
_OTHER = _Kind()  # a number of unknown meaning: shown, but no statistics
# DSMR text prints "m3" where a binary push has "m³" (decoder/units.py); HA's gas and water
# classes only take the latter.
_UNIT_SYMBOLS: dict[str, str] = {"m3": "m³"}

# Display precision in the unit shown (HA rescales it when the user picks another unit).
_PRECISION: dict[str | None, int] = {
    "Wh": 0, "kWh": 3, "MWh": 6, "varh": 0, "kvarh": 3, "VAh": 0, "kVAh": 3,
    "W": 0, "kW": 3, "var": 0, "kvar": 3, "VA": 0, "kVA": 3,
    "V": 1, "A": 2, "Hz": 2, "%": 1, "°": 1,
}  # fmt: skip


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
        if (
            number
            and _OBIS_RE.match(key)
            and (sensor := obis_sensor(MeterIdentity(number), key, None))
        ):
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


class ObisSensor(MeterEntity, RestoreSensor):
    """One OBIS value of one meter."""

    def __init__(
        self,
        coordinator: SwissMeterCoordinator,
        meter: MeterIdentity,
        obis: str,
        info: ObisInfo,
        unit: str | None,
    ) -> None:
        """Describe the value from the catalogue; `unit` is what the meter sent (None: later)."""
        super().__init__(coordinator, meter, obis)
        self.obis = obis
        self._kind = kind = _KINDS.get(info.quantity, _OTHER)
        self._unit = unit if unit is not None else info.unit
        self._unit_from_push = unit is not None
        self._attr_translation_key = info.translation_key
        self._attr_translation_placeholders = dict(info.placeholders)
        self._attr_state_class = kind.state_class
        self._attr_device_class = _valid_class(kind.device_class, self._unit)
        self._attr_entity_registry_enabled_default = kind.enabled and info.known
        if kind.diagnostic:
            self._attr_entity_category = EntityCategory.DIAGNOSTIC
        display_unit = self._unit
        if kind.suggested_unit and _convertible(self._attr_device_class, self._unit, kind):
            self._attr_suggested_unit_of_measurement = display_unit = kind.suggested_unit
        if kind.numeric:
            self._attr_suggested_display_precision = _PRECISION.get(display_unit)
        if info.quantity is Quantity.POWER_FACTOR and display_unit is None:
            self._attr_suggested_display_precision = 3
        self._channel = channel_of(obis) if info.quantity is Quantity.SUBMETER_TOTAL else None
        self._update_submeter_class()

    def _update_submeter_class(self) -> None:
        """Set a sub-meter reading's device class from the medium, once that is pushed.

        Only the class changes (never the unique id or device), so a medium that arrives
        after the value still gives the Energy dashboard a gas or water sensor.
        """
        if self._channel is None:
            return
        device_type = self.coordinator.data.values.get(device_type_key(self._channel))
        if device_type is None:
            return
        device_class = _MEDIUM_CLASSES[medium_of(device_type.value)]
        self._attr_device_class = _valid_class(device_class, self.native_unit_of_measurement)

    @callback
    def _handle_coordinator_update(self) -> None:
        """Refresh the medium-driven device class before writing the state."""
        self._update_submeter_class()
        super()._handle_coordinator_update()

    @property
    def extra_state_attributes(self) -> Mapping[str, object] | None:
        """A sub-meter reading carries the time the sub-meter took it (its capture time)."""
        if self._channel is None:
            return None
        captured = self.reading(capture_time_key(self._channel))
        if captured is None or not isinstance(captured.value, datetime):
            return None
        return {"reading_time": captured.value.isoformat()}

    async def async_added_to_hass(self) -> None:
        """Restore the unit, and seed the energy guard with the last published value."""
        await super().async_added_to_hass()
        last = await self.async_get_last_sensor_data()
        if last is None:
            return
        if not self._unit_from_push and last.native_unit_of_measurement is not None:
            self._unit = last.native_unit_of_measurement
        self.coordinator.guard.restore(
            self.unique_id or "", self.obis, last.native_value, last.native_unit_of_measurement
        )

    @property
    def extra_restore_state_data(self) -> SensorExtraStoredData:
        """Also remember a register's last published value while it is unavailable.

        Otherwise a sensor that is unavailable at shutdown restores nothing, and the first
        (possibly lower) value after the restart would pass the energy guard unchecked.
        """
        data = super().extra_restore_state_data
        if (
            data.native_value is None
            and (kept := self.coordinator.guard.kept(self.unique_id or "", self.obis, self._unit))
            is not None
        ):
            return SensorExtraStoredData(*kept)
        return data

    @property
    def available(self) -> bool:
        """Only while this meter sends and this value was pushed."""
        return self.reading(self.obis) is not None

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The unit the meter sends (normally fixed per register)."""
        reading = self.reading(self.obis)
        unit = reading.unit if reading is not None and reading.unit else self._unit
        return _UNIT_SYMBOLS.get(unit, unit) if unit is not None else None

    @property
    def native_value(self) -> StateType | datetime | Decimal:
        """The value as sent, in the shape its device class needs."""
        reading = self.reading(self.obis)
        if reading is None:
            return None
        return _state(reading.value, self._kind, self._attr_device_class, reading.unit)


class NetPowerSensor(MeterEntity, SensorEntity):
    """Import minus export active power (W): one signed sensor for PV and battery tools."""

    _attr_translation_key = NET_POWER
    _attr_device_class = SensorDeviceClass.POWER
    _attr_state_class = SensorStateClass.MEASUREMENT
    _attr_native_unit_of_measurement = UnitOfPower.WATT
    _attr_suggested_display_precision = 0

    def __init__(self, coordinator: SwissMeterCoordinator, meter: MeterIdentity) -> None:
        """Bind to the meter's 1.7.0 and 2.7.0 registers."""
        super().__init__(coordinator, meter, NET_POWER)

    @property
    def available(self) -> bool:
        """While both powers are pushed."""
        return self.native_value is not None

    @property
    def native_value(self) -> Decimal | None:
        """Import positive, export negative."""
        if not self._current:
            return None
        return net_power(self.coordinator.data.values)


def _valid_class(
    device_class: SensorDeviceClass | None, unit: str | None
) -> SensorDeviceClass | None:
    """Drop a device class whose units do not include `unit` (varh is never energy)."""
    if device_class is None or unit is None:
        return device_class
    allowed = DEVICE_CLASS_UNITS.get(device_class)
    return device_class if allowed is None or unit in allowed else None


def _convertible(device_class: SensorDeviceClass | None, unit: str | None, kind: _Kind) -> bool:
    converter = UNIT_CONVERTERS.get(device_class)
    return (
        converter is not None
        and unit in converter.VALID_UNITS
        and kind.suggested_unit in converter.VALID_UNITS
    )


def _state(
    value: Value, kind: _Kind, device_class: SensorDeviceClass | None, unit: str | None
) -> StateType | datetime | Decimal:
    """Numbers stay exact, texts are cut to what the state machine takes, times stay aware."""
    if device_class is SensorDeviceClass.TIMESTAMP:
        return value if isinstance(value, datetime) and value.tzinfo is not None else None
    if value is None:
        return None
    if kind.numeric:
        if isinstance(value, int | Decimal | float) and not isinstance(value, bool):
            return value
        if unit is not None or kind.state_class is not None:
            return None  # HA refuses text in a sensor with a unit or statistics
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)[:MAX_TEXT]


# -- link diagnostics -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class LinkSensorDescription(SensorEntityDescription):
    """A statistic of the link, read from the coordinator."""

    value_fn: Callable[[SwissMeterCoordinator], StateType | datetime]


def _error_sensor(kind: ErrorKind) -> LinkSensorDescription:
    return LinkSensorDescription(
        key=f"errors_{kind}",
        translation_key=f"errors_{kind}",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda coordinator: coordinator.stats.errors.get(kind, 0),
    )


LINK_SENSORS: tuple[LinkSensorDescription, ...] = (
    LinkSensorDescription(
        key="link_state",
        translation_key="link_state",
        entity_category=EntityCategory.DIAGNOSTIC,
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in LinkState],
        value_fn=lambda coordinator: coordinator.stats.state.value,
    ),
    LinkSensorDescription(
        key="decode_errors",
        translation_key="decode_errors",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda coordinator: coordinator.stats.total_errors,
    ),
    LinkSensorDescription(
        key="pushes_received",
        translation_key="pushes_received",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda coordinator: coordinator.stats.pushes,
    ),
    LinkSensorDescription(
        key="last_push",
        translation_key="last_push",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda coordinator: coordinator.data.timestamp,
    ),
    LinkSensorDescription(
        key="push_interval",
        translation_key="push_interval",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.SECONDS,
        suggested_display_precision=1,
        value_fn=lambda coordinator: coordinator.push_interval,
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
        value_fn=lambda coordinator: coordinator.processing_delay,
    ),
    LinkSensorDescription(
        key="frame_counter",
        translation_key="frame_counter",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda coordinator: coordinator.stats.frame_counter,
    ),
    LinkSensorDescription(
        key="reconnects",
        translation_key="reconnects",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        state_class=SensorStateClass.TOTAL_INCREASING,
        value_fn=lambda coordinator: coordinator.stats.reconnects,
    ),
    *(_error_sensor(kind) for kind in ErrorKind),
)


class LinkSensor(LinkEntity, SensorEntity):
    """A link statistic."""

    entity_description: LinkSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """Read live from the coordinator (written with each coordinator update)."""
        return self.entity_description.value_fn(self.coordinator)
