"""The utility replaces the meter: a new meter number arrives on the same port."""

from __future__ import annotations

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er, issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.typing import (  # type: ignore[import-untyped,unused-ignore]
    ClientSessionGenerator,
    WebSocketGenerator,
)

from custom_components.swiss_meter_cii.const import DOMAIN
from custom_components.swiss_meter_cii.entity import meter_device
from simulator import DEFAULT_KEY, MeterSimulator

from .conftest import FakeLink, as_float, energy_state, entity_id, entry_for, send_push, setup_entry

ENERGY = "1-1:1.8.0.255"


async def test_replaced_meter_gets_its_own_device_and_a_repair(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    fake_link: FakeLink,
    meter: MeterSimulator,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    coordinator = await setup_entry(hass, entry_for(meter))
    entry = coordinator.config_entry
    for _ in range(3):
        await send_push(hass, fake_link, meter)
    old_energy = entity_id(hass, f"{meter.meter_number}_{ENERGY}")
    old_wh = energy_state(hass, f"{meter.meter_number}_{ENERGY}")
    issue_id = f"meter_replaced_{entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    # Same port, same key (the utility sets the customer key again), another meter.
    new = MeterSimulator("e450", key=DEFAULT_KEY, seed=99)
    assert new.meter_number != meter.meter_number
    for _ in range(3):
        await send_push(hass, fake_link, new)

    # A new device with its own sensors, starting at the new meter's own register value.
    assert meter_device(hass, entry.entry_id, new.meter_number) is not None
    assert meter_device(hass, entry.entry_id, meter.meter_number) is not None
    new_wh = energy_state(hass, f"{new.meter_number}_{ENERGY}")
    assert new_wh == pytest.approx(as_float(new.last_values[ENERGY][0]))
    # The old meter's sensors stay, unavailable: never a lower value or zero (no negative
    # step or spike in the Energy dashboard).
    state = hass.states.get(old_energy)
    assert state is not None
    assert state.state == STATE_UNAVAILABLE
    issue = ir.async_get(hass).async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["old"] == meter.meter_number
    assert issue.translation_placeholders["new"] == new.meter_number
    assert old_wh > 0

    # The user confirms the repair: the old device and its sensors go, the entry follows the
    # new meter (a second wizard for it would now say "already configured").
    client = await hass_client()
    resp = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": issue_id}
    )
    assert resp.status == 200, await resp.text()
    flow = await resp.json()
    assert flow.get("step_id") == "confirm", sorted(flow.items())
    assert flow["description_placeholders"]["old"] == meter.meter_number
    resp = await client.post(f"/api/repairs/issues/fix/{flow['flow_id']}", json={})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["type"] == "create_entry"
    await hass.async_block_till_done()
    assert meter_device(hass, entry.entry_id, meter.meter_number) is None
    assert er.async_get(hass).async_get(old_energy) is None
    assert entry.unique_id == new.meter_number
    assert new.meter_number in entry.title
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None

    # After the reload the new meter is the entry's meter, with its link diagnostics.
    await fake_link.wait_opened(2)
    await send_push(hass, fake_link, new)
    assert energy_state(hass, f"{new.meter_number}_{ENERGY}") >= new_wh
    link_state = hass.states.get(entity_id(hass, f"{new.meter_number}_link_state"))
    assert link_state is not None
    assert link_state.state == "connected"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_push_without_number_belongs_to_the_configured_meter(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """A slower list without the meter number must not look like another meter."""
    from custom_components.swiss_meter_cii.decoder.push import Push, Reading

    coordinator = await setup_entry(hass, entry_for(meter))
    push = Push(
        values={ENERGY: Reading(123456, "Wh")},
        system_title=b"LGZ\x00\x01\x02\x03\x04",
        push_setup="0-2:25.9.0.255",
    )
    coordinator.handle_push(push)
    await hass.async_block_till_done()
    assert coordinator.meter is not None
    assert coordinator.meter.number == meter.meter_number
    issue_id = f"meter_replaced_{coordinator.config_entry.entry_id}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None
    assert await hass.config_entries.async_unload(coordinator.config_entry.entry_id)


async def test_user_can_delete_a_stale_meter_device_only(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    fake_link: FakeLink,
    meter: MeterSimulator,
) -> None:
    """A device of a meter that is neither configured nor sending can be deleted in the UI."""
    assert await async_setup_component(hass, "config", {})
    coordinator = await setup_entry(hass, entry_for(meter))
    entry = coordinator.config_entry
    await send_push(hass, fake_link, meter)
    visitor = MeterSimulator("e450", key=DEFAULT_KEY, seed=98)  # seen once, then gone
    await send_push(hass, fake_link, visitor)
    await send_push(hass, fake_link, meter)
    client = await hass_ws_client(hass)

    async def remove(number: str) -> bool:
        device = meter_device(hass, entry.entry_id, number)
        assert device is not None
        await client.send_json_auto_id(
            {
                "type": "config/device_registry/remove_config_entry",
                "config_entry_id": entry.entry_id,
                "device_id": device.id,
            }
        )
        response = await client.receive_json()
        return bool(response["success"])

    assert not await remove(meter.meter_number)  # the configured meter, sending now
    assert await remove(visitor.meter_number)
    assert meter_device(hass, entry.entry_id, visitor.meter_number) is None
    assert await hass.config_entries.async_unload(entry.entry_id)
