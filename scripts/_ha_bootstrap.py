"""Drive a real Home Assistant for scripts/develop and the end-to-end test.

Both need the same steps (a configuration folder, a simulated meter, a `hass` process,
onboarding, the setup wizard over REST, Energy preferences over the websocket). Keeping them in
one module means the newcomer's environment is exactly what tests/e2e checks.

Nothing here imports Home Assistant: REST goes through urllib, the websocket through aiohttp
(a Home Assistant dependency, so always in the venv). Run as a program it is scripts/develop.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Mapping, Sequence
import contextlib
import ctypes
from dataclasses import dataclass, field
from http import HTTPStatus
from importlib import metadata
from itertools import zip_longest
import json
import os
from pathlib import Path
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from types import FrameType
from typing import IO, Any, Final
import urllib.error
from urllib.parse import urlencode
import urllib.request

import aiohttp

REPO: Final = Path(__file__).resolve().parents[1]
DOMAIN: Final = "swiss_meter_cii"
INTEGRATION_DIR: Final = REPO / "custom_components" / DOMAIN
SIMULATOR_SCRIPT: Final = REPO / "scripts" / "simulate_meter"
RESTART_EXIT_CODE: Final = 100  # `homeassistant.restart` exits with this and expects a relaunch

# The development owner. Not a secret: it only exists in the git-ignored ./config of a
# Home Assistant bound to 127.0.0.1.
DEV_USERNAME: Final = "dev"
DEV_PASSWORD: Final = "dev-password"

# Energy registers for the grid source, in the integration's OBIS key form (A-B:C.D.E.F).
# Swiss CIP lists use channel B=1 (E450: 1-1:1.8.0), others B=0; the first one present wins.
OBIS_IMPORT: Final = ("1-1:1.8.0.255", "1-0:1.8.0.255")
OBIS_EXPORT: Final = ("1-1:2.8.0.255", "1-0:2.8.0.255")
_OBIS_KEY = re.compile(r"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}")


class BootstrapError(RuntimeError):
    """A step of the bootstrap failed; the message says which and why."""


class HttpError(BootstrapError):
    """Home Assistant answered a REST call with an error status."""

    def __init__(self, method: str, path: str, status: int, detail: str) -> None:
        super().__init__(f"{method} {path}: HTTP {status} {detail}")
        self.status = status


# --------------------------------------------------------------------------------------------
# Configuration folder


@dataclass(frozen=True, slots=True)
class HaConfig:
    """What goes into configuration.yaml; everything else Home Assistant stores itself."""

    http_port: int = 8123
    name: str = "Swiss Meter CII (development)"
    log_default: str = "warning"
    log_levels: Mapping[str, str] = field(
        default_factory=lambda: {f"custom_components.{DOMAIN}": "info"}
    )

    def yaml(self) -> str:
        """Minimal offline configuration: no default_config (it pulls extra packages)."""
        logs = "".join(f"    {name}: {level}\n" for name, level in self.log_levels.items())
        # Latitude/longitude stop Home Assistant from asking the internet where it is.
        return (
            "# Written by scripts/_ha_bootstrap.py (scripts/develop, tests/e2e): an offline\n"
            "# Home Assistant on loopback with only what the integration and the Energy\n"
            "# dashboard need. Edit freely; it is only written when missing.\n"
            "homeassistant:\n"
            f"  name: {json.dumps(self.name)}\n"
            "  time_zone: Europe/Zurich\n"
            "  country: CH\n"
            "  unit_system: metric\n"
            "  currency: CHF\n"
            "  latitude: 47.3769\n"
            "  longitude: 8.5417\n"
            "  elevation: 408\n"
            "http:\n"
            "  server_host: 127.0.0.1\n"
            f"  server_port: {self.http_port}\n"
            "api:\n"
            "config:\n"
            "onboarding:\n"
            "frontend:\n"
            "logger:\n"
            f"  default: {self.log_default}\n"
            + (f"  logs:\n{logs}" if logs else "")
            + "recorder:\n"
            "history:\n"
            "energy:\n"
        )


def prepare_config_dir(config_dir: Path, config: HaConfig) -> None:
    """Create the folder, configuration.yaml (only when missing) and the integration link."""
    config_dir.mkdir(parents=True, exist_ok=True)
    yaml_file = config_dir / "configuration.yaml"
    if not yaml_file.exists():
        yaml_file.write_text(config.yaml(), encoding="utf-8")
    else:  # kept as the developer left it, but it must serve on the port we will call
        found = re.search(r"^\s*server_port:\s*(\d+)", yaml_file.read_text(encoding="utf-8"), re.M)
        port = int(found.group(1)) if found else 8123
        if port != config.http_port:
            raise BootstrapError(
                f"{yaml_file} serves on port {port}, not {config.http_port}:"
                " edit server_port there or start over with --fresh"
            )
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / DOMAIN
    if link.is_symlink() and link.resolve() == INTEGRATION_DIR.resolve():
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        raise BootstrapError(f"{link} is a folder, not a link to {INTEGRATION_DIR}")
    link.symlink_to(INTEGRATION_DIR, target_is_directory=True)


def missing_requirements() -> list[str]:
    """Manifest requirements not satisfied in this venv (we start hass with --skip-pip).

    `--skip-pip` keeps Home Assistant offline: onboarding would otherwise pip-install the
    packages of met, radio_browser and google_translate. So our own requirements must already
    be installed, which scripts/setup does.
    """
    from packaging.requirements import Requirement

    manifest = json.loads((INTEGRATION_DIR / "manifest.json").read_text(encoding="utf-8"))
    missing = []
    for line in manifest.get("requirements", []):
        req = Requirement(line)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            missing.append(line)
            continue
        if not req.specifier.contains(version, prereleases=True):
            missing.append(f"{line} (installed {version})")
    return missing


# --------------------------------------------------------------------------------------------
# Processes


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """Child side of fork: get SIGTERM when the parent dies, so no orphan survives a kill -9."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass(slots=True)
class Managed:
    """A child process with its log file."""

    name: str
    argv: list[str]
    log_path: Path
    cwd: Path = REPO
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _log_start: int = 0  # where this run's output begins in the (appended) log

    def start(self) -> None:
        """Start in its own session: Ctrl-C reaches only us, and we stop children in order."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def poll(self) -> int | None:
        """Exit code, or None while running (or never started)."""
        return self.proc.poll() if self.proc else None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; a second Ctrl-C while waiting kills at once."""
        proc = self.proc
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        except KeyboardInterrupt:
            proc.kill()
            proc.wait(5)
        finally:
            if self._log:
                self._log.close()
                self._log = None
        return proc.returncode

    def output(self) -> str:
        """Return what this run has written so far."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def wait_for_output(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Wait for a line of this run's output to match; fail fast if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if match := pattern.search(self.output()):
                return match
            if (code := self.poll()) is not None:
                raise BootstrapError(f"{self.name} exited with {code}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise BootstrapError(f"{self.name} printed no {pattern.pattern!r} in {timeout:g} s")
            time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        """Last lines of the log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def simulator_process(
    port: int,
    log_path: Path,
    *,
    interval: float | None = None,
    profile: str = "e450",
    extra_args: Sequence[str] = (),
) -> Managed:
    """scripts/simulate_meter serving the profile on 127.0.0.1:port (0: any), demo keys."""
    argv = [sys.executable, str(SIMULATOR_SCRIPT), "--profile", profile, "--port", str(port)]
    if interval is not None:
        argv += ["--interval", f"{interval:g}"]
    return Managed("meter simulator", [*argv, *extra_args], log_path)


