"""The get_reading action: real encrypted pushes in, the Annex D data set out."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
)

from custom_components.swiss_meter_cii.const import DOMAIN
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.services import ANNEX_D, SERVICE_GET_READING
from simulator import MeterSimulator

from .conftest import FakeLink, as_float, send_push


async def _call(hass: HomeAssistant, entry_id: str) -> dict[str, Any]:
    response = await hass.services.async_call(
        DOMAIN,
        SERVICE_GET_READING,
        {"config_entry_id": entry_id},
        blocking=True,
        return_response=True,
    )
    assert isinstance(response, dict)
    return dict(response)


async def test_reading_has_every_annex_d_key(
    hass: HomeAssistant,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[MockConfigEntry, SwissMeterCoordinator],
) -> None:
    """Every Annex D code is a key; sent ones carry value and unit, the rest None."""
    entry, coordinator = loaded
    await send_push(hass, fake_link, meter)
    push = coordinator.last_push
    assert push is not None
    response = await _call(hass, entry.entry_id)
    assert response["meter_number"] == meter.meter_number
    assert isinstance(response["timestamp"], str)
    assert datetime.fromisoformat(response["timestamp"]).tzinfo is not None
    values = response["values"]
    assert isinstance(values, dict)
    assert set(values) == set(ANNEX_D)
    sent = push.values
    assert "1-0:1.8.1.255" not in sent  # the E450 counts on channel 1: 1-1:1.8.1.255
    for code, item in values.items():
        reading = sent.get(code) or sent.get(code.replace("1-0:", "1-1:", 1))
        if reading is None:
            assert item is None, code
            continue
        assert item["unit"] == reading.unit, code
        if isinstance(reading.value, datetime):
            assert datetime.fromisoformat(item["value"]) == reading.value, code
        elif isinstance(reading.value, str):
            assert item["value"] == reading.value, code
        else:
            assert item["value"] == pytest.approx(as_float(reading.value)), code
    assert values["1-0:1.8.1.255"]["value"] == pytest.approx(
        as_float(sent["1-1:1.8.1.255"].value)
    )  # Annex D's channel 0, from the E450's channel 1
    assert values["1-1:1.8.0.255"] == values["1-0:1.8.0.255"]
    assert values["0-0:96.1.0.255"] is None  # the E450 sends its number as 96.1.1
    assert values["0-0:96.1.1.255"] == {"value": meter.meter_number, "unit": None}
    assert values["1-0:15.8.0.255"] is None  # only in the E450's second list
    assert values["1-0:32.7.0.255"] == {
        "value": pytest.approx(as_float(sent["1-0:32.7.0.255"].value)),
        "unit": "V",
    }
    assert len(values) == 63
    filled = [code for code, item in values.items() if item is not None]
    # 21 of the 28 values (not the per-phase powers, not the tariff), two of them twice.
    assert len(filled) == 23, filled


async def test_no_push_yet_is_a_translated_error(
    hass: HomeAssistant, loaded: tuple[MockConfigEntry, SwissMeterCoordinator]
) -> None:
    """Before the first push the action refuses with a translated message."""
    entry, _ = loaded
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id)
    assert err.value.translation_key == "no_push_yet"
    assert err.value.translation_domain == DOMAIN


async def test_unknown_or_unloaded_entry_is_a_translated_error(
    hass: HomeAssistant, loaded: tuple[MockConfigEntry, SwissMeterCoordinator]
) -> None:
    """An entry id that is not a loaded meter of ours is refused, not a crash."""
    entry, _ = loaded
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, "not-an-entry")
    assert err.value.translation_key == "entry_not_loaded"
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, entry.entry_id)
    assert err.value.translation_key == "entry_not_loaded"
