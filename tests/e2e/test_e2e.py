"""End to end: simulated E450 with gas and water meters -> real `hass` -> wizard -> sensors.

Unit and integration tests run Home Assistant inside pytest with mocks around it; this test is
what a user does: a separate `hass` process with its own configuration folder, onboarding and
the setup wizard over the REST API against scripts/simulate_meter on loopback (home.py). The
values Home Assistant shows are compared with the pushes of an in-process twin of the
simulator; the gas and water meters the E450 relays must be devices of their own that the
Energy dashboard accepts. Marked `e2e`; it runs in the normal suite.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal
import json
import math
from pathlib import Path
import re
import time
from typing import Any

import pytest

from scripts.ha_bootstrap.client import HaClient
from scripts.ha_bootstrap.errors import BootstrapError
from scripts.ha_bootstrap.meter import (
    grid_flows,
    grid_sensors,
    obis_of_unique_id,
    simulator_meter_setup,
)
from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY
from simulator.profiles import Value

from .home import INTERVAL, Home, Twin, integration_problems, refused_commands, running_home

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

STANDARD_LIST = 28  # values of the Swiss CIP list the E450 pushes
SUBMETER_VALUES = 8  # per channel: device type, serial, reading, reading time
GAS, WATER = "0-1:24.2.1.255", "0-2:24.2.1.255"

# HA unit -> (simulator unit, factor): the integration suggests kWh/kvarh for energy registers.
UNIT_FACTORS: dict[str | None, tuple[str | None, Decimal]] = {
    "Wh": ("Wh", Decimal(1)),
    "kWh": ("Wh", Decimal(1000)),
    "varh": ("varh", Decimal(1)),
    "kvarh": ("varh", Decimal(1000)),
    "W": ("W", Decimal(1)),
    "var": ("var", Decimal(1)),
    "V": ("V", Decimal(1)),
    "A": ("A", Decimal(1)),
    "m³": ("m³", Decimal(1)),
    None: (None, Decimal(1)),
}
# Simulator unit -> (device classes, state class, HA units) a correct sensor has. Reactive
# energy has no device class before HA 2025.6 (never `energy`); power factor has no unit.
KINDS: dict[str | None, tuple[set[str | None], str, set[str | None]]] = {
    "Wh": ({"energy"}, "total_increasing", {"Wh", "kWh"}),
    "varh": ({None, "reactive_energy"}, "total_increasing", {"varh", "kvarh"}),
    "W": ({"power"}, "measurement", {"W"}),
    "var": ({"reactive_power"}, "measurement", {"var"}),
    "V": ({"voltage"}, "measurement", {"V"}),
    "A": ({"current"}, "measurement", {"A"}),
    None: ({"power_factor", None}, "measurement", {None}),
}
# The sub-meter readings: the device class follows the medium the meter relays.
SUBMETER_CLASSES = {GAS: "gas", WATER: "water"}
# Issues the Energy dashboard may raise right after start: statistics are compiled every
# 5 minutes, so none exist yet for a sensor that is seconds old.
EXPECTED_ENERGY_ISSUES = {"statistics_not_defined"}


def _as_decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except ArithmeticError:
        return None


def _state_matches(state: Mapping[str, Any], expected: tuple[Value, str | None]) -> bool:
    """Whether one HA state shows the value the simulator pushed (unit-aware, float-exact)."""
    value, unit = expected
    shown = str(state["state"])
    if isinstance(value, datetime):
        try:
            return datetime.fromisoformat(shown) == value  # the meter clock, aware
        except ValueError:
            return False
    if isinstance(value, str):
        return shown == value or (value == "" and shown == "unknown")
    number = _as_decimal(shown)
    ha_unit = state["attributes"].get("unit_of_measurement")
    if number is None or ha_unit not in UNIT_FACTORS:
        return False
    sim_unit, factor = UNIT_FACTORS[ha_unit]
    if sim_unit != unit:
        return False
    return math.isclose(float(number * factor), float(value), rel_tol=1e-9, abs_tol=1e-6)


def _matching_push(
    states: Mapping[str, Mapping[str, Any]], twin: Twin
) -> tuple[int | None, list[str]]:
    """Index of the push all states show, or None and the mismatches of the closest push."""
    best: list[str] | None = None
    for index, values in enumerate(twin.pushes):
        wrong = [
            f"{obis}: HA {st['state']} {st['attributes'].get('unit_of_measurement')},"
            f" simulator {values.get(obis)}"
            for obis, st in states.items()
            if obis not in values or not _state_matches(st, values[obis])
        ]
        if not wrong:
            return index, []
        if best is None or len(wrong) < len(best):
            best = wrong
    return None, best or []


def _key_spellings(key: bytes) -> list[str]:
    """Ways a 16-byte key could leak into text (hex in any case/separator is checked apart)."""
    return [
        base64.b64encode(key).decode(),
        base64.urlsafe_b64encode(key).decode(),
        base64.b64encode(key).decode().rstrip("="),
        repr(key),
        str(list(key)),
    ]


def _walk(node: Any) -> Iterator[Any]:
    """Every key, value and list inside a JSON structure."""
    yield node
    if isinstance(node, Mapping):
        for k, v in node.items():
            yield k
            yield from _walk(v)
    elif isinstance(node, list):
        for item in node:
            yield from _walk(item)


def _assert_no_key(document: Any, keys: Mapping[str, bytes]) -> None:
    """No key in any spelling: hex (any case, any separators), base64, bytes repr, int lists."""
    text = json.dumps(document)
    hex_stream = re.sub(r"[^0-9a-f]", "", text.lower())
    strings = [s for s in _walk(document) if isinstance(s, str)]
    for name, key in keys.items():
        assert key.hex() not in hex_stream, f"{name} appears as hex in the diagnostics"
        for spelling in _key_spellings(key):
            assert spelling not in text, f"{name} appears as {spelling!r} in the diagnostics"
            assert not any(spelling in s for s in strings), f"{name} appears as {spelling!r}"
        assert list(key) not in [n for n in _walk(document) if isinstance(n, list)], (
            f"{name} appears as a list of byte values in the diagnostics"
        )


def _wait_for_sensors(
    client: HaClient, entry_id: str, wanted: set[str], timeout: float
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Registry entries and states by OBIS once every wanted code is registered and valued."""
    deadline = time.monotonic() + timeout
    while True:
        registry = {
            code: entity
            for entity in client.entity_registry(entry_id)
            if entity["entity_id"].startswith("sensor.")
            and (code := obis_of_unique_id(str(entity.get("unique_id", ""))))
        }
        by_id = {s["entity_id"]: s for s in client.states()}
        states = {
            code: by_id[entity["entity_id"]]
            for code, entity in registry.items()
            if entity.get("disabled_by") is None and entity["entity_id"] in by_id
        }
        enabled = {c for c in wanted if c in registry and registry[c].get("disabled_by") is None}
        valued = {c for c in enabled if c in states and states[c]["state"] not in ("unavailable",)}
        if wanted <= set(registry) and valued == enabled:
            return registry, states
        if time.monotonic() > deadline:
            raise AssertionError(
                f"after {timeout:g} s: not registered {sorted(wanted - set(registry))},"
                f" without value {sorted(enabled - valued)}"
            )
        time.sleep(0.5)


