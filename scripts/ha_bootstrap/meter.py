"""The simulated meter: what a newcomer types into the wizard, and the sensors it gives."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
import sys
import time
from typing import Any, Final

from custom_components.swiss_meter_cii.decoder.obis import is_key

from .client import FlowAnswers, HaClient
from .config import REPO

# Energy registers for the grid source, in the integration's OBIS key form (A-B:C.D.E.F).
# Swiss CIP lists use channel B=1 (E450: 1-1:1.8.0), others B=0; the first one present wins.
OBIS_IMPORT: Final = ("1-1:1.8.0.255", "1-0:1.8.0.255")
OBIS_EXPORT: Final = ("1-1:2.8.0.255", "1-0:2.8.0.255")


@dataclass(frozen=True, slots=True)
class MeterSetup:
    """What the newcomer would type into the wizard for the simulated meter."""

    port: str  # socket://127.0.0.1:N
    model: str
    encryption_key: str
    authentication_key: str

    def answers(self) -> FlowAnswers:
        """Answers per wizard step: network connection, then the meter, then confirm."""
        return FlowAnswers(
            {
                "user": "network",
                "network": {"port": self.port, "serial_format": "auto"},
                "meter": {
                    "model": self.model,
                    "encryption_key": self.encryption_key,
                    "authentication_key": self.authentication_key,
                },
                "confirm": {},
            }
        )


def simulator_meter_setup(port_url: str, profile: str = "e450") -> MeterSetup:
    """Wizard answers for scripts/simulate_meter with its documented demo keys."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY
    from simulator.profiles import PROFILES

    return MeterSetup(
        port=port_url,
        model=PROFILES[profile].model,
        encryption_key=DEFAULT_KEY.hex().upper(),
        authentication_key=DEFAULT_AUTH_KEY.hex().upper(),
    )


def obis_of_unique_id(unique_id: str) -> str | None:
    """OBIS key of a meter value sensor (unique id '<meter number>_<A-B:C.D.E.F>')."""
    key = unique_id.rpartition("_")[2]
    return key if is_key(key) else None


def grid_flows(prefs: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """(import, export) statistic ids of the saved grid sources, in either shape."""
    imports: list[str] = []
    exports: list[str] = []
    for source in prefs.get("energy_sources", []):
        if source.get("type") != "grid":
            continue
        if "flow_from" in source:  # before 2026
            imports += [flow["stat_energy_from"] for flow in source["flow_from"]]
            exports += [flow["stat_energy_to"] for flow in source["flow_to"]]
            continue
        if source.get("stat_energy_from"):
            imports.append(source["stat_energy_from"])
        if source.get("stat_energy_to"):
            exports.append(source["stat_energy_to"])
    return imports, exports


def grid_sensors(entities: Mapping[str, str]) -> tuple[list[str], list[str]]:
    """(import, export) entity ids for the Energy dashboard's grid source."""
    imports = [entities[code] for code in OBIS_IMPORT if code in entities][:1]
    exports = [entities[code] for code in OBIS_EXPORT if code in entities][:1]
    return imports, exports


def submeter_sensors(
    entities: Mapping[str, str], states: Mapping[str, Mapping[str, Any]]
) -> tuple[list[str], list[str]]:
    """(gas, water) entity ids of the sub-meter readings (0-n:24.2.1), by device class."""
    found: dict[str, list[str]] = {"gas": [], "water": []}
    for code, entity_id in sorted(entities.items()):
        if code.startswith("0-") and code.endswith(":24.2.1.255"):
            state = states.get(entity_id) or {}
            kind = state.get("attributes", {}).get("device_class")
            if kind in found:
                found[kind].append(entity_id)
    return found["gas"], found["water"]


def ensure_entry(
    client: HaClient, meter: MeterSetup, *, timeout: float = 90.0, log: Callable[[str], None]
) -> tuple[dict[str, Any], bool]:
    """Reuse the integration's entry if there is one, else create it through the wizard.

    Returns (entry, created).
    """
    existing = client.entries()
    if existing:
        entry = existing[0]
        if entry.get("state") not in ("loaded", "setup_in_progress", "setup_retry"):
            log(f"note: the existing entry is {entry.get('state')!r}; see the log for why")
        return entry, False
    shown: list[tuple[str, str]] = []

    def on_step(kind: str, step: str) -> None:
        if not shown or shown[-1] != (kind, step):  # progress is polled: say it once
            shown.append((kind, step))
            log(f"develop: wizard {kind} {step}".rstrip())

    result = client.run_config_flow(meter.answers(), timeout=timeout, on_step=on_step)
    entry = dict(result.get("result") or {})
    if not entry:
        entry = client.entries()[0]
    return entry, True


def obis_entities(client: HaClient, entry_id: str) -> dict[str, str]:
    """OBIS key -> entity_id of the entry's enabled value sensors (entity registry)."""
    mapping: dict[str, str] = {}
    for entity in client.entity_registry(entry_id):
        code = obis_of_unique_id(str(entity.get("unique_id", "")))
        enabled = entity.get("disabled_by") is None
        if code and enabled and str(entity.get("entity_id", "")).startswith("sensor."):
            mapping[code] = str(entity["entity_id"])
    return mapping


def wait_for_values(
    client: HaClient, entity_ids: Sequence[str], timeout: float
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Wait until every entity has a state other than unknown/unavailable.

    Returns the states and the entity ids still without a value when the time is up.
    """
    deadline = time.monotonic() + timeout
    wanted = set(entity_ids)
    while True:
        states = {s["entity_id"]: s for s in client.states() if s["entity_id"] in wanted}
        pending = sorted(
            eid
            for eid in wanted
            if eid not in states or states[eid]["state"] in ("unknown", "unavailable")
        )
        if not pending or time.monotonic() > deadline:
            return states, pending
        time.sleep(0.5)