def hass_process(config_dir: Path, log_path: Path) -> Managed:
    """`hass -c config_dir --skip-pip` from this venv (see missing_requirements)."""
    hass = Path(sys.executable).with_name("hass")
    argv = [str(hass)] if hass.exists() else [sys.executable, "-m", "homeassistant"]
    argv += ["-c", str(config_dir), "--skip-pip"]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the repo's packages must come from config/custom_components
    return Managed("Home Assistant", argv, log_path, env=env)


# --------------------------------------------------------------------------------------------
# REST and websocket client


@dataclass(slots=True)
class FlowAnswers:
    """Answers to the setup wizard, by step id: a menu choice (str) or form data (dict)."""

    steps: dict[str, str | dict[str, Any]]

    def for_step(self, step_id: str, kind: str) -> str | dict[str, Any]:
        """Return the answer for one step, or fail naming the unexpected step."""
        try:
            return self.steps[step_id]
        except KeyError:
            raise BootstrapError(
                f"the wizard showed {kind} step {step_id!r}, which the bootstrap has no answer"
                f" for (known: {', '.join(self.steps)})"
            ) from None


class HaClient:
    """A small synchronous client for Home Assistant's REST API plus one-shot websocket calls."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = f"{self.base_url}/"  # what the frontend uses: any URL on the same host
        self._token: str | None = None
        # Loopback only: never let an http_proxy from the environment see these calls.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    # -- plumbing --------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        form: Mapping[str, str] | None = None,
        auth: bool = True,
        timeout: float = 30.0,
    ) -> Any:
        """One REST call; JSON in, JSON out. Errors carry the status and Home Assistant's text."""
        headers: dict[str, str] = {}
        data: bytes | None = None
        if form is not None:
            data = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if auth:
            if self._token is None:
                raise BootstrapError("not logged in")
            headers["Authorization"] = f"Bearer {self._token}"
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with self._opener.open(req, timeout=timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as err:
            detail = err.read()[:500].decode("utf-8", errors="replace")
            raise HttpError(method, path, err.code, detail) from None
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return raw.decode("utf-8", errors="replace")

    def wait_until_up(self, proc: Managed, timeout: float) -> None:
        """Wait until the HTTP server answers (it starts before the integrations finish)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (code := proc.poll()) is not None:
                raise BootstrapError(f"Home Assistant exited with {code}:\n{proc.tail()}")
            try:
                self.request("GET", "/api/onboarding", auth=False, timeout=2)
            except HttpError:
                return  # answering at all is enough (404: onboarding finished long ago)
            except OSError:
                time.sleep(0.3)
                continue
            return
        raise BootstrapError(f"Home Assistant did not answer within {timeout:g} s")

    def wait_until_running(self, timeout: float) -> None:
        """Wait until the core state is RUNNING: config entries have been set up by then."""
        deadline = time.monotonic() + timeout
        state = "?"
        while time.monotonic() < deadline:
            state = str(self.request("GET", "/api/config").get("state"))
            if state == "RUNNING":
                return
            time.sleep(0.3)
        raise BootstrapError(f"Home Assistant is still {state} after {timeout:g} s")

    # -- onboarding and login --------------------------------------------------------------

    def _token_from_code(self, code: str) -> None:
        tokens = self.request(
            "POST",
            "/auth/token",
            form={"grant_type": "authorization_code", "code": code, "client_id": self.client_id},
            auth=False,
        )
        self._token = str(tokens["access_token"])

    def login(self, username: str, password: str) -> None:
        """Log in through the same login flow the UI uses."""
        flow = self.request(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": f"{self.client_id}?auth_callback=1",
            },
            auth=False,
        )
        result = self.request(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {"username": username, "password": password, "client_id": self.client_id},
            auth=False,
        )
        if result.get("type") != "create_entry":
            raise BootstrapError(
                f"login as {username!r} refused ({result.get('errors') or result.get('reason')});"
                " this config folder has another owner: use --fresh to start over"
            )
        self._token_from_code(str(result["result"]))

    def onboard(self, username: str, password: str, name: str = "Developer") -> bool:
        """Finish every onboarding step that is still open, then be logged in as the owner.

        Returns True when this call created the owner (first start).
        """
        try:
            status = self.request("GET", "/api/onboarding", auth=False)
        except HttpError as err:
            if err.status != HTTPStatus.NOT_FOUND:
                raise
            status = []  # Home Assistant only serves onboarding until it is complete
        steps = {s["step"]: s["done"] for s in status}
        created = False
        if not steps.get("user", True):
            result = self.request(
                "POST",
                "/api/onboarding/users",
                {
                    "client_id": self.client_id,
                    "name": name,
                    "username": username,
                    "password": password,
                    "language": "en",
                },
                auth=False,
            )
            self._token_from_code(str(result["auth_code"]))
            created = True
        else:
            self.login(username, password)
        if not steps.get("core_config", True):
            self.request("POST", "/api/onboarding/core_config", {})
        if not steps.get("analytics", True):
            self.request("POST", "/api/onboarding/analytics", {})
        if not steps.get("integration", True):
            self.request(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": f"{self.client_id}?auth_callback=1"},
            )
        return created

    def remove_failed_onboarding_entries(self, settle: float = 3.0) -> list[str]:
        """Delete entries onboarding added that cannot load offline (e.g. google_translate).

        Finishing core_config starts flows for met, radio_browser, google_translate and
        shopping_list. Offline with --skip-pip the first three have no package; a failed entry
        would greet the newcomer in red. Entries that loaded (shopping_list) stay.
        """
        deadline = time.monotonic() + settle
        removed: list[str] = []
        while True:
            for entry in self.request("GET", "/api/config/config_entries/entry"):
                if entry.get("source") == "onboarding" and entry.get("state") in (
                    "setup_error",
                    "setup_retry",
                    "not_loaded",
                ):
                    self.request("DELETE", f"/api/config/config_entries/entry/{entry['entry_id']}")
                    removed.append(str(entry["domain"]))
            if time.monotonic() >= deadline:
                return removed
            time.sleep(0.5)

    # -- config entries and the wizard -----------------------------------------------------

    def entries(self, domain: str = DOMAIN) -> list[dict[str, Any]]:
        """Config entries of one integration."""
        result = self.request("GET", f"/api/config/config_entries/entry?domain={domain}")
        return [e for e in result if e.get("domain") == domain]

    def run_config_flow(
        self,
        answers: FlowAnswers,
        *,
        handler: str = DOMAIN,
        timeout: float = 90.0,
        on_step: Callable[[str, str], None] | None = None,
    ) -> dict[str, Any]:
        """Walk the setup wizard like the UI does and return the create_entry result.

        Menus get a next_step_id, forms their data, progress steps are polled (a GET runs the
        step again, which moves on once the live check is done). A form that comes back with
        errors, an abort or the deadline raise BootstrapError with Home Assistant's reason.
        """
        deadline = time.monotonic() + timeout
        result = self.request(
            "POST",
            "/api/config/config_entries/flow",
            {"handler": handler, "show_advanced_options": False},
        )
        flow_id = str(result["flow_id"])
        path = f"/api/config/config_entries/flow/{flow_id}"
        submitted: str | None = None
        try:
            while True:
                kind = str(result["type"])
                step = str(result.get("step_id", ""))
                if on_step:
                    on_step(kind, step)
                if kind == "create_entry":
                    return dict(result)
                if kind == "abort":
                    raise BootstrapError(f"the wizard aborted: {result.get('reason')}")
                if time.monotonic() > deadline:
                    raise BootstrapError(
                        f"the wizard is still at {kind} {step!r} after {timeout:g} s"
                    )
                if kind == "menu":
                    choice = answers.for_step(step, kind)
                    result = self.request("POST", path, {"next_step_id": choice})
                elif kind == "form":
                    if result.get("errors") and submitted == step:
                        raise BootstrapError(
                            f"the wizard refused step {step!r}: {result['errors']}"
                            f" {result.get('description_placeholders') or ''}".rstrip()
                        )
                    data = answers.for_step(step, kind)
                    submitted = step
                    result = self.request("POST", path, data if isinstance(data, dict) else {})
                elif kind in ("progress", "external"):
                    time.sleep(0.5)
                    result = self.request("GET", path)
                else:
                    raise BootstrapError(f"unexpected wizard result type {kind!r}")
        except BaseException:
            with contextlib.suppress(Exception):
                self.request("DELETE", path, timeout=5)
            raise

    def states(self) -> list[dict[str, Any]]:
        """All entity states."""
        return list(self.request("GET", "/api/states"))

    def diagnostics(self, entry_id: str) -> Any:
        """Fetch the config entry's diagnostics download, as JSON."""
        return self.request("GET", f"/api/diagnostics/config_entry/{entry_id}")

    # -- websocket ---------------------------------------------------------------------------

    def ws(self, *commands: Mapping[str, Any], timeout: float = 30.0) -> list[Any]:
        """Send commands over one authenticated websocket connection; return their results."""
        if self._token is None:
            raise BootstrapError("not logged in")
        url = self.base_url.replace("http", "ws", 1) + "/api/websocket"
        # A private loop, not asyncio.run(): under pytest the current loop must stay as it is.
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(
                asyncio.wait_for(_ws_calls(url, self._token, commands), timeout)
            )
        finally:
            loop.run_until_complete(loop.shutdown_default_executor())
            loop.close()

    def entity_registry(self, entry_id: str) -> list[dict[str, Any]]:
        """Registry entries (unique_id, entity_id, disabled_by ...) of one config entry."""
        (entities,) = self.ws({"type": "config/entity_registry/list"})
        return [e for e in entities if e.get("config_entry_id") == entry_id]

    def energy_prefs(self) -> dict[str, Any] | None:
        """Fetch the Energy dashboard preferences, None when never saved."""
        try:
            (prefs,) = self.ws({"type": "energy/get_prefs"})
        except BootstrapError as err:
            if "not_found" in str(err):
                return None
            raise
        return dict(prefs)

    def save_grid_prefs(self, import_ids: Sequence[str], export_ids: Sequence[str]) -> None:
        """Make the given sensors the grid source (consumption and return to grid).

        Home Assistant 2026.x takes one source per import/export pair (`stat_energy_from`,
        `stat_energy_to`) and refuses the old shape, a single source with `flow_from` and
        `flow_to` lists, which 2025.x needs. Try the current shape, fall back to the old one.
        """
        pairs = list(zip_longest(import_ids, export_ids))
        current = [
            {
                "type": "grid",
                "stat_energy_from": imported,
                "stat_energy_to": exported,
                "cost_adjustment_day": 0,
            }
            for imported, exported in pairs
        ]
        legacy = {
            "type": "grid",
            "flow_from": [
                {
                    "stat_energy_from": sid,
                    "stat_cost": None,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                }
                for sid in import_ids
            ],
            "flow_to": [
                {
                    "stat_energy_to": sid,
                    "stat_compensation": None,
                    "entity_energy_price": None,
                    "number_energy_price": None,
                }
                for sid in export_ids
            ],
            "cost_adjustment_day": 0,
        }
        try:
            self.ws({"type": "energy/save_prefs", "energy_sources": current})
        except BootstrapError as err:
            if "invalid_format" not in str(err):
                raise
            self.ws({"type": "energy/save_prefs", "energy_sources": [legacy]})

    def validate_energy(self) -> dict[str, Any]:
        """Run the Energy dashboard's validation (what its configuration page shows)."""
        (result,) = self.ws({"type": "energy/validate"})
        return dict(result)


async def _ws_calls(url: str, token: str, commands: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Authenticate, then send each command and collect its result in order."""
    results: list[Any] = []
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        hello = await ws.receive_json()
        if hello.get("type") != "auth_required":
            raise BootstrapError(f"websocket: unexpected greeting {hello.get('type')!r}")
        await ws.send_json({"type": "auth", "access_token": token})
        answer = await ws.receive_json()
        if answer.get("type") != "auth_ok":
            raise BootstrapError(f"websocket: authentication refused ({answer.get('type')})")
        for number, command in enumerate(commands, start=1):
            await ws.send_json({"id": number, **command})
            while True:
                msg = await ws.receive_json()
                if msg.get("id") == number and msg.get("type") == "result":
                    break
            if not msg.get("success"):
                error = msg.get("error") or {}
                raise BootstrapError(
                    f"websocket {command.get('type')}: {error.get('code')} {error.get('message')}"
                )
            results.append(msg.get("result"))
    return results


# --------------------------------------------------------------------------------------------
# The integration: wizard answers and its sensors


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


def start_simulator(sim: Managed, timeout: float = 30.0) -> str:
    """Start the simulator and return the socket:// URL it prints once it listens."""
    sim.start()
    match = sim.wait_for_output(re.compile(r"^(socket://\S+:\d+)$", re.MULTILINE), timeout)
    return match.group(1)


def obis_of_unique_id(unique_id: str) -> str | None:
    """OBIS key of a meter value sensor (unique id '<meter number>_<A-B:C.D.E.F>')."""
    key = unique_id.rpartition("_")[2]
    return key if _OBIS_KEY.fullmatch(key) else None


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


# --------------------------------------------------------------------------------------------
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
        extra_args=("--state", str(config_dir / "simulator-state.json")),
    )
    hass = hass_process(config_dir, config_dir / "hass-console.log")
    client = HaClient(base_url)
    code = 0
    try:
        url = start_simulator(sim)
        meter = simulator_meter_setup(url)
        _say(f"develop: simulated E450 pushing on {url}")
        folder = "new" if first_run else "existing"
        _say(f"develop: starting Home Assistant ({folder} ./{rel_config})")
        hass.start()
        client.wait_until_up(hass, 180)
        if client.onboard(DEV_USERNAME, DEV_PASSWORD):
            _say(f"develop: onboarding done, owner {DEV_USERNAME!r} created")
        client.wait_until_running(180)
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
        energy_note = _ensure_energy_prefs(client, entities)
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


def _ensure_energy_prefs(client: HaClient, entities: Mapping[str, str]) -> str:
    """Set the grid source once; later runs keep whatever the developer changed since."""
    prefs = client.energy_prefs()
    if prefs and prefs.get("energy_sources"):
        return "kept the existing preferences"
    imports, exports = grid_sensors(entities)
    client.save_grid_prefs(imports, exports)
    return f"grid import {', '.join(imports)}, export {', '.join(exports) or '-'}"


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


if __name__ == "__main__":
    sys.exit(main())
