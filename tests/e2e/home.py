"""A real Home Assistant with the integration and a simulated meter, for the end-to-end tests.

Each test module starts its own: a `hass` process with its own configuration folder,
scripts/simulate_meter on loopback, onboarding and the setup wizard over the REST API (the
same bootstrap scripts/develop uses: scripts/ha_bootstrap/), and, when asked, a mosquitto
broker. The simulator is deterministic for a seed and start time, so `Twin` regenerates its
pushes in-process for comparison.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
import shutil
import time
from typing import Any, Final

from scripts.ha_bootstrap.client import HaClient
from scripts.ha_bootstrap.config import DOMAIN, HaConfig, missing_requirements, prepare_config_dir
from scripts.ha_bootstrap.meter import simulator_meter_setup
from scripts.ha_bootstrap.processes import (
    Managed,
    free_port,
    hass_process,
    simulator_process,
    start_simulator,
)
from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator
from simulator.profiles import Expected

PROFILE: Final = "e450_gas_water"  # the E450's standard list plus a gas and a water meter
SEED: Final = 11
INTERVAL: Final = 1.0  # seconds between pushes, real and simulated
TWIN_PUSHES: Final = 400  # pushes of the in-process twin to compare against (covers 400 s)
USERNAME: Final = "e2e"
PASSWORD: Final = "e2e-password"


class Twin:
    """The simulator's pushes, regenerated in-process from the same profile, seed and start."""

    def __init__(self, start: datetime, profile: str = PROFILE) -> None:
        sim = MeterSimulator(
            profile, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=SEED, start=start
        )
        self.meter_number = sim.meter_number
        self.pushes: list[Expected] = []
        for _ in range(TWIN_PUSHES):
            sim.next_push(elapsed=INTERVAL)
            self.pushes.append(dict(sim.last_values))


@dataclass
class Home:
    """What a test gets: a logged-in client, the entry, the twin and the processes."""

    client: HaClient
    base_url: str
    entry: dict[str, Any]
    twin: Twin
    config_dir: Path
    hass: Managed
    sim: Managed
    wizard_steps: list[tuple[str, str]]
    mqtt_port: int | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def entry_id(self) -> str:
        """The integration's config entry."""
        return str(self.entry["entry_id"])


def mosquitto_path() -> str | None:
    """Debian's MQTT broker (root's PATH has /usr/sbin, a user's may not)."""
    return shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/sbin")


def _mosquitto(tmp_path: Path) -> tuple[Managed, int]:
    """A broker on 127.0.0.1 only, anonymous, nothing persisted."""
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n")
    binary = mosquitto_path()
    assert binary, "mosquitto is missing: run scripts/setup --test-tools"
    return Managed("mosquitto", [binary, "-c", str(conf)], tmp_path / "mosquitto.log"), port


def tail(path: Path, lines: int = 60) -> str:
    """The end of a log file, for failure output."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def running_home(
    tmp_path: Path, *, profile: str = PROFILE, mqtt: bool = False, language: str = "en"
) -> Iterator[Home]:
    """Start broker (optional), simulator and hass; onboard; add the meter with the wizard."""
    assert not missing_requirements(), "run scripts/setup: hass runs with --skip-pip"
    start = datetime.now(UTC).replace(microsecond=0)
    twin = Twin(start, profile)
    config_dir = tmp_path / "config"
    ha_port = free_port()
    base_url = f"http://127.0.0.1:{ha_port}"
    prepare_config_dir(
        config_dir,
        HaConfig(
            http_port=ha_port,
            name="e2e",
            log_default="warning",
            log_levels={f"custom_components.{DOMAIN}": "debug"},
        ),
    )
    broker: Managed | None = None
    mqtt_port: int | None = None
    if mqtt:
        broker, mqtt_port = _mosquitto(tmp_path)
    sim = simulator_process(
        0,
        tmp_path / "simulator.log",
        interval=INTERVAL,
        profile=profile,
        extra_args=["--seed", str(SEED), "--start", start.isoformat()],
    )
    hass = hass_process(config_dir, tmp_path / "hass-console.log")
    client = HaClient(base_url)
    try:
        if broker is not None:
            broker.start()
        url = start_simulator(sim)
        hass.start()
        client.wait_until_up(hass, 90)
        assert client.onboard(USERNAME, PASSWORD, language=language), "a new owner expected"
        client.wait_until_running(60)
        client.confirm_http_config()
        steps: list[tuple[str, str]] = []
        result = client.run_config_flow(
            simulator_meter_setup(url, profile).answers(),
            timeout=60,
            on_step=lambda kind, step: steps.append((kind, step)),
        )
        home = Home(
            client=client,
            base_url=base_url,
            entry=dict(result["result"]),
            twin=twin,
            config_dir=config_dir,
            hass=hass,
            sim=sim,
            wizard_steps=steps,
            mqtt_port=mqtt_port,
        )
        yield home
    except BaseException:
        print(f"--- home-assistant.log (tail)\n{tail(config_dir / 'home-assistant.log')}")
        print(f"--- simulator\n{sim.tail(10)}")
        raise
    finally:
        hass.stop(timeout=30)
        sim.stop(timeout=10)
        if broker is not None:
            broker.stop(timeout=10)
    assert hass.poll() is not None
    assert sim.poll() is not None


# The one warning every custom integration gets from the loader.
LOADER_NOTICE: Final = f"We found a custom integration {DOMAIN} which has not been tested"


def integration_problems(config_dir: Path) -> list[str]:
    """Error lines, and warnings naming the integration (deprecations, blocking calls)."""
    return [
        line
        for line in log_lines(config_dir)
        if any(level in line for level in (" ERROR ", " CRITICAL ", " WARNING "))
        and DOMAIN in line
        and LOADER_NOTICE not in line
    ]


def refused_commands(config_dir: Path) -> list[str]:
    """Error lines of websocket commands Home Assistant refused (the test's own set-up calls)."""
    return [
        line for line in log_lines(config_dir) if " ERROR " in line and "handling message" in line
    ]


def log_lines(config_dir: Path) -> list[str]:
    """Lines of Home Assistant's log in `config_dir`."""
    log = (config_dir / "home-assistant.log").read_text(encoding="utf-8", errors="replace")
    return log.splitlines()
