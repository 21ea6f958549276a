"""A small synchronous client for Home Assistant's REST API plus one-shot websocket calls."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
import contextlib
from dataclasses import dataclass
from http import HTTPStatus
from itertools import zip_longest
import json
import time
from typing import Any, Final
import urllib.error
from urllib.parse import urlencode
import urllib.request

import aiohttp

from .config import DOMAIN
from .errors import BootstrapError, HttpError
from .processes import Managed

# The dashboard scripts/develop and the browser test add: the strategy the integration serves
# (custom_components/swiss_meter_cii/frontend/swiss-meter-dashboard.js).
DASHBOARD_PATH: Final = "swiss-meter"
DASHBOARD_STRATEGY: Final = "swiss-meter-cii"
# The first release whose Energy preferences take a grid source per import/export pair.
PAIRED_GRID_SOURCES: Final = (2026, 3)


@dataclass(slots=True)
class FlowAnswers:
    """Answers to a wizard, by step id: a menu choice (str) or form data (dict).

    Form data may leave out the form's sections: each section the form has is sent with its
    own defaults (HA 2026.x folds MQTT's rarer broker settings into a required section).
    """

    steps: dict[str, str | dict[str, Any]]

    def for_step(
        self, step_id: str, kind: str, schema: Sequence[Mapping[str, Any]] = ()
    ) -> str | dict[str, Any]:
        """Return the answer for one step, or fail naming the unexpected step."""
        try:
            answer = self.steps[step_id]
        except KeyError:
            raise BootstrapError(
                f"the wizard showed {kind} step {step_id!r}, which the bootstrap has no answer"
                f" for (known: {', '.join(self.steps)})"
            ) from None
        if isinstance(answer, str):
            return answer
        sections = {  # what the UI sends for a section left folded: its initial values
            str(field["name"]): {
                str(inner["name"]): value
                for inner in field.get("schema", ())
                if (value := _initial_value(inner)) is not None
            }
            for field in schema
            if field.get("type") == "expandable" and field.get("required")
        }
        return {**sections, **answer}


def _initial_value(field: Mapping[str, Any]) -> Any:
    """Return a form field's value before the user touches it, as the frontend fills it in."""
    if "default" in field:
        return field["default"]
    if not field.get("required"):
        return None
    selector = field.get("selector") or {}
    if "boolean" in selector:
        return False
    options = (selector.get("select") or {}).get("options") or []
    if options:
        first = options[0]
        return first["value"] if isinstance(first, Mapping) else first
    return None


class HaClient:
    """A small synchronous client for Home Assistant's REST API plus one-shot websocket calls."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = f"{self.base_url}/"  # what the frontend uses: any URL on the same host
        self._token: str | None = None
        self.tokens: dict[str, Any] = {}
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
        self.tokens = dict(tokens)  # with the refresh token: what a browser session stores

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

    def onboard(
        self, username: str, password: str, name: str = "Developer", language: str = "en"
    ) -> bool:
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
                    "language": language,
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

    def confirm_http_config(self) -> bool:
        """Keep the http: settings of configuration.yaml; True when there was one to confirm.

        Home Assistant 2026.x moves them into its storage as a trial that it reverts (to port
        8123 on every interface) five minutes later unless the user confirms it, which the UI
        asks for in a dialog. Older releases have no such command: nothing to do.
        """
        try:
            self.ws({"type": "http/config/promote"})
        except BootstrapError as err:
            if "unknown_command" in str(err) or "not_allowed" in str(err):
                return False  # before 2026.x, or nothing pending
            raise
        return True

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
                    data = answers.for_step(step, kind, result.get("data_schema") or ())
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

    def run_options_flow(self, entry_id: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """Submit an entry's options form once (the way the UI does) and return the result."""
        base = "/api/config/config_entries/options/flow"
        form = self.request("POST", base, {"handler": entry_id})
        if form.get("type") != "form":
            raise BootstrapError(f"the options flow showed {form.get('type')!r}, not a form")
        result = self.request("POST", f"{base}/{form['flow_id']}", dict(data))
        if result.get("type") != "create_entry":
            raise BootstrapError(f"the options form was refused: {result.get('errors')}")
        return dict(result)

    def call_service(
        self, domain: str, service: str, data: Mapping[str, Any], *, response: bool = False
    ) -> Any:
        """Call an action over REST; with `response`, return its service response."""
        path = f"/api/services/{domain}/{service}" + ("?return_response" if response else "")
        result = self.request("POST", path, dict(data))
        return result["service_response"] if response else result

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

    def browser_tokens(self) -> dict[str, Any]:
        """Return the `hassTokens` a logged-in frontend keeps in localStorage (test browsers)."""
        if not self.tokens:
            raise BootstrapError("not logged in")
        lifetime = float(self.tokens.get("expires_in", 1800))
        return {
            **self.tokens,
            "hassUrl": self.base_url,
            "clientId": self.client_id,
            "expires": int((time.time() + lifetime) * 1000),
        }

    def ensure_dashboard(self) -> str:
        """Add the integration's dashboard (its strategy) to the sidebar once; return its path."""
        (dashboards,) = self.ws({"type": "lovelace/dashboards/list"})
        if not any(d.get("url_path") == DASHBOARD_PATH for d in dashboards):
            self.ws(
                {
                    "type": "lovelace/dashboards/create",
                    "url_path": DASHBOARD_PATH,
                    "title": "Smart meter",
                    "icon": "mdi:meter-electric",
                    "mode": "storage",
                    "show_in_sidebar": True,
                    "require_admin": False,
                },
                {
                    "type": "lovelace/config/save",
                    "url_path": DASHBOARD_PATH,
                    "config": {"strategy": {"type": f"custom:{DASHBOARD_STRATEGY}"}},
                },
            )
        return f"/{DASHBOARD_PATH}"

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

    def save_energy_prefs(
        self,
        import_ids: Sequence[str],
        export_ids: Sequence[str],
        *,
        gas: Sequence[str] = (),
        water: Sequence[str] = (),
    ) -> None:
        """Make the given sensors the grid source, and gas and water sources if given.

        Home Assistant 2026.3 and later take one grid source per import/export pair
        (`stat_energy_from`, `stat_energy_to`) and refuse the old shape, a single source
        with `flow_from` and `flow_to` lists, which 2025.x needs. The release picks the shape
        first (a refused save leaves an ERROR line in Home Assistant's log); the other shape
        is tried only if that one is refused.
        """
        others = [
            {
                "type": kind,
                "stat_energy_from": sid,
                "stat_cost": None,
                "entity_energy_price": None,
                "number_energy_price": None,
            }
            for kind, ids in (("gas", gas), ("water", water))
            for sid in ids
        ]
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
        shapes = [[*current, *others], [legacy, *others]]
        if self.version() < PAIRED_GRID_SOURCES:
            shapes.reverse()
        try:
            self.ws({"type": "energy/save_prefs", "energy_sources": shapes[0]})
        except BootstrapError as err:
            if "invalid_format" not in str(err):
                raise
            self.ws({"type": "energy/save_prefs", "energy_sources": shapes[1]})

    def version(self) -> tuple[int, int]:
        """Home Assistant's release as (year, month), e.g. (2025, 4), from its "2025.4.4"."""
        version = str(self.request("GET", "/api/config")["version"])
        year, month = version.split(".")[:2]
        return int(year), int(month)

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
