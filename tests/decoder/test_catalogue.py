"""OBIS catalogue: coverage of the Swiss/SIL/Austrian lists, names, generic fallback."""

from __future__ import annotations

import json
from pathlib import Path
import re
import string
import subprocess
import sys

import pytest

from custom_components.swiss_meter_cii.decoder.catalogue import (
    ObisInfo,
    Quantity,
    describe,
)
from custom_components.swiss_meter_cii.decoder.catalogue_names import (
    LANGUAGES,
    names,
    translation_names,
)

Q = Quantity

# Swiss CII lists (Basisliste / Erweiterte Liste items named in docs/protocol.md,
# "Lists named by utilities").
SWISS = {
    "0-0:42.0.0.255": Q.IDENTIFIER,
    "0-0:96.1.0.255": Q.IDENTIFIER,
    "0-0:96.1.1.255": Q.IDENTIFIER,
    "0-0:1.0.0.255": Q.TIMESTAMP,
    **{f"1-1:{c}.8.{t}.255": Q.ACTIVE_ENERGY for c in (1, 2) for t in range(5)},
    **{f"1-1:{c}.8.{t}.255": Q.REACTIVE_ENERGY for c in (3, 4) for t in range(5)},
    **{f"1-1:{c}.8.0.255": Q.REACTIVE_ENERGY for c in (5, 6, 7, 8)},
    "1-0:1.7.0.255": Q.ACTIVE_POWER,
    "1-0:2.7.0.255": Q.ACTIVE_POWER,
    "1-0:3.7.0.255": Q.REACTIVE_POWER,
    "1-0:4.7.0.255": Q.REACTIVE_POWER,
    **{f"1-0:{c}.7.0.255": Q.ACTIVE_POWER for c in (21, 41, 61, 22, 42, 62)},
    **{f"1-0:{c}.7.0.255": Q.REACTIVE_POWER for c in (23, 43, 63, 24, 44, 64)},
    **{f"1-0:{c}.7.0.255": Q.CURRENT for c in (31, 51, 71, 91)},
    **{f"1-0:{c}.7.0.255": Q.VOLTAGE for c in (32, 52, 72)},
    **{f"1-0:{c}.7.0.255": Q.POWER_FACTOR for c in (13, 33, 53, 73)},
    "1-0:14.7.0.255": Q.FREQUENCY,
    "0-0:96.14.0.255": Q.TARIFF,
    "0-0:96.13.0.255": Q.MESSAGE,
    "0-0:96.13.1.255": Q.MESSAGE,
}
# SIL Lausanne items known from the meter documentation (the list itself is not public).
SIL = {
    "1-1:1.8.1.255": Q.ACTIVE_ENERGY,
    "1-1:1.8.2.255": Q.ACTIVE_ENERGY,
    "1-1:2.8.1.255": Q.ACTIVE_ENERGY,
    "1-1:2.8.2.255": Q.ACTIVE_ENERGY,
    "1-1:3.8.1.255": Q.REACTIVE_ENERGY,
    "1-1:4.8.2.255": Q.REACTIVE_ENERGY,
    "1-0:3.7.0.255": Q.REACTIVE_POWER,
    "1-0:4.7.0.255": Q.REACTIVE_POWER,
    "1-0:91.7.0.255": Q.CURRENT,
}
# Austrian adapter data format (Oesterreichs Energie, Annex D).
AUSTRIA = {
    **{f"1-0:{c}.8.{t}.255": Q.ACTIVE_ENERGY for c in (1, 2, 15) for t in range(5)},
    **{f"1-0:{c}.8.{t}.255": Q.REACTIVE_ENERGY for c in (3, 4) for t in range(5)},
    "1-0:1.6.0.255": Q.ACTIVE_POWER,
    "1-0:15.35.0.255": Q.ACTIVE_POWER,
    **{f"1-0:{c}.7.0.255": Q.POWER_FACTOR for c in (13, 33, 53, 73)},
    **{f"1-0:81.7.{e}.255": Q.ANGLE for e in (40, 51, 62)},
    "0-0:96.1.2.255": Q.IDENTIFIER,
    "0-0:0.9.1.255": Q.TEXT,
    "0-0:0.9.2.255": Q.TEXT,
    "1-3:0.2.8.255": Q.TEXT,
    "1-1:1.7.0.255": Q.ACTIVE_POWER,
    "1-1:3.8.1.255": Q.REACTIVE_ENERGY,
}


