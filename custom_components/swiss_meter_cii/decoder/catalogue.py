"""OBIS catalogue: what a code means (translation key and placeholders), its unit and kind.

Coverage (docs/protocol.md, "OBIS to Home Assistant mapping"): the Swiss CII lists
(Basisliste / Erweiterte Liste as named in the meter documentation, the VSE 2026
configuration, the SIL Lausanne items), the Austrian adapter data format (Oesterreichs
Energie, Annex D) and the Norwegian/Swedish HAN extras the public test frames carry. Any
other code gets a generic name built from its value group D (instantaneous, cumulative,
maximum, ...) and, for electricity codes, a quantity and unit derived from its value group C.

Matching ignores channel B and the billing field F (1-1:1.8.0 and 1-0:1.8.0 are the same
quantity, docs/protocol.md, "OBIS to Home Assistant mapping"). Names use Home Assistant
translation placeholders ({tariff}, {phase}, ...) so that a few dozen translation keys name
every code. The names themselves are data apart (catalogue_names.py): Home Assistant reads
them from translations/*.json, which scripts/sync_translations writes from that module, so
nothing at run time imports them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType
from typing import Final

from .obis import VALUE_ATTRIBUTE, Obis
from .units import (
    AMPERE,
    DEGREE,
    HERTZ,
    VAR,
    VAR_HOUR,
    VOLT,
    VOLT_AMPERE,
    VOLT_AMPERE_HOUR,
    WATT,
    WATT_HOUR,
)

MBUS_CHANNELS: Final = 4  # M-Bus channels an IDIS / DSMR meter relays (B group 1..4)
# The capture time of an extended register (class 4), read as its own reading keyed
# "A-B:C.D.E.F/5" (obis.py; docs/protocol.md, "M-Bus sub-meters").
CAPTURE_TIME_ATTRIBUTE: Final = 5


class Quantity(StrEnum):
    """What kind of value a code carries (drives device class and state class)."""

    ACTIVE_ENERGY = "active_energy"
    REACTIVE_ENERGY = "reactive_energy"
    APPARENT_ENERGY = "apparent_energy"
    ACTIVE_POWER = "active_power"
    REACTIVE_POWER = "reactive_power"
    APPARENT_POWER = "apparent_power"
    VOLTAGE = "voltage"
    CURRENT = "current"
    POWER_FACTOR = "power_factor"
    FREQUENCY = "frequency"
    ANGLE = "angle"
    TIMESTAMP = "timestamp"
    TEXT = "text"
    IDENTIFIER = "identifier"
    TARIFF = "tariff"
    MESSAGE = "message"
    SUBMETER_TOTAL = "submeter_total"  # M-Bus meter reading; the medium (24.1.0) says of what
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class ObisInfo:
    """Everything the entity layer needs to name and classify one code."""

    translation_key: str  # names: catalogue_names.py -> translations/*.json
    placeholders: Mapping[str, str]
    unit: str | None
    quantity: Quantity
    known: bool


_PHASES: Final = ("", "L1", "L2", "L3")
_QUADRANTS: Final = {5: "I", 6: "II", 7: "III", 8: "IV"}
# Value group C (total, 1..20) -> (kind, direction) of the energy/power flow codes.
_FLOWS: Final = {
    1: ("active", "import"),
    2: ("active", "export"),
    3: ("reactive", "import"),
    4: ("reactive", "export"),
    9: ("apparent", "import"),
    10: ("apparent", "export"),
}
_ENERGY_KIND: Final = {
    "active": (Quantity.ACTIVE_ENERGY, WATT_HOUR),
    "reactive": (Quantity.REACTIVE_ENERGY, VAR_HOUR),
    "apparent": (Quantity.APPARENT_ENERGY, VOLT_AMPERE_HOUR),
}
_POWER_KIND: Final = {
    "active": (Quantity.ACTIVE_POWER, WATT),
    "reactive": (Quantity.REACTIVE_POWER, VAR),
    "apparent": (Quantity.APPARENT_POWER, VOLT_AMPERE),
}
# Value group D of electricity codes (Blue Book "processing of measurement values").
_CUMULATIVE_D: Final = frozenset({8, 9, 10, 29, 30})
_MAXIMUM_D: Final = frozenset({2, 6, 12, 16, 22, 26})
_MINIMUM_D: Final = frozenset({1, 3, 11, 13, 21, 23})
_AVERAGE_D: Final = frozenset({0, 4, 5, 14, 15, 24, 25, 27, 28})
_ANGLE_PHASES: Final = {40: "L1", 51: "L2", 62: "L3"}

type _Resolved = tuple[str, dict[str, str], str | None, Quantity, bool]


def _split(c: int) -> tuple[int, int]:
    """(phase 0..3, base 1..20) of an electricity value group C in 1..80."""
    phase, rest = divmod(c - 1, 20)
    return phase, rest + 1


def _general(a: int, b: int, c: int, d: int, e: int) -> _Resolved | None:
    """Identification, time and status codes (value group A 0, some also A 1)."""
    if c == 42 and d == 0 and e == 0:
        return "logical_device_name", {}, None, Quantity.IDENTIFIER, True
    if a == 0 and 1 <= b <= MBUS_CHANNELS and c == 96 and d == 1 and e == 0:
        # A sub-meter's serial on M-Bus channel B (docs/protocol.md, "M-Bus sub-meters").
        return "mbus_serial", {"channel": str(b)}, None, Quantity.IDENTIFIER, True
    if a == 0 and 1 <= b <= MBUS_CHANNELS and c == 24 and d == 1 and e == 0:
        return "mbus_device_type", {"channel": str(b)}, None, Quantity.IDENTIFIER, True
    if c == 96 and d == 1 and e <= 9:
        return "device_id", {"number": str(e + 1)}, None, Quantity.IDENTIFIER, True
    if c == 96 and d == 14 and e == 0:
        return "active_tariff", {}, None, Quantity.TARIFF, True
    if a == 0 and c == 96 and d == 3 and e == 10:
        # Disconnect control (class 70); B 1..n: the XT211's switched relays R1..R4.
        if b == 0:
            return "disconnect_control", {}, None, Quantity.OTHER, True
        return "relay_state", {"channel": str(b)}, None, Quantity.OTHER, True
    if a == 0 and c == 17 and d == 0 and e == 0:
        return "limiter_threshold", {}, WATT, Quantity.ACTIVE_POWER, True
    if c == 96 and d == 13 and e in (0, 1):
        key = "consumer_message_text" if e == 0 else "consumer_message_code"
        return key, {}, None, Quantity.MESSAGE, True
    if a == 0 and c == 1 and d == 0 and e == 0:
        return "clock", {}, None, Quantity.TIMESTAMP, True
    if c == 0 and d == 9 and e in (1, 2):
        return ("meter_time" if e == 1 else "meter_date"), {}, None, Quantity.TEXT, True
    if c == 0 and d == 0 and e <= 9:
        return "identification_number", {"number": str(e + 1)}, None, Quantity.IDENTIFIER, True
    if c == 0 and d == 2 and e == 8:
        return "p1_version", {}, None, Quantity.TEXT, True
    if c == 0 and d == 2 and e == 129:
        return "list_version", {}, None, Quantity.TEXT, True
    if a == 0 and c == 24 and d == 2 and e == 1:
        return "mbus_value", {"channel": str(b)}, None, Quantity.SUBMETER_TOTAL, True
    return None


def _electricity(c: int, d: int, e: int) -> _Resolved | None:
    """Known electricity codes (value group A 1)."""
    if 1 <= c <= 80:
        phase, base = _split(c)
    else:
        phase, base = 0, 0
    tariff = {"tariff": str(e)} if 1 <= e <= 63 else None
    if d == 8 and phase == 0 and (e == 0 or tariff):
        suffix = "_tariff" if tariff else ""
        holders = dict(tariff or {})
        if base in _FLOWS:
            kind, direction = _FLOWS[base]
            quantity, unit = _ENERGY_KIND[kind]
            return f"{kind}_energy_{direction}{suffix}", holders, unit, quantity, True
        if base in _QUADRANTS:
            holders["quadrant"] = _QUADRANTS[base]
            key = f"reactive_energy_quadrant{suffix}"
            return key, holders, VAR_HOUR, Quantity.REACTIVE_ENERGY, True
        if base == 15:
            key = f"active_energy_absolute{suffix}"
            return key, holders, WATT_HOUR, Quantity.ACTIVE_ENERGY, True
    if d == 7 and e == 0:
        return _instantaneous(c, phase, base)
    if d == 7 and c == 81 and e in _ANGLE_PHASES:
        return "phase_angle", {"phase": _ANGLE_PHASES[e]}, DEGREE, Quantity.ANGLE, True
    if d == 6 and c in (1, 2) and (e == 0 or tariff):
        direction = "import" if c == 1 else "export"
        key = f"max_demand_{direction}{'_tariff' if tariff else ''}"
        return key, dict(tariff or {}), WATT, Quantity.ACTIVE_POWER, True
    if c == 15 and d == 35 and e == 0:
        return "power_limit_threshold", {}, WATT, Quantity.ACTIVE_POWER, True
    return None


def _instantaneous(c: int, phase: int, base: int) -> _Resolved | None:
    """Instantaneous values (D 7, E 0): powers, currents, voltages, power factor, frequency."""
    holders = {"phase": _PHASES[phase]} if phase else {}
    if base in _FLOWS:
        kind, direction = _FLOWS[base]
        quantity, unit = _POWER_KIND[kind]
        key = f"{kind}_power_{direction}{'_phase' if phase else ''}"
        return key, holders, unit, quantity, True
    if base == 11 and phase:
        return "current_phase", holders, AMPERE, Quantity.CURRENT, True
    if base == 12 and phase:
        return "voltage_phase", holders, VOLT, Quantity.VOLTAGE, True
    if base == 13:
        key = "power_factor_phase" if phase else "power_factor"
        return key, holders, None, Quantity.POWER_FACTOR, True
    if base == 14 and not phase:
        return "frequency", {}, HERTZ, Quantity.FREQUENCY, True
    if c == 91:
        return "current_neutral", {}, AMPERE, Quantity.CURRENT, True
    return None


def _generic_kind(c: int, d: int) -> tuple[Quantity, str | None]:
    """Quantity and unit of an unknown electricity code, from its value groups C and D."""
    if c == 81:
        return Quantity.ANGLE, DEGREE
    if c in (90, 91):
        return Quantity.CURRENT, AMPERE
    if c == 92:
        return Quantity.VOLTAGE, VOLT
    if not 1 <= c <= 80:
        return Quantity.OTHER, None
    base = _split(c)[1]
    cumulative = d in _CUMULATIVE_D
    if base in (1, 2, 15, 16, 17, 18, 19, 20):
        return (Quantity.ACTIVE_ENERGY, WATT_HOUR) if cumulative else (Quantity.ACTIVE_POWER, WATT)
    if 3 <= base <= 8:
        if cumulative:
            return Quantity.REACTIVE_ENERGY, VAR_HOUR
        return Quantity.REACTIVE_POWER, VAR
    if base in (9, 10):
        if cumulative:
            return Quantity.APPARENT_ENERGY, VOLT_AMPERE_HOUR
        return Quantity.APPARENT_POWER, VOLT_AMPERE
    if cumulative:
        return Quantity.OTHER, None
    return {
        11: (Quantity.CURRENT, AMPERE),
        12: (Quantity.VOLTAGE, VOLT),
        13: (Quantity.POWER_FACTOR, None),
        14: (Quantity.FREQUENCY, HERTZ),
    }.get(base, (Quantity.OTHER, None))


def _generic(a: int, c: int, d: int, label: str) -> _Resolved:
    """Fallback name from value group D; quantity and unit from C for electricity codes."""
    holders = {"obis": label}
    if a != 1 or c in (0, 96):  # abstract codes and general/service entries: no D meaning
        return "generic_value", holders, None, Quantity.OTHER, False
    if d == 7:
        key = "generic_instantaneous"
    elif d in _CUMULATIVE_D:
        key = "generic_cumulative"
    elif d in _MAXIMUM_D:
        key = "generic_maximum"
    elif d in _MINIMUM_D:
        key = "generic_minimum"
    elif d in _AVERAGE_D:
        key = "generic_average"
    else:
        key = "generic_value"
    quantity, unit = _generic_kind(c, d)
    return key, holders, unit, quantity, False


@lru_cache(maxsize=2048)
def describe(obis: str) -> ObisInfo:
    """Name, unit and kind of one code 'A-B:C.D.E.F'; never fails for a well-formed code.

    Cached: the layouts call it once per code and push setup, never per push.
    """
    code = Obis.parse(obis)
    a, b, c, d, e, attribute = code.a, code.b, code.c, code.d, code.e, code.attribute
    resolved: _Resolved | None = None
    if attribute != VALUE_ATTRIBUTE:
        if attribute == CAPTURE_TIME_ATTRIBUTE and a == 0 and c == 24 and d == 2 and e == 1:
            resolved = "mbus_capture_time", {"channel": str(b)}, None, Quantity.TIMESTAMP, True
    elif a in (0, 1):
        resolved = _general(a, b, c, d, e)
    if resolved is None and a == 1 and attribute == VALUE_ATTRIBUTE:
        resolved = _electricity(c, d, e)
    if resolved is None:
        if attribute == VALUE_ATTRIBUTE:
            resolved = _generic(a, c, d, code.label)
        else:  # another attribute of an unknown code: no meaning from C/D
            resolved = "generic_value", {"obis": code.label}, None, Quantity.OTHER, False
    key, holders, unit, quantity, known = resolved
    return ObisInfo(
        translation_key=key,
        placeholders=MappingProxyType(holders),
        unit=unit,
        quantity=quantity,
        known=known,
    )
