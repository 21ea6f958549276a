"""DLMS unit enum -> Home Assistant unit strings."""

from __future__ import annotations

from homeassistant.const import (
    DEGREE,
    PERCENTAGE,
    UnitOfApparentPower,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfFrequency,
    UnitOfPower,
    UnitOfPressure,
    UnitOfReactivePower,
    UnitOfTemperature,
    UnitOfTime,
    UnitOfVolume,
    UnitOfVolumeFlowRate,
)
import pytest

from custom_components.swiss_meter_cii.decoder.catalogue import describe
from custom_components.swiss_meter_cii.decoder.units import (
    DLMS_UNITS,
    unit_from_dlms,
)
from custom_components.swiss_meter_cii.decoder.values import DlmsEnum


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # Home Assistant's own constants: the strings must be identical.
        (1, UnitOfTime.YEARS),
        (2, UnitOfTime.MONTHS),
        (3, UnitOfTime.WEEKS),
        (4, UnitOfTime.DAYS),
        (5, UnitOfTime.HOURS),
        (6, UnitOfTime.MINUTES),
        (7, UnitOfTime.SECONDS),
        (8, DEGREE),
        (9, UnitOfTemperature.CELSIUS),
        (13, UnitOfVolume.CUBIC_METERS),
        (15, UnitOfVolumeFlowRate.CUBIC_METERS_PER_HOUR),
        (19, UnitOfVolume.LITERS),
        (23, UnitOfPressure.PA),
        (24, UnitOfPressure.BAR),
        (25, UnitOfEnergy.JOULE),
        (27, UnitOfPower.WATT),
        (28, UnitOfApparentPower.VOLT_AMPERE),
        (29, UnitOfReactivePower.VOLT_AMPERE_REACTIVE),
        (30, UnitOfEnergy.WATT_HOUR),
        (33, UnitOfElectricCurrent.AMPERE),
        (35, UnitOfElectricPotential.VOLT),
        (44, UnitOfFrequency.HERTZ),
        (52, UnitOfTemperature.KELVIN),
        (56, PERCENTAGE),
    ],
)
def test_units_equal_home_assistant_constants(code: int, expected: str) -> None:
    assert unit_from_dlms(code) == str(expected)


def test_units_without_home_assistant_constant() -> None:
    assert unit_from_dlms(31) == "VAh"
    assert unit_from_dlms(32) == "varh"  # UnitOfReactiveEnergy only from HA 2025.6
    assert unit_from_dlms(57) == "Ah"


@pytest.mark.parametrize("code", [0, 10, 58, 100, 200, 253, 254, 255])
def test_no_unit_other_unit_and_unknown_codes(code: int) -> None:
    assert unit_from_dlms(code) is None


def test_enum_instances_are_accepted() -> None:
    assert unit_from_dlms(DlmsEnum(35)) == "V"


def test_table_has_only_strings_or_none() -> None:
    assert all(isinstance(k, int) and 0 <= k <= 255 for k in DLMS_UNITS)
    assert all(v is None or (isinstance(v, str) and v) for v in DLMS_UNITS.values())


@pytest.mark.parametrize(
    ("obis", "unit"),
    [
        ("1-1:1.8.0.255", "Wh"),
        ("1-0:4.8.2.255", "varh"),
        ("1-0:2.7.0.255", "W"),
        ("1-0:3.7.0.255", "var"),
        ("1-0:31.7.0.255", "A"),
        ("1-0:72.7.0.255", "V"),
        ("1-0:13.7.0.255", None),
        ("0-0:96.1.0.255", None),
        ("1-0:81.7.40.255", "°"),
    ],
)
def test_default_unit_per_code(obis: str, unit: str | None) -> None:
    """The unit to assume when a push carries none comes from the catalogue."""
    assert describe(obis).unit == unit