@pytest.mark.parametrize(
    ("obis", "quantity"), sorted({**SWISS, **SIL, **AUSTRIA}.items()), ids=lambda x: str(x)
)
def test_listed_codes_are_known(obis: str, quantity: Quantity) -> None:
    info = describe(obis)
    assert info.known
    assert info.quantity is quantity
    assert set(_names(info)) == set(LANGUAGES)
    assert all(name and "{" not in name for name in _names(info).values())


@pytest.mark.parametrize(
    ("obis", "en", "de", "fr", "it"),
    [
        (
            "1-0:1.8.0.255",
            "Active energy import",
            "Wirkenergie Bezug",
            "Énergie active soutirée",
            "Energia attiva prelevata",
        ),
        (
            "1-1:2.8.2.255",
            "Active energy export tariff 2",
            "Wirkenergie Lieferung Tarif 2",
            "Énergie active injectée tarif 2",
            "Energia attiva immessa tariffa 2",
        ),
        ("1-0:32.7.0.255", "Voltage L1", "Spannung L1", "Tension L1", "Tensione L1"),
        ("1-0:71.7.0.255", "Current L3", "Strom L3", "Courant L3", "Corrente L3"),
        (
            "1-0:13.7.0.255",
            "Power factor",
            "Leistungsfaktor",
            "Facteur de puissance",
            "Fattore di potenza",
        ),
        (
            "1-1:7.8.1.255",
            "Reactive energy quadrant III tariff 1",
            "Blindenergie Quadrant III Tarif 1",
            "Énergie réactive quadrant III tarif 1",
            "Energia reattiva quadrante III tariffa 1",
        ),
        (
            "1-0:41.7.0.255",
            "Active power import L2",
            "Wirkleistung Bezug L2",
            "Puissance active soutirée L2",
            "Potenza attiva prelevata L2",
        ),
        (
            "1-0:81.7.51.255",
            "Phase angle L2",
            "Phasenwinkel L2",
            "Angle de phase L2",
            "Angolo di fase L2",
        ),
        (
            "0-0:96.1.1.255",
            "Device ID 2",
            "Geräte-ID 2",
            "Identifiant d'appareil 2",
            "ID dispositivo 2",
        ),
        (
            "0-2:24.2.1.255",
            "M-Bus channel 2 value",
            "Wert M-Bus-Kanal 2",
            "Valeur M-Bus canal 2",
            "Valore M-Bus canale 2",
        ),
    ],
)
def test_names_read_naturally(obis: str, en: str, de: str, fr: str, it: str) -> None:
    assert _names(describe(obis)) == {"en": en, "de": de, "fr": fr, "it": it}


def test_units_and_placeholders() -> None:
    energy = describe("1-1:1.8.1.255")
    assert energy.translation_key == "active_energy_import_tariff"
    assert dict(energy.placeholders) == {"tariff": "1"}
    assert energy.unit == "Wh"
    assert describe("1-0:3.8.0.255").unit == "varh"
    assert describe("1-0:9.8.0.255").unit == "VAh"
    assert describe("1-0:4.7.0.255").unit == "var"
    assert describe("1-0:14.7.0.255").unit == "Hz"
    assert describe("1-0:81.7.62.255").unit == "°"
    assert describe("1-0:13.7.0.255").unit is None
    assert describe("0-0:42.0.0.255").unit is None
    voltage = describe("1-0:52.7.0.255")
    assert voltage.translation_key == "voltage_phase"
    assert dict(voltage.placeholders) == {"phase": "L2"}