def test_simulated_e450_end_to_end(socket_enabled: None, tmp_path: Path) -> None:
    """Onboard, add the meter through the wizard, check sensors, devices, diagnostics, Energy."""
    with running_home(tmp_path) as home:
        client = home.client
        onboarding = client.request("GET", "/api/onboarding", auth=False)
        assert all(step["done"] for step in onboarding), onboarding
        steps = home.wizard_steps
        assert [s for _, s in steps][:3] == ["user", "network", "meter"], steps
        assert any(kind == "progress" for kind, _ in steps), f"no live check: {steps}"
        assert home.twin.meter_number in home.entry["title"], home.entry["title"]
        assert len(client.entries()) == 1

        wanted = set(home.twin.pushes[0])
        assert len(wanted) == STANDARD_LIST + SUBMETER_VALUES
        registry, states = _wait_for_sensors(client, home.entry_id, wanted, timeout=30)
        _check_sensors(registry, states, home.twin)
        _check_values_follow_the_simulator(client, registry, home.twin)
        _check_submeter_devices(client, home, registry)
        _check_diagnostics(client, home.entry_id)
        _check_energy_dashboard(client, registry)
        assert not integration_problems(home.config_dir)
        # The Energy preferences are saved in the shape this release takes (scripts/develop
        # does the same): a first try in the other shape would leave an ERROR line.
        assert not refused_commands(home.config_dir)
        # A second wizard run for the same meter must not create a duplicate entry.
        port = _port_of(home)
        with pytest.raises(BootstrapError, match="already_configured|port_in_use"):
            client.run_config_flow(simulator_meter_setup(port, "e450").answers(), timeout=60)
        assert len(client.entries()) == 1
        assert time.monotonic() - home.started < 120, "end-to-end run took unusually long"


def _port_of(home: Home) -> str:
    """The socket:// URL the entry reads (diagnostics redact keys, not the port)."""
    return str(home.client.diagnostics(home.entry_id)["data"]["entry"]["data"]["port"])


