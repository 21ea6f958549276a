"""How each kind of OBIS value shows up in Home Assistant: device class, statistics, precision.

The decoder's catalogue says what a code measures (`Quantity`); this table says how Home
Assistant shows it (README "Sensors"). A new code of a known quantity needs nothing here; a new
quantity needs one row in `KINDS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.components.sensor.const import DEVICE_CLASS_UNITS, UNIT_CONVERTERS
from homeassistant.const import EntityCategory
from homeassistant.helpers.typing import StateType

from .decoder.catalogue import ObisInfo, Quantity
from .decoder.push import Value
from .decoder.submeters import Medium

MAX_TEXT = 255  # the state machine refuses longer states

# Present from Home Assistant 2025.6 only: never fall back to ENERGY for varh.
REACTIVE_ENERGY_CLASS: SensorDeviceClass | None = getattr(
    SensorDeviceClass, "REACTIVE_ENERGY", None
)


@dataclass(frozen=True, slots=True)
class Kind:
    """How a quantity shows up in Home Assistant."""

    device_class: SensorDeviceClass | None = None
    state_class: SensorStateClass | None = None
    suggested_unit: str | None = None  # only used when HA can convert to it
    numeric: bool = True
    diagnostic: bool = False
    enabled: bool = True


KINDS: dict[Quantity, Kind] = {
    Quantity.ACTIVE_ENERGY: Kind(
        SensorDeviceClass.ENERGY, SensorStateClass.TOTAL_INCREASING, "kWh"
    ),
    Quantity.REACTIVE_ENERGY: Kind(
        REACTIVE_ENERGY_CLASS, SensorStateClass.TOTAL_INCREASING, "kvarh"
    ),
    Quantity.APPARENT_ENERGY: Kind(None, SensorStateClass.TOTAL_INCREASING),
    Quantity.ACTIVE_POWER: Kind(SensorDeviceClass.POWER, SensorStateClass.MEASUREMENT),
    Quantity.REACTIVE_POWER: Kind(SensorDeviceClass.REACTIVE_POWER, SensorStateClass.MEASUREMENT),
    Quantity.APPARENT_POWER: Kind(SensorDeviceClass.APPARENT_POWER, SensorStateClass.MEASUREMENT),
    Quantity.VOLTAGE: Kind(SensorDeviceClass.VOLTAGE, SensorStateClass.MEASUREMENT),
    Quantity.CURRENT: Kind(SensorDeviceClass.CURRENT, SensorStateClass.MEASUREMENT),
    Quantity.POWER_FACTOR: Kind(SensorDeviceClass.POWER_FACTOR, SensorStateClass.MEASUREMENT),
    Quantity.FREQUENCY: Kind(SensorDeviceClass.FREQUENCY, SensorStateClass.MEASUREMENT),
    Quantity.ANGLE: Kind(None, SensorStateClass.MEASUREMENT),
    # The meter clock: changes with every push like the powers do, so it is shown too
    # (users compare it with the receive time: DST and drift questions).
    Quantity.TIMESTAMP: Kind(SensorDeviceClass.TIMESTAMP, numeric=False, diagnostic=True),
    Quantity.TEXT: Kind(numeric=False),
    Quantity.MESSAGE: Kind(numeric=False),
    Quantity.TARIFF: Kind(numeric=False),
    Quantity.IDENTIFIER: Kind(numeric=False, diagnostic=True),
    # Device class from the medium (0-n:24.1.0), see MEDIUM_CLASSES.
    Quantity.SUBMETER_TOTAL: Kind(None, SensorStateClass.TOTAL_INCREASING),
}
OTHER = Kind()  # a number of unknown meaning: shown, but no statistics

# Sub-meter medium -> device class the Energy dashboard's gas / water / energy sections take.
MEDIUM_CLASSES: dict[Medium, SensorDeviceClass] = {
    Medium.GAS: SensorDeviceClass.GAS,
    Medium.WATER: SensorDeviceClass.WATER,
    Medium.HEAT: SensorDeviceClass.ENERGY,
    Medium.UNKNOWN: SensorDeviceClass.VOLUME,
}
# DSMR text prints "m3" where a binary push has "m³" (decoder/units.py); HA's gas and water
# classes only take the latter.
UNIT_SYMBOLS: dict[str, str] = {"m3": "m³"}

# Display precision in the unit shown (HA rescales it when the user picks another unit).
PRECISION: dict[str | None, int] = {
    "Wh": 0, "kWh": 3, "MWh": 6, "varh": 0, "kvarh": 3, "VAh": 0, "kVAh": 3,
    "W": 0, "kW": 3, "var": 0, "kvar": 3, "VA": 0, "kVA": 3,
    "V": 1, "A": 2, "Hz": 2, "%": 1, "°": 1,
}  # fmt: skip


def kind_of(quantity: Quantity) -> Kind:
    """How values of `quantity` are shown (a plain number when the table has no row)."""
    return KINDS.get(quantity, OTHER)


def value_description(obis: str, info: ObisInfo, unit: str | None) -> SensorEntityDescription:
    """Describe the sensor of one OBIS value from the catalogue and the unit it comes in."""
    kind = kind_of(info.quantity)
    device_class = valid_class(kind.device_class, unit)
    display_unit = unit
    suggested_unit = None
    if kind.suggested_unit and convertible(device_class, unit, kind):
        suggested_unit = display_unit = kind.suggested_unit
    precision = PRECISION.get(display_unit) if kind.numeric else None
    if info.quantity is Quantity.POWER_FACTOR and display_unit is None:
        precision = 3
    return SensorEntityDescription(
        key=obis,
        translation_key=info.translation_key,
        translation_placeholders=dict(info.placeholders),
        device_class=device_class,
        state_class=kind.state_class,
        suggested_unit_of_measurement=suggested_unit,
        suggested_display_precision=precision,
        entity_category=EntityCategory.DIAGNOSTIC if kind.diagnostic else None,
        entity_registry_enabled_default=kind.enabled and info.known,
    )


def valid_class(
    device_class: SensorDeviceClass | None, unit: str | None
) -> SensorDeviceClass | None:
    """Drop a device class whose units do not include `unit` (varh is never energy)."""
    if device_class is None or unit is None:
        return device_class
    allowed = DEVICE_CLASS_UNITS.get(device_class)
    return device_class if allowed is None or unit in allowed else None


def convertible(device_class: SensorDeviceClass | None, unit: str | None, kind: Kind) -> bool:
    """Whether Home Assistant can show `unit` in the kind's suggested unit."""
    converter = UNIT_CONVERTERS.get(device_class)
    return (
        converter is not None
        and unit in converter.VALID_UNITS
        and kind.suggested_unit in converter.VALID_UNITS
    )


def state_value(
    value: Value, kind: Kind, device_class: SensorDeviceClass | None, unit: str | None
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
