"""The dashboard's WebSocket commands and frontend module, on real decoded E450 pushes."""

from __future__ import annotations

from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
)
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped,unused-ignore]
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.dashboard import MODULE_URL, WS_LAYOUT, WS_LIVE
from custom_components.swiss_meter_cii.live import WINDOW_SECONDS
from simulator import MeterSimulator

from .conftest import FakeLink, as_float, entity_id, entry_for, send_push, setup_entry

type Loaded = tuple[MockConfigEntry, SwissMeterCoordinator]


async def _layout(hass_ws_client: WebSocketGenerator) -> list[dict[str, Any]]:
    client = await hass_ws_client()
    await client.send_json_auto_id({"type": WS_LAYOUT})
    reply = await client.receive_json()
    assert reply["success"], reply
    meters: list[dict[str, Any]] = reply["result"]["meters"]
    return meters


async def test_layout_lists_the_values_that_arrive(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: Loaded,
) -> None:
    entry, _coordinator = loaded
    (before,) = await _layout(hass_ws_client)
    assert before["available"] is False
    assert before["values"] == []  # no push yet: no value entity exists

    await send_push(hass, fake_link, meter)
    (layout,) = await _layout(hass_ws_client)
    number = meter.meter_number
    assert layout["entry_id"] == entry.entry_id
    assert layout["meter"] == number
    assert layout["available"] is True
    assert layout["net_power"] == entity_id(hass, f"{number}_net_power")
    assert layout["import_power"] == entity_id(hass, f"{number}_1-0:1.7.0.255")
    assert layout["export_power"] == entity_id(hass, f"{number}_1-0:2.7.0.255")
    values = {value["obis"]: value for value in layout["values"]}
    # Every pushed value with an enabled entity is listed, live, with its entity and name.
    enabled = {
        obis
        for obis in meter.last_values
        if hass.states.get(entity_id(hass, f"{number}_{obis}")) is not None
    }
    assert set(values) == enabled
    assert all(value["live"] for value in values.values())
    for obis, value in values.items():
        assert value["entity_id"] == entity_id(hass, f"{number}_{obis}")
    assert values["1-0:32.7.0.255"]["name"] == "Voltage L1"  # without the device name
    assert values["1-1:1.8.0.255"]["group"] == "energy_import"
    assert values["1-1:2.8.0.255"]["group"] == "energy_export"
    assert values["1-0:32.7.0.255"]["group"] == "voltage"
    order = [value["obis"] for value in layout["values"]]
    assert order.index("1-0:1.7.0.255") < order.index("1-0:32.7.0.255")  # numeric, not text
    assert order.index("1-1:1.8.2.255") < order.index("1-1:2.8.0.255")
    link = {item["entity_id"]: item["name"] for item in layout["link"]}
    assert link[entity_id(hass, f"{number}_link_state")] == "Link"
    assert not set(link) & {value["entity_id"] for value in values.values()}
    assert layout["net_power"] not in link


async def test_layout_only_loaded_entries(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    fake_link: FakeLink,
    meter: MeterSimulator,
) -> None:
    assert await async_setup_component(hass, "swiss_meter_cii", {})
    assert await _layout(hass_ws_client) == []
    entry = entry_for(meter)
    await setup_entry(hass, entry)
    assert len(await _layout(hass_ws_client)) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert await _layout(hass_ws_client) == []


async def test_live_sends_the_window_then_every_push(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: Loaded,
) -> None:
    entry, coordinator = loaded
    await send_push(hass, fake_link, meter)
    client = await hass_ws_client()
    await client.send_json_auto_id({"type": WS_LIVE, "entry_id": entry.entry_id})
    subscribed = await client.receive_json()
    assert subscribed["success"], subscribed
    snapshot = (await client.receive_json())["event"]
    assert snapshot["window"] == WINDOW_SECONDS
    assert snapshot["meter"] == meter.meter_number
    number = meter.meter_number
    net_state = hass.states.get(entity_id(hass, f"{number}_net_power"))
    assert net_state is not None
    net = float(net_state.state)
    ((when, watts),) = snapshot["points"]
    assert watts == net
    assert abs(when - snapshot["now"]) < 5
    assert set(snapshot["received"]) == set(meter.last_values)

    # Every push, not only the ones written to the sensors (min_interval), arrives at once.
    for _ in range(3):
        await send_push(hass, fake_link, meter)
        event = (await client.receive_json())["event"]
        assert event["meter"] == number
        assert set(event["codes"]) == set(meter.last_values)
        imported = as_float(meter.last_values["1-0:1.7.0.255"][0])
        exported = as_float(meter.last_values["1-0:2.7.0.255"][0])
        assert event["net"] == imported - exported
    assert len(coordinator.live.snapshot()["points"]) == 4

    # Unloading the entry tells the subscriber (the card subscribes again after a reload).
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert (await client.receive_json())["event"] == {"closed": True}


async def test_live_refuses_an_unknown_entry(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, loaded: Loaded
) -> None:
    client = await hass_ws_client()
    await client.send_json_auto_id({"type": WS_LIVE, "entry_id": "nope"})
    reply = await client.receive_json()
    assert not reply["success"]
    assert reply["error"]["code"] == "not_found"


async def test_serves_the_frontend_module(
    hass: HomeAssistant, hass_client: ClientSessionGenerator
) -> None:
    assert await async_setup_component(hass, "http", {})
    assert await async_setup_component(hass, "swiss_meter_cii", {})
    client = await hass_client()
    response = await client.get(MODULE_URL)
    assert response.status == 200
    body = await response.text()
    assert "ll-strategy-dashboard-" in body
    assert WS_LAYOUT in body  # the module asks the commands this integration answers
    assert WS_LIVE in body
