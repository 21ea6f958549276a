"""The catalogue's names in en/de/fr/it: data for scripts/sync_translations and the tests.

catalogue.py decides a code's translation key and placeholders; this table names every key
in the four languages. Home Assistant reads the names from translations/*.json, which
scripts/sync_translations writes from here, so the integration never imports this module at
run time. German follows Swiss/Austrian utility usage (Bezug/Lieferung); French and Italian
follow the Swiss utilities' wording (soutirée/injectée, prelevata/immessa).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

LANGUAGES: Final = ("en", "de", "fr", "it")

# translation key -> name template per language (en, de, fr, it).
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


def translation_names(lang: str) -> dict[str, str]:
    """Map translation key -> name template (with {placeholders}) in one language."""
    try:
        index = LANGUAGES.index(lang)
    except ValueError:
        raise ValueError(f"unsupported language {lang!r}; one of {LANGUAGES}") from None
    return {key: texts[index] for key, texts in _NAMES.items()}


def names(translation_key: str, placeholders: Mapping[str, str]) -> dict[str, str]:
    """Return a code's name in every language, placeholders filled (what the user sees)."""
    texts = zip(LANGUAGES, _NAMES[translation_key], strict=True)
    return {lang: text.format(**placeholders) for lang, text in texts}
