"""scripts/develop: Home Assistant with the integration talking to a simulated E450."""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
import contextlib
import json
import shutil
import signal
import sys
import time
from types import FrameType
from typing import Any, Final

from .client import HaClient
from .config import INTEGRATION_DIR, REPO, HaConfig, missing_requirements, prepare_config_dir
from .errors import BootstrapError
from .meter import (
    MeterSetup,
    ensure_entry,
    grid_sensors,
    obis_entities,
    simulator_meter_setup,
    submeter_sensors,
    wait_for_values,
)
from .processes import Managed, hass_process, port_in_use, simulator_process, start_simulator

RESTART_EXIT_CODE: Final = 100  # `homeassistant.restart` exits with this and expects a relaunch
# The development owner. Not a secret: it only exists in the git-ignored ./config of a
# Home Assistant bound to 127.0.0.1.
DEV_USERNAME: Final = "dev"
DEV_PASSWORD: Final = "dev-password"
DEV_PROFILE: Final = "e450_gas_water"
DEV_PROFILES: Final = ("e450_gas_water", "e450", "e360", "am550", "kaifa_ma309m")
# scripts/develop

DEV_HTTP_PORT: Final = 8123
DEV_METER_PORT: Final = 3001  # the simulator's default, also the README's ser2net example
DEV_CONFIG_DIR: Final = REPO / "config"


def _say(message: str = "") -> None:
    print(message, flush=True)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    """Turn a signal into KeyboardInterrupt, which stops Home Assistant and the simulator."""
    raise KeyboardInterrupt


