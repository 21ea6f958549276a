"""DLMS unit enumeration -> Home Assistant unit strings.

A register's attribute 3 (`scaler_unit`) carries the unit as an enum (Blue Book,
"Enumerated units"; the same list as Gurux `enums/Unit.py`). Home Assistant wants the
symbol strings of `homeassistant.const` (e.g. "W", "Wh", "var"). The decoder must not
import Home Assistant, so the strings are spelled out here; where HA has a constant the
string is identical to it (UnitOfTime uses "m" for months, "w" for weeks).

Units HA has no constant for (VAh, m³/d, Ah, ...) keep their usual symbol: an entity
with an unknown unit still shows the right number and symbol, it just gets no device class.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

# Symbols used by the catalogue and the templates; one spelling for the whole decoder.
WATT: Final = "W"
VOLT_AMPERE: Final = "VA"
VAR: Final = "var"
WATT_HOUR: Final = "Wh"
VOLT_AMPERE_HOUR: Final = "VAh"
VAR_HOUR: Final = "varh"
AMPERE: Final = "A"
VOLT: Final = "V"
HERTZ: Final = "Hz"
DEGREE: Final = "°"
PERCENT: Final = "%"

DLMS_UNITS: Final = MappingProxyType(
    {
        1: "y",  # year (HA UnitOfTime.YEARS)
        2: "m",  # month (HA UnitOfTime.MONTHS)
        3: "w",  # week
        4: "d",  # day
        5: "h",  # hour
        6: "min",  # minute
        7: "s",  # second
        8: DEGREE,  # phase angle
        9: "°C",
        10: None,  # local currency: the enum does not say which one
        11: "m",
        12: "m/s",
        13: "m³",
        14: "m³",  # corrected volume
        15: "m³/h",
        16: "m³/h",  # corrected volume flux
        17: "m³/d",
        18: "m³/d",
        19: "L",
        20: "kg",
        21: "N",
        22: "Nm",
        23: "Pa",
        24: "bar",
        25: "J",
        26: "J/h",
        27: WATT,
        28: VOLT_AMPERE,
        29: VAR,
        30: WATT_HOUR,
        31: VOLT_AMPERE_HOUR,  # no HA constant and no device class
        32: VAR_HOUR,  # UnitOfReactiveEnergy in HA >= 2025.6
        33: AMPERE,
        34: "C",
        35: VOLT,
        36: "V/m",
        37: "F",
        38: "Ω",
        39: "Ωm",
        40: "Wb",
        41: "T",
        42: "A/m",
        43: "H",
        44: HERTZ,
        45: "1/(Wh)",  # meter constants
        46: "1/(varh)",
        47: "1/(VAh)",
        48: "V²h",
        49: "A²h",
        50: "kg/s",
        51: "S",
        52: "K",
        53: "1/(V²h)",
        54: "1/(A²h)",
        55: "1/m³",
        56: PERCENT,
        57: "Ah",
        60: "Wh/m³",
        61: "J/m³",
        62: "mol%",
        63: "g/m³",
        64: "Pa·s",
        65: "J/kg",
        66: "g/cm²",
        67: "atm",
        70: "dBm",
        71: "dBµV",
        72: "dB",
        254: None,  # "other unit"
        255: None,  # no unit / count (power factor is sent with 255)
    }
)


def unit_from_dlms(code: int) -> str | None:
    """HA unit string for a DLMS unit enum; None for 'no unit', 'other' and unknown codes.

    Unknown codes give None rather than an error: a wrong unit enum must not cost the
    user the value itself.
    """
    return DLMS_UNITS.get(int(code))
