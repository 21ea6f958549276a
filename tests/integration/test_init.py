"""Set-up, unload and reload of a config entry."""

from __future__ import annotations

import json
from pathlib import Path

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
import pytest

from custom_components.swiss_meter_cii.binary_sensor import AUTHENTICATED
from custom_components.swiss_meter_cii.const import (
    CONF_ENCRYPTION_KEY,
    CONF_MIN_INTERVAL,
    CONF_SCALER_OVERRIDES,
    CONF_SERIAL_FORMAT,
    DOMAIN,
    PROBE_ORDER,
    SERIAL_FORMAT_AUTO,
)
from custom_components.swiss_meter_cii.link_sensors import LINK_SENSORS
from custom_components.swiss_meter_cii.link_stats import LinkState
from custom_components.swiss_meter_cii.net_power import NET_POWER
from simulator import MeterSimulator

from .conftest import FakeLink, as_float, energy_state, entry_for, send_push, setup_entry


async def test_setup_reads_and_unload_closes(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    entry = entry_for(meter)
    coordinator = await setup_entry(hass, entry)
    assert entry.runtime_data.coordinator is coordinator
    assert fake_link.openings == [(entry.data["port"], "2400_8E1")]
    reader_task = entry.runtime_data.reader.task
    assert reader_task is not None
    assert not reader_task.done()
    assert coordinator.stats.state is LinkState.CONNECTED

    await send_push(hass, fake_link, meter)
    energy = energy_state(hass, f"{meter.meter_number}_1-1:1.8.0.255")
    assert energy == pytest.approx(as_float(meter.last_values["1-1:1.8.0.255"][0]))

    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.NOT_LOADED
    assert reader_task.done()
    assert fake_link.current.closed
    # The link is closed and the reader gone: nothing is read any more.
    assert len(fake_link.writers) == 1


async def test_port_that_does_not_open_retries_setup(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    fake_link.fail_next = 1
    entry = entry_for(meter)
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert "No such file or directory" in (entry.reason or "")


async def test_auto_format_opens_first_probe_format(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    entry = entry_for(meter, serial_format=SERIAL_FORMAT_AUTO)
    await setup_entry(hass, entry)
    assert fake_link.openings[0][1] == PROBE_ORDER[0]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_broken_stored_key_asks_for_a_new_one(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    entry = entry_for(meter, key_text="00112233445566778899aabbccddeef")  # 31 digits
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert fake_link.openings == []  # nothing opened with a broken key
    assert "00112233" not in (entry.reason or "")


async def test_unknown_stored_model_fails_setup_before_the_port_opens(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """An entry stored by a newer version (a model this one does not know)."""
    entry = entry_for(meter, model="future_meter_9000")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "settings" in (entry.reason or "")
    assert fake_link.openings == []


async def test_bad_scaler_overrides_fail_setup(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    entry = entry_for(meter, options={CONF_SCALER_OVERRIDES: "1-0:32.7.0=minus one"})
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "scaler corrections" in (entry.reason or "")
    assert fake_link.openings == []


@pytest.mark.parametrize(
    ("change", "reloads"),
    [
        ({"options": {CONF_MIN_INTERVAL: 10}}, True),
        ({"data": {CONF_SERIAL_FORMAT: "9600_8N1"}}, False),  # flows that change data reload
    ],
)
async def test_reload_on_options_change(
    hass: HomeAssistant,
    fake_link: FakeLink,
    meter: MeterSimulator,
    change: dict[str, dict[str, object]],
    reloads: bool,
) -> None:
    entry = entry_for(meter)
    await setup_entry(hass, entry)
    first = entry.runtime_data
    if "data" in change:
        change = {"data": {**entry.data, **change["data"]}}
    hass.config_entries.async_update_entry(entry, **change)  # type: ignore[arg-type]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert (entry.runtime_data is not first) is reloads
    if reloads:
        assert first.reader.task is not None
        assert first.reader.task.done()
        assert entry.runtime_data.coordinator.min_interval == 10
        assert len(fake_link.writers) == 2
        assert fake_link.writers[0].closed
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()


async def test_key_never_in_setup_error(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    entry = entry_for(meter, key_text="zz" * 16)
    entry.add_to_hass(hass)
    await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert "zz" not in (entry.reason or "")
    assert CONF_ENCRYPTION_KEY in entry.data


@pytest.mark.parametrize("language", ["strings", "en", "de", "fr", "it"])
def test_runtime_texts_are_translated(language: str) -> None:
    """Every name, issue and error text the runtime uses exists, with its placeholders."""
    folder = Path(__file__).parents[2] / "custom_components" / "swiss_meter_cii"
    path = folder / ("strings.json" if language == "strings" else f"translations/{language}.json")
    texts = json.loads(path.read_text(encoding="utf-8"))
    sensors = texts["entity"]["sensor"]
    for description in LINK_SENSORS:
        assert sensors[description.translation_key]["name"], description.key
    assert set(sensors["link_state"]["state"]) == {state.value for state in LinkState}
    assert sensors[NET_POWER]["name"]
    authenticated = texts["entity"]["binary_sensor"][AUTHENTICATED.translation_key]
    assert set(authenticated["state"]) == {"on", "off"}
    issue = texts["issues"]["key_rejected"]
    assert "{meter}" in issue["title"]
    assert "{meter}" in issue["description"]
    for key, placeholder in (
        ("cannot_connect", "{error}"),
        ("invalid_key", None),
        ("invalid_scaler_overrides", "{error}"),
        ("invalid_settings", "{error}"),
    ):
        message = texts["exceptions"][key]["message"]
        assert placeholder is None or placeholder in message, key