def develop(argv: Sequence[str] | None = None) -> int:
    """scripts/develop: Home Assistant with the integration talking to a simulated E450."""
    parser = argparse.ArgumentParser(
        prog="scripts/develop",
        description="Run Home Assistant on 127.0.0.1 with the integration set up against a"
        " simulated Landis+Gyr E450 (encrypted pushes over TCP, like ser2net). Ctrl-C stops both."
        " A second run reuses ./config (owner, entry, history).",
    )
    parser.add_argument("--fresh", action="store_true", help="delete ./config first")
    parser.add_argument(
        "--port", type=int, default=DEV_HTTP_PORT, help=f"Home Assistant port ({DEV_HTTP_PORT})"
    )
    parser.add_argument(
        "--meter-port",
        type=int,
        default=DEV_METER_PORT,
        help=f"TCP port of the simulated meter ({DEV_METER_PORT})",
    )
    parser.add_argument(
        "--interval", type=float, default=None, help="seconds between pushes (simulator: 5)"
    )
    parser.add_argument(
        "--profile",
        default=DEV_PROFILE,
        choices=DEV_PROFILES,
        help=f"the simulated meter ({DEV_PROFILE}: an E450 with a gas and a water meter on"
        " its M-Bus)",
    )
    args = parser.parse_args(argv)
    # Ctrl-C, kill and a closed terminal all leave through the same clean-up path (set
    # explicitly: a shell may start us with SIGINT ignored, e.g. as a background job).
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupt)
    started = time.monotonic()
    config_dir = DEV_CONFIG_DIR
    rel_config = config_dir.relative_to(REPO)
    base_url = f"http://127.0.0.1:{args.port}"

    if args.fresh and config_dir.exists():
        _say(f"develop: --fresh: deleting ./{rel_config}")
        shutil.rmtree(config_dir)
    if missing := missing_requirements():
        _say(f"develop: not installed in .venv: {', '.join(missing)}; run scripts/setup")
        return 1
    for port, option in ((args.port, "--port"), (args.meter_port, "--meter-port")):
        if port_in_use(port):
            _say(
                f"develop: 127.0.0.1:{port} is already in use (another scripts/develop?);"
                f" stop that or choose another port with {option}"
            )
            return 1
    first_run = not (config_dir / ".storage" / "onboarding").exists()
    try:
        prepare_config_dir(config_dir, HaConfig(http_port=args.port))
    except (BootstrapError, OSError) as err:
        _say(f"develop: {err}")
        return 1

    # The meter keeps its registers and frame counter across runs (never lower, never a
    # replayed counter), as a real meter does while Home Assistant restarts.
    sim = simulator_process(
        args.meter_port,
        config_dir / "simulator.log",
        interval=args.interval,
        profile=args.profile,
        extra_args=("--state", str(config_dir / "simulator-state.json")),
    )
    hass = hass_process(config_dir, config_dir / "hass-console.log")
    client = HaClient(base_url)
    code = 0
    try:
        url = start_simulator(sim)
        meter = simulator_meter_setup(url, args.profile)
        _say(f"develop: simulated meter ({args.profile}) pushing on {url}")
        folder = "new" if first_run else "existing"
        _say(f"develop: starting Home Assistant ({folder} ./{rel_config})")
        hass.start()
        client.wait_until_up(hass, 180)
        if client.onboard(DEV_USERNAME, DEV_PASSWORD):
            _say(f"develop: onboarding done, owner {DEV_USERNAME!r} created")
        client.wait_until_running(180)
        if client.confirm_http_config():
            _say("develop: confirmed the HTTP settings of configuration.yaml (HA 2026+ asks)")
        if removed := client.remove_failed_onboarding_entries(settle=3.0 if first_run else 0):
            _say(f"develop: removed onboarding entries that need the internet: {removed}")
        entry, created = ensure_entry(client, meter, log=_say)
        entry_id = str(entry["entry_id"])
        _say(f"develop: {'created' if created else 'reusing'} entry {entry.get('title')!r}")
        stored_port = _stored_port(client, entry_id)
        if stored_port and stored_port != meter.port:
            _say(f"develop: note: the entry reads {stored_port}, the simulator is on {meter.port}")
        entities = _wait_for_entities(client, entry_id, 60)
        states, pending = wait_for_values(client, list(entities.values()), 60)
        if pending:
            # Typically energy registers after a restart of develop: the simulator starts its
            # registers afresh, lower than what Home Assistant showed, and the integration's
            # energy guard holds them back (never publishes a drop) until they resync.
            _say(f"develop: note: still no value after 60 s: {', '.join(pending)}")
            _say(f"develop: see ./{rel_config}/home-assistant.log (energy_guard: held back)")
        energy_note = _ensure_energy_prefs(client, entities, states)
        dashboard = client.ensure_dashboard()
        _say(f"develop: dashboard with the live net power and every value: {base_url}{dashboard}")
        _summary(base_url, meter, entities, states, energy_note, time.monotonic() - started)
        code = _supervise(hass, sim, client)
    except KeyboardInterrupt:
        _say("\ndevelop: stopping Home Assistant and the simulator ...")
    except (BootstrapError, OSError) as err:
        _say(f"develop: {err}")
        _say(f"develop: logs: ./{rel_config}/home-assistant.log, ./{rel_config}/simulator.log")
        code = 1
    finally:
        # A second Ctrl-C while stopping kills instead of waiting (see Managed.stop).
        hass.stop(timeout=30)
        sim.stop(timeout=10)
    _say("develop: stopped")
    return code


def _stored_port(client: HaClient, entry_id: str) -> str | None:
    """Return the port the entry reads (diagnostics redact the keys, not the port)."""
    with contextlib.suppress(BootstrapError, KeyError, TypeError):
        return str(client.diagnostics(entry_id)["data"]["entry"]["data"]["port"])
    return None


def _wait_for_entities(client: HaClient, entry_id: str, timeout: float) -> dict[str, str]:
    """OBIS -> entity_id once the entry's sensors are registered (after the first push)."""
    deadline = time.monotonic() + timeout
    while True:
        entities = obis_entities(client, entry_id)
        if grid_sensors(entities)[0]:
            return entities
        if time.monotonic() > deadline:
            raise BootstrapError(f"the entry has no energy import sensor after {timeout:g} s")
        time.sleep(0.5)


