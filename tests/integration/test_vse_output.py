"""VSE MQTT output: real encrypted pushes through reader, decoder and coordinator to HA's MQTT."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
import json
import logging
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.core import HomeAssistant
import pytest

from custom_components.swiss_meter_cii.const import CONF_MIN_INTERVAL
from custom_components.swiss_meter_cii.options import (
    CONF_VSE_GROUP,
    CONF_VSE_MQTT,
    CONF_VSE_SOURCE,
)
from custom_components.swiss_meter_cii.vse_output import short_obis, valid_topic_level
from simulator import MeterSimulator

from .conftest import FakeLink, as_float, entry_for, send_push, setup_entry


@pytest.fixture
def expected_lingering_timers() -> bool:
    """HA's MQTT test client leaves its periodic misc timer behind (not ours)."""
    return True


def _published(mqtt_mock: Any) -> list[tuple[str, dict[str, Any]]]:
    """(topic, decoded payload) of every message our output handed to MQTT."""
    return [
        (call.args[0], json.loads(call.args[1]))
        for call in mqtt_mock.async_publish.call_args_list
        if call.args[0].startswith("dt/")
    ]


async def test_each_push_published_in_vse_shape(
    hass: HomeAssistant, mqtt_mock: Any, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """Every push (even within min_interval) appears on dt/{group}/{meter}/ds with its values."""
    entry = entry_for(
        meter, options={CONF_VSE_MQTT: True, CONF_VSE_GROUP: "house1", CONF_MIN_INTERVAL: 60}
    )
    await setup_entry(hass, entry)
    await send_push(hass, fake_link, meter)
    await send_push(hass, fake_link, meter)

    messages = _published(mqtt_mock)
    assert len(messages) == 2
    topic, payload = messages[-1]
    assert topic == f"dt/house1/{meter.meter_number}/ds"
    data = payload["meter"]
    assert datetime.fromisoformat(data["ts"]).tzinfo is not None
    pushed = entry.runtime_data.coordinator.last_push
    assert pushed is not None
    numeric = {
        short_obis(code): as_float(reading.value)
        for code, reading in pushed.values.items()
        if isinstance(reading.value, int | float | Decimal) and not isinstance(reading.value, bool)
    }
    assert "1.8.0" in numeric
    for key, value in numeric.items():
        assert data[key] == pytest.approx(value), key
    qos = mqtt_mock.async_publish.call_args_list[-1].args[2]
    retain = mqtt_mock.async_publish.call_args_list[-1].args[3]
    assert (qos, retain) == (0, False)
    await hass.config_entries.async_unload(entry.entry_id)


async def test_source_option_overrides_meter_number(
    hass: HomeAssistant, mqtt_mock: Any, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """The source level can be set; the group defaults to the reference tool's 'building'."""
    entry = entry_for(meter, options={CONF_VSE_MQTT: True, CONF_VSE_SOURCE: "garage"})
    await setup_entry(hass, entry)
    await send_push(hass, fake_link, meter)
    assert [topic for topic, _ in _published(mqtt_mock)] == ["dt/building/garage/ds"]
    await hass.config_entries.async_unload(entry.entry_id)


async def test_option_off_publishes_nothing(
    hass: HomeAssistant, mqtt_mock: Any, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """Off by default: pushes reach the sensors, nothing reaches MQTT."""
    entry = entry_for(meter)
    coordinator = await setup_entry(hass, entry)
    await send_push(hass, fake_link, meter)
    assert coordinator.last_push is not None
    assert _published(mqtt_mock) == []
    await hass.config_entries.async_unload(entry.entry_id)


async def test_mqtt_not_set_up_warns_once_then_resumes(
    hass: HomeAssistant,
    fake_link: FakeLink,
    meter: MeterSimulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Option on without MQTT: one clear warning, the meter keeps working, MQTT resumes."""
    entry = entry_for(meter, options={CONF_VSE_MQTT: True})
    coordinator = await setup_entry(hass, entry)
    with caplog.at_level(logging.WARNING):
        await send_push(hass, fake_link, meter)
        await send_push(hass, fake_link, meter)
    warnings = [r for r in caplog.records if "VSE MQTT output is on" in r.getMessage()]
    assert len(warnings) == 1
    assert coordinator.stats.pushes == 2
    assert coordinator.available
    # MQTT comes up later: the next push goes out without a reload, and the log says so.
    with (
        patch("homeassistant.components.mqtt.async_publish", AsyncMock()) as publish,
        caplog.at_level(logging.INFO),
    ):
        await send_push(hass, fake_link, meter)
    assert publish.await_args is not None
    assert publish.await_args.args[1] == f"dt/building/{meter.meter_number}/ds"
    assert any("publishes again" in r.getMessage() for r in caplog.records)
    await hass.config_entries.async_unload(entry.entry_id)


def test_keys_are_short_but_sub_meters_stay_apart() -> None:
    assert short_obis("1-0:1.8.0.255") == "1.8.0"
    assert short_obis("1-1:2.8.0.255") == "2.8.0"
    assert short_obis("0-0:96.1.1.255") == "96.1.1"
    assert short_obis("0-1:24.2.1.255") == "0-1:24.2.1"
    assert short_obis("0-2:24.2.1.255") == "0-2:24.2.1"
    assert short_obis("0-1:24.2.1.255/5") is None  # a capture time has no VSE key
    assert short_obis("net_power") is None


def test_topic_level_rules() -> None:
    """Separators, wildcards and spaces cannot be part of one topic level."""
    assert valid_topic_level("building")
    for bad in ("", "a/b", "a+", "#", "a b"):
        assert not valid_topic_level(bad), bad