def test_channel_and_billing_field_are_ignored() -> None:
    base = describe("1-0:1.8.0.255")
    for other in ("1-1:1.8.0.255", "1-2:1.8.0.255", "1-0:1.8.0.101", "1-0:1.8.0"):
        info = describe(other)
        assert info.translation_key == base.translation_key
        assert _names(info) == _names(base)
        assert info.unit == base.unit


def test_generic_names_from_value_group_d() -> None:
    info = describe("1-0:99.7.0.255")
    assert not info.known
    assert info.translation_key == "generic_instantaneous"
    assert _names(info)["en"] == "Instantaneous value 1-0:99.7.0"
    assert _names(info)["de"] == "Momentanwert 1-0:99.7.0"
    cumulative = describe("1-0:21.8.0.255")  # L1 import energy: not in the lists
    assert cumulative.translation_key == "generic_cumulative"
    assert cumulative.quantity is Quantity.ACTIVE_ENERGY
    assert cumulative.unit == "Wh"
    maximum = describe("1-0:32.6.0.255")
    assert maximum.translation_key == "generic_maximum"
    assert maximum.quantity is Quantity.VOLTAGE
    average = describe("1-0:1.4.0.255")
    assert average.translation_key == "generic_average"
    assert average.unit == "W"
    assert describe("1-0:3.5.0.255").quantity is Quantity.REACTIVE_POWER
    other = describe("0-0:96.50.0.101")
    assert other.translation_key == "generic_value"
    assert _names(other)["fr"] == "Valeur 0-0:96.50.0.101"
    assert other.quantity is Quantity.OTHER
    assert describe("1-0:130.7.0.255").translation_key == "generic_instantaneous"
    assert describe("1-0:130.7.0.255").quantity is Quantity.OTHER
    assert describe("1-0:96.50.0.255").translation_key == "generic_value"
    assert describe("7-0:3.0.0.255").quantity is Quantity.OTHER


@pytest.mark.parametrize(
    "bad", ["", "1.8.0", "1-0:1.8", "1-0:1.8.0.255.1", "a-b:c.d.e", "1-0:256.8.0"]
)
def test_malformed_codes_raise(bad: str) -> None:
    with pytest.raises(ValueError, match="OBIS"):
        describe(bad)


_KEY = re.compile(r"^[a-z0-9_]+$")


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_translation_tables_are_consistent() -> None:
    tables = {lang: translation_names(lang) for lang in LANGUAGES}
    keys = set(tables["en"])
    assert 30 <= len(keys) <= 80  # placeholders keep the key count small
    for lang, table in tables.items():
        assert set(table) == keys, lang
        for key, template in table.items():
            assert _KEY.match(key)
            assert _fields(template) == _fields(tables["en"][key]), (lang, key)
    assert tables["de"]["active_energy_import"] == "Wirkenergie Bezug"
    with pytest.raises(ValueError, match="language"):
        translation_names("es")


SAMPLES = [
    *SWISS,
    *SIL,
    *AUSTRIA,
    "1-0:99.7.0.255",
    "1-0:21.8.0.255",
    "0-0:96.50.0.255",
    "1-1:0.2.129.255",
    "1-1:0.0.5.255",
    "0-1:24.2.1.255",
    "1-0:2.6.3.255",
    "1-0:9.7.0.255",
    "1-0:30.7.0.255",
]


@pytest.mark.parametrize("obis", SAMPLES)
def test_placeholders_fill_the_translation_template(obis: str) -> None:
    info: ObisInfo = describe(obis)
    for lang in LANGUAGES:
        template = translation_names(lang)[info.translation_key]
        assert _fields(template) == set(info.placeholders)
        assert template.format(**info.placeholders) == _names(info)[lang]


