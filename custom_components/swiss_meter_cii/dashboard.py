"""The dashboard the integration brings: its frontend module and the WebSocket commands it asks.

The module (frontend/swiss-meter-dashboard.js) holds a dashboard strategy and two cards. The
strategy builds its views from `swiss_meter_cii/dashboard`: per meter, the entities of the
values that actually arrive, grouped here (Python, tested) so the JavaScript stays a plain
layout. The cards subscribe to `swiss_meter_cii/live` for every push as it arrives (live.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from homeassistant.components import websocket_api
from homeassistant.components.websocket_api.connection import ActiveConnection
from homeassistant.components.websocket_api.decorators import websocket_command
from homeassistant.components.websocket_api.messages import event_message
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er
import voluptuous as vol

from .const import DOMAIN
from .coordinator import SwissMeterCoordinator
from .decoder.catalogue import Quantity, describe
from .decoder.obis import is_key, sort_key
from .decoder.submeters import channel_of
from .live import LiveEvent
from .net_power import NET_POWER
from .runtime_data import SwissMeterConfigEntry

FRONTEND_DIR: Final = Path(__file__).parent / "frontend"
MODULE_FILE: Final = FRONTEND_DIR / "swiss-meter-dashboard.js"
STATIC_URL: Final = f"/{DOMAIN}_static"
MODULE_URL: Final = f"{STATIC_URL}/{MODULE_FILE.name}"
WS_LAYOUT: Final = f"{DOMAIN}/dashboard"
WS_LIVE: Final = f"{DOMAIN}/live"
IMPORT_POWER: Final = ("1-0:1.7.0.255", "1-1:1.7.0.255")
EXPORT_POWER: Final = ("1-0:2.7.0.255", "1-1:2.7.0.255")

_ENERGY: Final = frozenset(
    {Quantity.ACTIVE_ENERGY, Quantity.REACTIVE_ENERGY, Quantity.APPARENT_ENERGY}
)


async def async_setup_dashboard(hass: HomeAssistant) -> None:
    """Answer the commands, serve the module and load it in every browser."""
    websocket_api.async_register_command(hass, ws_layout)
    websocket_api.async_register_command(hass, ws_live)
    if "http" not in hass.config.components:  # no web server (a test without http)
        return
    from homeassistant.components.http import StaticPathConfig

    await hass.http.async_register_static_paths(
        [StaticPathConfig(STATIC_URL, str(FRONTEND_DIR), cache_headers=False)]
    )
    if "frontend" in hass.config.components:
        from homeassistant.components.frontend import add_extra_js_url

        # The file's time in the URL: a browser never keeps the module of an older version.
        add_extra_js_url(hass, f"{MODULE_URL}?v={int(MODULE_FILE.stat().st_mtime)}")


@websocket_command({vol.Required("type"): WS_LAYOUT})
@callback
def ws_layout(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Report every meter of every loaded entry with the entities of the values it sends."""
    entries: list[SwissMeterConfigEntry] = hass.config_entries.async_entries(DOMAIN)
    loaded = [entry for entry in entries if entry.state is ConfigEntryState.LOADED]
    meters = [meter_layout(hass, entry) for entry in loaded]
    connection.send_result(msg["id"], {"meters": meters})


@websocket_command({vol.Required("type"): WS_LIVE, vol.Required("entry_id"): str})
@callback
def ws_live(hass: HomeAssistant, connection: ActiveConnection, msg: dict[str, Any]) -> None:
    """Subscribe to a meter's pushes: first the last minutes (live.py), then each new push."""
    entry = hass.config_entries.async_get_entry(msg["entry_id"])
    if entry is None or entry.domain != DOMAIN or entry.state is not ConfigEntryState.LOADED:
        connection.send_error(
            msg["id"], "not_found", "no loaded Swiss Meter CII entry with that id"
        )
        return
    coordinator: SwissMeterCoordinator = entry.runtime_data.coordinator
    ident = msg["id"]

    @callback
    def forward(event: LiveEvent) -> None:
        connection.send_message(event_message(ident, event))

    connection.subscriptions[ident] = coordinator.live.subscribe(forward)
    connection.send_result(ident)
    forward(coordinator.live.snapshot(coordinator.push_interval))


def meter_layout(hass: HomeAssistant, entry: SwissMeterConfigEntry) -> dict[str, Any]:
    """Group the entry's enabled sensors: every value, energy totals, sub-meters, link."""
    coordinator = entry.runtime_data.coordinator
    state = coordinator.data
    current = state.meter or coordinator.meter
    meter = current.number if current is not None else None
    live = set(state.values) if state.available else set()
    names = _NameFinder(hass)
    values: list[dict[str, Any]] = []
    link: list[dict[str, str]] = []
    net_power: str | None = None
    powers: dict[str, str] = {}
    registry = er.async_get(hass)
    for reg in er.async_entries_for_config_entry(registry, entry.entry_id):
        if reg.disabled_by is not None or reg.domain != "sensor":
            continue
        number, _, key = reg.unique_id.partition("_")  # keys may hold "_", numbers never
        if meter is not None and number not in (meter, entry.unique_id):
            continue  # a replaced meter's sensors: unavailable, kept for their history
        if not is_key(key):  # not a pushed value: the net power or a link diagnostic
            if key == NET_POWER:
                net_power = reg.entity_id
            elif reg.entity_category is not None:
                link.append({"entity_id": reg.entity_id, "name": names.name(reg)})
        else:
            info = describe(key)
            values.append(
                {
                    "obis": key,
                    "entity_id": reg.entity_id,
                    "name": names.name(reg),
                    "group": _group(key, info.quantity),
                    "live": key in live,
                }
            )
            if key in (*IMPORT_POWER, *EXPORT_POWER):
                powers[key] = reg.entity_id
    values.sort(key=lambda value: sort_key(value["obis"]))
    return {
        "entry_id": entry.entry_id,
        "title": entry.title,
        "meter": meter,
        "available": state.available,
        "net_power": net_power,
        "import_power": next((powers[code] for code in IMPORT_POWER if code in powers), None),
        "export_power": next((powers[code] for code in EXPORT_POWER if code in powers), None),
        "values": values,
        "link": sorted(link, key=lambda item: item["name"]),
    }


class _NameFinder:
    """An entity's name as the frontend shows it inside its device's card (no device name)."""

    def __init__(self, hass: HomeAssistant) -> None:
        self._hass = hass
        self._devices = dr.async_get(hass)

    def name(self, reg: er.RegistryEntry) -> str:
        state = self._hass.states.get(reg.entity_id)
        full = str(state.attributes.get("friendly_name", "")) if state is not None else ""
        device = self._devices.async_get(reg.device_id) if reg.device_id else None
        prefix = (device.name_by_user or device.name or "") if device is not None else ""
        if full and prefix and full.startswith(prefix + " "):
            return full[len(prefix) + 1 :]
        return full or reg.name or reg.original_name or reg.entity_id


def _group(obis: str, quantity: Quantity) -> str:
    """Name the card that lists a value besides the table: energy totals, a sub-meter, none."""
    if channel_of(obis) is not None:
        return "submeter"
    if quantity in _ENERGY:
        direction = obis.split(":")[1].split(".")[0]
        return {"1": "energy_import", "2": "energy_export"}.get(direction, "energy_other")
    return quantity.value