def _check_sensors(
    registry: Mapping[str, Mapping[str, Any]],
    states: Mapping[str, Mapping[str, Any]],
    twin: Twin,
) -> None:
    """Every standard-list value is a sensor with the right device/state class and unit."""
    for obis, (value, unit) in twin.pushes[0].items():
        entity = registry[obis]
        assert entity["disabled_by"] is None, entity
        if isinstance(value, datetime):
            # The meter clock: a diagnostic timestamp sensor.
            assert entity["entity_category"] == "diagnostic", entity
            assert states[obis]["attributes"]["device_class"] == "timestamp", states[obis]
            continue
        attrs = states[obis]["attributes"]
        where = f"{obis} ({entity['entity_id']}): {attrs}"
        if isinstance(value, str) or entity["entity_category"] == "diagnostic":
            # Texts, and identifiers such as a sub-meter's device type: no statistics.
            assert "state_class" not in attrs, where
            assert "unit_of_measurement" not in attrs, where
            continue
        if obis in SUBMETER_CLASSES:
            assert attrs.get("device_class") == SUBMETER_CLASSES[obis], where
            assert attrs.get("state_class") == "total_increasing", where
            assert attrs.get("unit_of_measurement") == "m³", where
            continue
        device_classes, state_class, units = KINDS[unit]
        assert attrs.get("device_class") in device_classes, where
        assert attrs.get("state_class") == state_class, where
        assert attrs.get("unit_of_measurement") in units, where
        if unit == "Wh":
            assert entity["entity_id"].startswith("sensor."), where


def _check_values_follow_the_simulator(
    client: HaClient, registry: Mapping[str, Mapping[str, Any]], twin: Twin
) -> None:
    """All values of one /api/states snapshot equal one push of the twin, and they move on."""
    enabled = {o: e["entity_id"] for o, e in registry.items() if e["disabled_by"] is None}
    seen: list[int] = []
    problems: list[str] = []
    deadline = time.monotonic() + 15
    while len(set(seen)) < 2 and time.monotonic() < deadline:
        by_id = {s["entity_id"]: s for s in client.states()}
        snapshot = {o: by_id[eid] for o, eid in enabled.items() if o in twin.pushes[0]}
        index, problems = _matching_push(snapshot, twin)
        if index is not None:
            seen.append(index)
        time.sleep(INTERVAL / 2)
    assert seen, "no snapshot matches any simulator push:\n" + "\n".join(problems)
    assert len(set(seen)) >= 2, f"the values did not follow new pushes (pushes seen: {seen})"


def _check_diagnostics(client: HaClient, entry_id: str) -> None:
    """The download has the entry and live data but neither key in any spelling."""
    diagnostics = client.diagnostics(entry_id)
    data = diagnostics["data"]
    entry_data = data["entry"]["data"]
    assert entry_data["encryption_key"] == "**REDACTED**", entry_data
    assert entry_data["authentication_key"] == "**REDACTED**", entry_data
    _assert_no_key(diagnostics, {"encryption key": DEFAULT_KEY, "GAK": DEFAULT_AUTH_KEY})


def _check_submeter_devices(
    client: HaClient, home: Home, registry: Mapping[str, Mapping[str, Any]]
) -> None:
    """The meter and its gas and water meters: three devices, the two linked to the first."""
    (devices,) = client.ws({"type": "config/device_registry/list"})
    ours = {d["id"]: d for d in devices if home.entry_id in d.get("config_entries", [])}
    assert len(ours) == 3, [d["name"] for d in ours.values()]
    meter = next(d for d in ours.values() if d["via_device_id"] is None)
    assert home.twin.meter_number in meter["name"], meter
    for obis, medium in ((GAS, "Gas"), (WATER, "Water")):
        device = ours[registry[obis]["device_id"]]
        assert device["via_device_id"] == meter["id"], device
        assert device["name"] == f"{medium} meter", device
        assert device["serial_number"] == home.twin.pushes[0][obis.replace("24.2.1", "96.1.0")][0]


def _check_energy_dashboard(client: HaClient, registry: Mapping[str, Mapping[str, Any]]) -> None:
    """The grid source (1-1:1.8.0 / 2.8.0), gas and water sources pass the dashboard's checks."""
    entities = {o: str(e["entity_id"]) for o, e in registry.items() if e["disabled_by"] is None}
    imports, exports = grid_sensors(entities)
    assert imports == [entities["1-1:1.8.0.255"]]
    assert exports == [entities["1-1:2.8.0.255"]]
    gas, water = entities[GAS], entities[WATER]
    client.save_energy_prefs(imports, exports, gas=[gas], water=[water])
    prefs = client.energy_prefs()
    assert prefs is not None
    assert grid_flows(prefs) == (imports, exports), prefs
    saved = {s["type"]: s.get("stat_energy_from") for s in prefs["energy_sources"]}
    assert saved["gas"] == gas, prefs
    assert saved["water"] == water, prefs
    validation = client.validate_energy()
    everything = {*imports, *exports, gas, water}
    for issues in validation["energy_sources"]:
        unexpected = [i for i in issues if i["type"] not in EXPECTED_ENERGY_ISSUES]
        assert not unexpected, f"Energy dashboard issues: {unexpected}"
        for issue in issues:  # statistics_not_defined may only be about our sensors
            affected = {entity for entity, _detail in issue["affected_entities"]}
            assert affected <= everything, issue
    assert not any(validation["device_consumption"]), validation
