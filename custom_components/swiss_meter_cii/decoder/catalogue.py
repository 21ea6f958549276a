"""OBIS catalogue: what a code means, its names in en/de/fr/it, default unit and kind.

Coverage (docs/protocol.md, "OBIS to Home Assistant mapping"): the Swiss CII lists
(Basisliste / Erweiterte Liste as named in the meter documentation, the VSE 2026
configuration, the SIL Lausanne items), the Austrian adapter data format (Oesterreichs
Energie, Annex D) and the Norwegian/Swedish HAN extras the public test frames carry. Any
other code gets a generic name built from its value group D (instantaneous, cumulative,
maximum, ...) and, for electricity codes, a quantity and unit derived from its value group C.

Matching ignores channel B and the billing field F (1-1:1.8.0 and 1-0:1.8.0 are the same
quantity, docs/protocol.md, "OBIS to Home Assistant mapping"). Names use Home Assistant
translation placeholders ({tariff}, {phase}, ...) so that a few dozen translation keys name
every code.
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

LANGUAGES: Final = ("en", "de", "fr", "it")
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

    translation_key: str
    placeholders: Mapping[str, str]
    names: Mapping[str, str]
    unit: str | None
    quantity: Quantity
    known: bool


# translation key -> name template per language (en, de, fr, it).
# German follows Swiss/Austrian utility usage (Bezug/Lieferung); French and Italian
# follow the Swiss utilities' wording (soutirée/injectée, prelevata/immessa).
_NAMES: Final[dict[str, tuple[str, str, str, str]]] = {
    # Identification, time, status
    "logical_device_name": (
        "Logical device name",
        "Logischer Gerätename",
        "Nom logique de l'appareil",
        "Nome logico del dispositivo",
    ),
    "device_id": (
        "Device ID {number}",
        "Geräte-ID {number}",
        "Identifiant d'appareil {number}",
        "ID dispositivo {number}",
    ),
    "identification_number": (
        "Identification number {number}",
        "Identifikationsnummer {number}",
        "Numéro d'identification {number}",
        "Numero di identificazione {number}",
    ),
    "p1_version": (
        "P1 interface version",
        "Version der P1-Schnittstelle",
        "Version de l'interface P1",
        "Versione dell'interfaccia P1",
    ),
    "list_version": (
        "List version",
        "Listenversion",
        "Version de la liste",
        "Versione della lista",
    ),
    "clock": ("Meter clock", "Zähleruhr", "Horloge du compteur", "Orologio del contatore"),
    "meter_time": ("Meter time", "Zählerzeit", "Heure du compteur", "Ora del contatore"),
    "meter_date": ("Meter date", "Zählerdatum", "Date du compteur", "Data del contatore"),
    "active_tariff": ("Active tariff", "Aktiver Tarif", "Tarif actif", "Tariffa attiva"),
    "disconnect_control": (
        "Disconnector state",
        "Zustand Trennschalter",
        "État du sectionneur",
        "Stato del sezionatore",
    ),
    "relay_state": (
        "Relay {channel} state",
        "Zustand Relais {channel}",
        "État du relais {channel}",
        "Stato del relè {channel}",
    ),
    "limiter_threshold": (
        "Limiter threshold",
        "Schwelle Leistungsbegrenzer",
        "Seuil du limiteur",
        "Soglia del limitatore",
    ),
    "consumer_message_text": (
        "Consumer message",
        "Kundennachricht",
        "Message au client",
        "Messaggio al cliente",
    ),
    "consumer_message_code": (
        "Consumer message code",
        "Code der Kundennachricht",
        "Code du message au client",
        "Codice del messaggio al cliente",
    ),
    "mbus_value": (
        "M-Bus channel {channel} value",
        "Wert M-Bus-Kanal {channel}",
        "Valeur M-Bus canal {channel}",
        "Valore M-Bus canale {channel}",
    ),
    "mbus_device_type": (
        "M-Bus channel {channel} device type",
        "Gerätetyp M-Bus-Kanal {channel}",
        "Type d'appareil M-Bus canal {channel}",
        "Tipo di dispositivo M-Bus canale {channel}",
    ),
    "mbus_serial": (
        "M-Bus channel {channel} serial number",
        "Seriennummer M-Bus-Kanal {channel}",
        "Numéro de série M-Bus canal {channel}",
        "Numero di serie M-Bus canale {channel}",
    ),
    "mbus_capture_time": (
        "M-Bus channel {channel} reading time",
        "Ablesezeit M-Bus-Kanal {channel}",
        "Heure de relevé M-Bus canal {channel}",
        "Ora di lettura M-Bus canale {channel}",
    ),
    # Energy registers
    "active_energy_import": (
        "Active energy import",
        "Wirkenergie Bezug",
        "Énergie active soutirée",
        "Energia attiva prelevata",
    ),
    "active_energy_import_tariff": (
        "Active energy import tariff {tariff}",
        "Wirkenergie Bezug Tarif {tariff}",
        "Énergie active soutirée tarif {tariff}",
        "Energia attiva prelevata tariffa {tariff}",
    ),
    "active_energy_export": (
        "Active energy export",
        "Wirkenergie Lieferung",
        "Énergie active injectée",
        "Energia attiva immessa",
    ),
    "active_energy_export_tariff": (
        "Active energy export tariff {tariff}",
        "Wirkenergie Lieferung Tarif {tariff}",
        "Énergie active injectée tarif {tariff}",
        "Energia attiva immessa tariffa {tariff}",
    ),
    "reactive_energy_import": (
        "Reactive energy import",
        "Blindenergie Bezug",
        "Énergie réactive soutirée",
        "Energia reattiva prelevata",
    ),
    "reactive_energy_import_tariff": (
        "Reactive energy import tariff {tariff}",
        "Blindenergie Bezug Tarif {tariff}",
        "Énergie réactive soutirée tarif {tariff}",
        "Energia reattiva prelevata tariffa {tariff}",
    ),
    "reactive_energy_export": (
        "Reactive energy export",
        "Blindenergie Lieferung",
        "Énergie réactive injectée",
        "Energia reattiva immessa",
    ),
    "reactive_energy_export_tariff": (
        "Reactive energy export tariff {tariff}",
        "Blindenergie Lieferung Tarif {tariff}",
        "Énergie réactive injectée tarif {tariff}",
        "Energia reattiva immessa tariffa {tariff}",
    ),
    "reactive_energy_quadrant": (
        "Reactive energy quadrant {quadrant}",
        "Blindenergie Quadrant {quadrant}",
        "Énergie réactive quadrant {quadrant}",
        "Energia reattiva quadrante {quadrant}",
    ),
    "reactive_energy_quadrant_tariff": (
        "Reactive energy quadrant {quadrant} tariff {tariff}",
        "Blindenergie Quadrant {quadrant} Tarif {tariff}",
        "Énergie réactive quadrant {quadrant} tarif {tariff}",
        "Energia reattiva quadrante {quadrant} tariffa {tariff}",
    ),
    "apparent_energy_import": (
        "Apparent energy import",
        "Scheinenergie Bezug",
        "Énergie apparente soutirée",
        "Energia apparente prelevata",
    ),
    "apparent_energy_import_tariff": (
        "Apparent energy import tariff {tariff}",
        "Scheinenergie Bezug Tarif {tariff}",
        "Énergie apparente soutirée tarif {tariff}",
        "Energia apparente prelevata tariffa {tariff}",
    ),
    "apparent_energy_export": (
        "Apparent energy export",
        "Scheinenergie Lieferung",
        "Énergie apparente injectée",
        "Energia apparente immessa",
    ),
    "apparent_energy_export_tariff": (
        "Apparent energy export tariff {tariff}",
        "Scheinenergie Lieferung Tarif {tariff}",
        "Énergie apparente injectée tarif {tariff}",
        "Energia apparente immessa tariffa {tariff}",
    ),
    "active_energy_absolute": (
        "Active energy absolute",
        "Wirkenergie absolut",
        "Énergie active absolue",
        "Energia attiva assoluta",
    ),
    "active_energy_absolute_tariff": (
        "Active energy absolute tariff {tariff}",
        "Wirkenergie absolut Tarif {tariff}",
        "Énergie active absolue tarif {tariff}",
        "Energia attiva assoluta tariffa {tariff}",
    ),
    # Instantaneous values
    "active_power_import": (
        "Active power import",
        "Wirkleistung Bezug",
        "Puissance active soutirée",
        "Potenza attiva prelevata",
    ),
    "active_power_export": (
        "Active power export",
        "Wirkleistung Lieferung",
        "Puissance active injectée",
        "Potenza attiva immessa",
    ),
    "reactive_power_import": (
        "Reactive power import",
        "Blindleistung Bezug",
        "Puissance réactive soutirée",
        "Potenza reattiva prelevata",
    ),
    "reactive_power_export": (
        "Reactive power export",
        "Blindleistung Lieferung",
        "Puissance réactive injectée",
        "Potenza reattiva immessa",
    ),
    "apparent_power_import": (
        "Apparent power import",
        "Scheinleistung Bezug",
        "Puissance apparente soutirée",
        "Potenza apparente prelevata",
    ),
    "apparent_power_export": (
        "Apparent power export",
        "Scheinleistung Lieferung",
        "Puissance apparente injectée",
        "Potenza apparente immessa",
    ),
    "active_power_import_phase": (
        "Active power import {phase}",
        "Wirkleistung Bezug {phase}",
        "Puissance active soutirée {phase}",
        "Potenza attiva prelevata {phase}",
    ),
    "active_power_export_phase": (
        "Active power export {phase}",
        "Wirkleistung Lieferung {phase}",
        "Puissance active injectée {phase}",
        "Potenza attiva immessa {phase}",
    ),
    "reactive_power_import_phase": (
        "Reactive power import {phase}",
        "Blindleistung Bezug {phase}",
        "Puissance réactive soutirée {phase}",
        "Potenza reattiva prelevata {phase}",
    ),
    "reactive_power_export_phase": (
        "Reactive power export {phase}",
        "Blindleistung Lieferung {phase}",
        "Puissance réactive injectée {phase}",
        "Potenza reattiva immessa {phase}",
    ),
    "apparent_power_import_phase": (
        "Apparent power import {phase}",
        "Scheinleistung Bezug {phase}",
        "Puissance apparente soutirée {phase}",
        "Potenza apparente prelevata {phase}",
    ),
    "apparent_power_export_phase": (
        "Apparent power export {phase}",
        "Scheinleistung Lieferung {phase}",
        "Puissance apparente injectée {phase}",
        "Potenza apparente immessa {phase}",
    ),
    "current_phase": ("Current {phase}", "Strom {phase}", "Courant {phase}", "Corrente {phase}"),
    "current_neutral": (
        "Current neutral",
        "Strom Neutralleiter",
        "Courant du neutre",
        "Corrente del neutro",
    ),
    "voltage_phase": ("Voltage {phase}", "Spannung {phase}", "Tension {phase}", "Tensione {phase}"),
    "power_factor": (
        "Power factor",
        "Leistungsfaktor",
        "Facteur de puissance",
        "Fattore di potenza",
    ),
    "power_factor_phase": (
        "Power factor {phase}",
        "Leistungsfaktor {phase}",
        "Facteur de puissance {phase}",
        "Fattore di potenza {phase}",
    ),
    "frequency": ("Grid frequency", "Netzfrequenz", "Fréquence du réseau", "Frequenza di rete"),
    "phase_angle": (
        "Phase angle {phase}",
        "Phasenwinkel {phase}",
        "Angle de phase {phase}",
        "Angolo di fase {phase}",
    ),
    "max_demand_import": (
        "Maximum demand import",
        "Leistungsmaximum Bezug",
        "Puissance maximale soutirée",
        "Potenza massima prelevata",
    ),
    "max_demand_import_tariff": (
        "Maximum demand import tariff {tariff}",
        "Leistungsmaximum Bezug Tarif {tariff}",
        "Puissance maximale soutirée tarif {tariff}",
        "Potenza massima prelevata tariffa {tariff}",
    ),
    "max_demand_export": (
        "Maximum demand export",
        "Leistungsmaximum Lieferung",
        "Puissance maximale injectée",
        "Potenza massima immessa",
    ),
    "max_demand_export_tariff": (
        "Maximum demand export tariff {tariff}",
        "Leistungsmaximum Lieferung Tarif {tariff}",
        "Puissance maximale injectée tarif {tariff}",
        "Potenza massima immessa tariffa {tariff}",
    ),
    "power_limit_threshold": (
        "Power limit threshold",
        "Leistungsschwelle",
        "Seuil de puissance",
        "Soglia di potenza",
    ),
    # Generic names for codes the catalogue does not know
    "generic_instantaneous": (
        "Instantaneous value {obis}",
        "Momentanwert {obis}",
        "Valeur instantanée {obis}",
        "Valore istantaneo {obis}",
    ),
    "generic_cumulative": (
        "Cumulative register {obis}",
        "Zählwerk {obis}",
        "Registre cumulé {obis}",
        "Registro cumulativo {obis}",
    ),
    "generic_maximum": (
        "Maximum value {obis}",
        "Maximalwert {obis}",
        "Valeur maximale {obis}",
        "Valore massimo {obis}",
    ),
    "generic_minimum": (
        "Minimum value {obis}",
        "Minimalwert {obis}",
        "Valeur minimale {obis}",
        "Valore minimo {obis}",
    ),
    "generic_average": (
        "Average value {obis}",
        "Mittelwert {obis}",
        "Valeur moyenne {obis}",
        "Valore medio {obis}",
    ),
    "generic_value": ("Value {obis}", "Wert {obis}", "Valeur {obis}", "Valore {obis}"),
}

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


def _render(key: str, holders: Mapping[str, str]) -> Mapping[str, str]:
    """Names of one code in every language (templates with their placeholders filled)."""
    return MappingProxyType(
        {lang: text.format(**holders) for lang, text in zip(LANGUAGES, _NAMES[key], strict=True)}
    )


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
        names=_render(key, holders),
        unit=unit,
        quantity=quantity,
        known=known,
    )


def translation_names(lang: str) -> dict[str, str]:
    """Map translation key -> name template (with {placeholders}) in one language."""
    try:
        index = LANGUAGES.index(lang)
    except ValueError:
        raise ValueError(f"unsupported language {lang!r}; one of {LANGUAGES}") from None
    return {key: texts[index] for key, texts in _NAMES.items()}