def _ensure_energy_prefs(
    client: HaClient, entities: Mapping[str, str], states: Mapping[str, Mapping[str, Any]]
) -> str:
    """Set grid, gas and water sources once; later runs keep what the developer changed."""
    prefs = client.energy_prefs()
    if prefs and prefs.get("energy_sources"):
        return "kept the existing preferences"
    imports, exports = grid_sensors(entities)
    gas, water = submeter_sensors(entities, states)
    client.save_energy_prefs(imports, exports, gas=gas, water=water)
    note = f"grid import {', '.join(imports)}, export {', '.join(exports) or '-'}"
    return note + "".join(
        f", {kind} {', '.join(ids)}" for kind, ids in (("gas", gas), ("water", water)) if ids
    )


def _summary(
    base_url: str,
    meter: MeterSetup,
    entities: Mapping[str, str],
    states: Mapping[str, Mapping[str, Any]],
    energy_note: str,
    elapsed: float,
) -> None:
    """Print what the newcomer needs: where, the login, the wizard answers by hand."""
    imports, exports = grid_sensors(entities)
    examples = [*imports, *exports]
    examples += [eid for code, eid in entities.items() if code.startswith(("1-0:1.7.", "1-0:32."))]
    rel = DEV_CONFIG_DIR.relative_to(REPO)
    live = sum(1 for st in states.values() if st["state"] not in ("unknown", "unavailable"))
    lines = [
        "",
        f"  Home Assistant   {base_url}   (ready in {elapsed:.0f} s)",
        f"  login            {DEV_USERNAME} / {DEV_PASSWORD}",
        f"  sensors          {live} of {len(entities)} meter values live, e.g.",
        *(
            f"                     {eid} = {states[eid]['state']}"
            f" {states[eid]['attributes'].get('unit_of_measurement') or ''}"
            for eid in examples
            if eid in states
        ),
        f"  Energy dashboard {energy_note}",
        "  to add the meter by hand: Settings > Devices & services > Add integration >",
        "  Swiss Meter CII, then answer:",
        *(f"                     {line}" for line in wizard_by_hand(meter)),
        f"  logs             ./{rel}/home-assistant.log, ./{rel}/simulator.log",
        "  Ctrl-C stops Home Assistant and the simulator.",
        "",
    ]
    _say("\n".join(lines))


def wizard_by_hand(meter: MeterSetup) -> list[str]:
    """Spell out the wizard answers with the UI's labels (from translations/en.json)."""
    try:
        en = json.loads((INTEGRATION_DIR / "translations" / "en.json").read_text("utf-8"))
    except (OSError, ValueError):
        en = {}

    def label(*path: str, default: str) -> str:
        node: Any = en
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        return node if isinstance(node, str) else default

    steps = ("config", "step")
    field = (*steps, "meter", "data")
    return [
        label(*steps, "user", "title", default="Connection")
        + " "
        + label(*steps, "user", "menu_options", "network", default="Network"),
        f"{label(*steps, 'network', 'data', 'port', default='port')}: {meter.port}",
        label(*steps, "network", "data", "serial_format", default="serial_format")
        + ": "
        + label("selector", "serial_format", "options", "auto", default="auto"),
        f"{label(*field, 'model', default='model')}: "
        f"{label('selector', 'model', 'options', meter.model, default=meter.model)}",
        f"{label(*field, 'encryption_key', default='encryption_key')}: {meter.encryption_key}"
        "  (simulator demo key)",
        f"{label(*field, 'authentication_key', default='authentication_key')}:"
        f" {meter.authentication_key}  (simulator demo key)",
        "then wait for the live check (two pushes) and submit.",
    ]


def _supervise(hass: Managed, sim: Managed, client: HaClient) -> int:
    """Keep both running; relaunch Home Assistant when it restarts itself (UI: Restart)."""
    while True:
        time.sleep(1)
        if (code := hass.poll()) is not None:
            if code != RESTART_EXIT_CODE:
                _say(f"develop: Home Assistant exited with {code}:\n{hass.tail(10)}")
                return code
            _say("develop: Home Assistant restarts itself, starting it again")
            hass.stop()
            hass.start()
            client.wait_until_up(hass, 180)
        if (code := sim.poll()) is not None:
            _say(f"develop: the simulator exited with {code}, starting it again:\n{sim.tail(5)}")
            sim.stop()
            start_simulator(sim)


def main() -> int:
    """Entry point of scripts/develop (after scripts/setup)."""
    return develop(sys.argv[1:])
