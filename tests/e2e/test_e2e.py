"""End to end: simulated E450 -> real `hass` process -> REST wizard -> sensors -> Energy dashboard.

Unit and integration tests run Home Assistant inside pytest with mocks around it; this test is
what a user does: a separate `hass` process with its own configuration folder, onboarding and
the setup wizard over the REST API against scripts/simulate_meter on loopback. The simulator is
deterministic for a seed and start time, so the values Home Assistant shows are compared with
the pushes an in-process twin of the simulator produces. The bootstrap is the same module
scripts/develop uses (scripts/_ha_bootstrap.py). Marked `e2e`; it runs in the normal suite.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from decimal import Decimal
import json
import math
from pathlib import Path
import re
import time
from typing import Any

import pytest

from scripts._ha_bootstrap import (
    DOMAIN,
    BootstrapError,
    HaClient,
    HaConfig,
    free_port,
    grid_flows,
    grid_sensors,
    hass_process,
    missing_requirements,
    obis_of_unique_id,
    prepare_config_dir,
    simulator_meter_setup,
    simulator_process,
    start_simulator,
)
from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator
from simulator.profiles import Expected, Value

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

PROFILE = "e450"
SEED = 11
INTERVAL = 1.0  # seconds between pushes, real and simulated
TWIN_PUSHES = 400  # pushes of the in-process twin to compare against (covers 400 s)
STANDARD_LIST = 28  # values of the Swiss CIP list the E450 pushes
USERNAME = "e2e"
PASSWORD = "e2e-password"

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
    None: ({"power_factor"}, "measurement", {None}),
}
# Issues the Energy dashboard may raise right after start: statistics are compiled every
# 5 minutes, so none exist yet for a sensor that is seconds old.
EXPECTED_ENERGY_ISSUES = {"statistics_not_defined"}


class Twin:
    """The simulator's pushes, regenerated in-process from the same profile, seed and start."""

    def __init__(self, start: datetime) -> None:
        sim = MeterSimulator(
            PROFILE, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=SEED, start=start
        )
        self.meter_number = sim.meter_number
        self.pushes: list[Expected] = []
        for _ in range(TWIN_PUSHES):
            sim.next_push(elapsed=INTERVAL)
            self.pushes.append(dict(sim.last_values))


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
    """Onboard, add the meter through the wizard, check sensors, diagnostics and Energy."""
    assert not missing_requirements(), "run scripts/setup: hass runs with --skip-pip"
    start = datetime.now(UTC).replace(microsecond=0)
    twin = Twin(start)
    config_dir = tmp_path / "config"
    ha_port = free_port()
    prepare_config_dir(
        config_dir,
        HaConfig(
            http_port=ha_port,
            name="e2e",
            log_default="warning",
            log_levels={f"custom_components.{DOMAIN}": "debug"},
        ),
    )
    sim = simulator_process(
        0,
        tmp_path / "simulator.log",
        interval=INTERVAL,
        profile=PROFILE,
        extra_args=["--seed", str(SEED), "--start", start.isoformat()],
    )
    hass = hass_process(config_dir, tmp_path / "hass-console.log")
    client = HaClient(f"http://127.0.0.1:{ha_port}")
    began = time.monotonic()
    try:
        url = start_simulator(sim)
        hass.start()
        client.wait_until_up(hass, 90)
        assert client.onboard(USERNAME, PASSWORD), "a fresh config folder must create the owner"
        client.wait_until_running(60)
        onboarding = client.request("GET", "/api/onboarding", auth=False)
        assert all(step["done"] for step in onboarding), onboarding

        meter = simulator_meter_setup(url, PROFILE)
        steps: list[tuple[str, str]] = []
        result = client.run_config_flow(
            meter.answers(), timeout=60, on_step=lambda kind, step: steps.append((kind, step))
        )
        assert [s for _, s in steps][:3] == ["user", "network", "meter"], steps
        assert any(kind == "progress" for kind, _ in steps), f"no live check: {steps}"
        entry = result["result"]
        entry_id = entry["entry_id"]
        assert twin.meter_number in entry["title"], entry["title"]
        assert len(client.entries()) == 1

        wanted = set(twin.pushes[0])
        assert len(wanted) == STANDARD_LIST
        registry, states = _wait_for_sensors(client, entry_id, wanted, timeout=30)
        _check_sensors(registry, states, twin)
        _check_values_follow_the_simulator(client, entry_id, registry, twin)
        _check_diagnostics(client, entry_id)
        _check_energy_dashboard(client, registry)
        _check_no_integration_errors(config_dir)
        # A second wizard run for the same meter must not create a duplicate entry.
        with pytest.raises(BootstrapError, match="already_configured|port_in_use"):
            client.run_config_flow(meter.answers(), timeout=60)
        assert len(client.entries()) == 1
        assert time.monotonic() - began < 120, "end-to-end run took unusually long"
    except BaseException:
        print(f"--- home-assistant.log (tail)\n{_tail(config_dir / 'home-assistant.log')}")
        print(f"--- simulator\n{sim.tail(10)}")
        raise
    finally:
        hass.stop(timeout=30)
        sim.stop(timeout=10)
    assert hass.poll() is not None
    assert sim.poll() is not None


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
        if isinstance(value, str):
            assert "state_class" not in attrs, where
            assert "unit_of_measurement" not in attrs, where
            continue
        device_classes, state_class, units = KINDS[unit]
        assert attrs.get("device_class") in device_classes, where
        assert attrs.get("state_class") == state_class, where
        assert attrs.get("unit_of_measurement") in units, where
        if unit == "Wh":
            assert entity["entity_id"].startswith("sensor."), where


def _check_values_follow_the_simulator(
    client: HaClient, entry_id: str, registry: Mapping[str, Mapping[str, Any]], twin: Twin
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


def _check_energy_dashboard(client: HaClient, registry: Mapping[str, Mapping[str, Any]]) -> None:
    """Import 1-1:1.8.0 and export 1-1:2.8.0 as the grid source pass the dashboard's checks."""
    entities = {o: str(e["entity_id"]) for o, e in registry.items() if e["disabled_by"] is None}
    imports, exports = grid_sensors(entities)
    assert imports == [entities["1-1:1.8.0.255"]]
    assert exports == [entities["1-1:2.8.0.255"]]
    client.save_grid_prefs(imports, exports)
    prefs = client.energy_prefs()
    assert prefs is not None
    assert grid_flows(prefs) == (imports, exports), prefs
    validation = client.validate_energy()
    (issues,) = validation["energy_sources"]
    unexpected = [i for i in issues if i["type"] not in EXPECTED_ENERGY_ISSUES]
    assert not unexpected, f"Energy dashboard issues: {unexpected}"
    for issue in issues:  # statistics_not_defined may only be about our two sensors
        affected = {entity for entity, _detail in issue["affected_entities"]}
        assert affected <= {*imports, *exports}, issue
    assert not any(validation["device_consumption"]), validation


# The one warning every custom integration gets from the loader.
_LOADER_NOTICE = f"We found a custom integration {DOMAIN} which has not been tested"


def _check_no_integration_errors(config_dir: Path) -> None:
    """No error, and no warning naming the integration (deprecations, blocking calls)."""
    log = (config_dir / "home-assistant.log").read_text(encoding="utf-8", errors="replace")
    bad = [
        line
        for line in log.splitlines()
        if any(level in line for level in (" ERROR ", " CRITICAL ", " WARNING "))
        and DOMAIN in line
        and _LOADER_NOTICE not in line
    ]
    assert not bad, "\n".join(bad)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
