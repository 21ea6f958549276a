"""The sensors of pushed values: one per OBIS code of each meter, and the signed net power.

How a value is shown (device class, statistics, precision) is decided in quantities.py; these
entities only read the published state, restore across restarts and keep the energy guard's
value when a register is unavailable at shutdown (energy_guard.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from homeassistant.components.sensor import (
    RestoreSensor,
    SensorDeviceClass,
    SensorEntity,
    SensorExtraStoredData,
    SensorStateClass,
)
from homeassistant.const import UnitOfPower
from homeassistant.core import callback
from homeassistant.helpers.typing import StateType

from .coordinator import SwissMeterCoordinator
from .decoder.catalogue import ObisInfo, Quantity
from .decoder.submeters import capture_time_key, channel_of, device_type_key, medium_of
from .entity import MeterEntity
from .meter_state import MeterIdentity
from .net_power import NET_POWER, net_power
from .quantities import (
    MEDIUM_CLASSES,
    UNIT_SYMBOLS,
    kind_of,
    state_value,
    valid_class,
    value_description,
)


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
        self._kind = kind_of(info.quantity)
        self._unit = unit if unit is not None else info.unit
        self._unit_from_push = unit is not None
        self.entity_description = value_description(obis, info, self._unit)
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
        device_class = MEDIUM_CLASSES[medium_of(device_type.value)]
        self._attr_device_class = valid_class(device_class, self.native_unit_of_measurement)

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
        if data.native_value is not None:
            return data
        kept = self.coordinator.guard.kept(self.unique_id or "", self.obis, self._unit)
        return data if kept is None else SensorExtraStoredData(*kept)

    @property
    def available(self) -> bool:
        """Only while this meter sends and this value was pushed."""
        return self.reading(self.obis) is not None

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The unit the meter sends (normally fixed per register)."""
        reading = self.reading(self.obis)
        unit = reading.unit if reading is not None and reading.unit else self._unit
        return UNIT_SYMBOLS.get(unit, unit) if unit is not None else None

    @property
    def native_value(self) -> StateType | datetime | Decimal:
        """The value as sent, in the shape its device class needs."""
        reading = self.reading(self.obis)
        if reading is None:
            return None
        return state_value(reading.value, self._kind, self.device_class, reading.unit)


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