def test_every_key_is_reachable() -> None:
    reached = {describe(obis).translation_key for obis in SAMPLES}
    reached |= {
        describe(obis).translation_key
        for obis in (
            "1-0:10.8.0.255",
            "1-0:9.8.1.255",
            "1-0:10.8.2.255",
            "1-0:10.7.0.255",
            "1-0:29.7.0.255",
            "1-0:1.6.1.255",
            "1-0:2.6.0.255",
            "1-0:32.3.0.255",
            "1-0:64.7.0.255",
            "1-0:5.8.0.255",
            "0-0:1.0.0.255",
            "1-0:15.8.0.255",
            "1-0:15.8.1.255",
            "1-0:1.4.0.255",
            "1-0:32.6.0.255",
            "1-1:7.8.1.255",
            "1-0:9.8.0.255",
            "0-0:96.3.10.255",
            "0-2:96.3.10.255",
            "0-0:17.0.0.255",
            "0-1:24.1.0.255",
            "0-1:96.1.0.255",
            "0-1:24.2.1.255/5",
        )
    }
    assert reached == set(translation_names("en"))


SCRIPT = Path(__file__).parents[2] / "scripts" / "sync_translations"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_sync_translations_round_trip(tmp_path: Path) -> None:
    other = {
        "config": {"step": {"user": {"title": "Keep me"}}},
        "entity": {"sensor": {"net_power": {"name": "Net power"}}, "binary_sensor": {"x": {}}},
    }
    (tmp_path / "translations").mkdir()
    (tmp_path / "strings.json").write_text(json.dumps(other), encoding="utf-8")
    (tmp_path / "translations" / "de.json").write_text(json.dumps(other), encoding="utf-8")

    check = _run("--root", str(tmp_path), "--check")
    assert check.returncode == 1
    assert "out of sync" in check.stdout

    assert _run("--root", str(tmp_path)).returncode == 0
    assert _run("--root", str(tmp_path), "--check").returncode == 0

    strings = json.loads((tmp_path / "strings.json").read_text(encoding="utf-8"))
    assert strings["config"] == other["config"]
    assert strings["entity"]["sensor"]["net_power"] == {"name": "Net power"}
    assert strings["entity"]["binary_sensor"] == {"x": {}}
    assert strings["entity"]["sensor"]["voltage_phase"] == {"name": "Voltage {phase}"}
    german = json.loads((tmp_path / "translations" / "de.json").read_text(encoding="utf-8"))
    assert german["entity"]["sensor"]["active_energy_import"] == {"name": "Wirkenergie Bezug"}
    assert german["config"] == other["config"]
    created = json.loads((tmp_path / "translations" / "it.json").read_text(encoding="utf-8"))
    assert set(created) == {"entity"}
    assert created["entity"]["sensor"]["power_factor"] == {"name": "Fattore di potenza"}

    # A name edited by hand is reported and restored; nothing else changes.
    german["entity"]["sensor"]["voltage_phase"]["name"] = "Spannung"
    (tmp_path / "translations" / "de.json").write_text(json.dumps(german), encoding="utf-8")
    assert "voltage_phase" in _run("--root", str(tmp_path), "--check").stdout
    assert _run("--root", str(tmp_path)).returncode == 0
    fixed = json.loads((tmp_path / "translations" / "de.json").read_text(encoding="utf-8"))
    assert fixed["entity"]["sensor"]["voltage_phase"] == {"name": "Spannung {phase}"}


def _names(info: ObisInfo) -> dict[str, str]:
    """A code's name in every language (rendered from the data that feeds the translations)."""
    return names(info.translation_key, info.placeholders)


def test_names_are_not_imported_at_run_time() -> None:
    """Home Assistant reads the names from translations/*.json; decoding never loads them."""
    code = (
        "import sys; import custom_components.swiss_meter_cii.decoder as d;"
        "d.decode_capture(b'');"
        "print(sorted(m for m in sys.modules if m.endswith('catalogue_names')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=SCRIPT.parents[1],
    )
    assert result.stdout.strip() == "[]"
