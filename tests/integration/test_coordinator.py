"""Coordinator: availability after silence, min_interval, time source, key repair, counters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest

from custom_components.swiss_meter_cii.const import (
    ASSUMED_PUSH_INTERVAL,
    CONF_MIN_INTERVAL,
    CONF_TIME_SOURCE,
    DOMAIN,
    MIN_SILENCE_TIMEOUT,
    TIME_SOURCE_RECEIVE,
)
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder.errors import ErrorKind
from simulator import DEFAULT_KEY, MeterSimulator, wrong_key

from .conftest import (
    FakeLink,
    advance,
    as_float,
    energy_state,
    entity_id,
    entry_for,
    send_push,
    settle,
    setup_entry,
)

pytestmark = pytest.mark.usefixtures("no_watchdog")

ENERGY = "1-1:1.8.0.255"
CLOCK = "0-0:1.0.0.255"


def warnings_about(caplog: pytest.LogCaptureFixture, text: str, level: int) -> int:
    return sum(
        1
        for r in caplog.records
        if r.name.startswith("custom_components.swiss_meter_cii")
        and r.levelno == level
        and text in r.getMessage()
    )


async def test_unavailable_after_silence_and_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[object, SwissMeterCoordinator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    for _ in range(3):
        await advance(hass, freezer, 5)
        await send_push(hass, fake_link, meter)
    _, coordinator = loaded
    assert coordinator.push_interval == pytest.approx(5, abs=0.5)
    assert coordinator.silence_timeout == MIN_SILENCE_TIMEOUT  # 3 x 5 s is less than 30 s
    energy = entity_id(hass, f"{meter.meter_number}_{ENERGY}")
    assert hass.states.get(energy).state != STATE_UNAVAILABLE  # type: ignore[union-attr]

    await advance(hass, freezer, MIN_SILENCE_TIMEOUT - 2)
    assert hass.states.get(energy).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    await advance(hass, freezer, 3)
    assert hass.states.get(energy).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    # Diagnostics of the link stay available: they explain the silence.
    link_state = entity_id(hass, f"{meter.meter_number}_link_state")
    assert hass.states.get(link_state).state == "connected"  # type: ignore[union-attr]
    await advance(hass, freezer, 120)
    assert warnings_about(caplog, "no valid data from the meter", logging.WARNING) == 1
    assert warnings_about(caplog, "nothing arrives", logging.WARNING) == 1

    await send_push(hass, fake_link, meter)
    wh = energy_state(hass, f"{meter.meter_number}_{ENERGY}")
    assert wh == pytest.approx(as_float(meter.last_values[ENERGY][0]))
    assert warnings_about(caplog, "receiving data from the meter again", logging.INFO) == 1


async def test_silence_timeout_follows_slow_meters(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[object, SwissMeterCoordinator],
) -> None:
    _, coordinator = loaded
    for _ in range(4):
        await advance(hass, freezer, 60)
        await send_push(hass, fake_link, meter, elapsed=60)
    assert coordinator.silence_timeout == pytest.approx(180, abs=1)
    energy = entity_id(hass, f"{meter.meter_number}_{ENERGY}")
    await advance(hass, freezer, 150)
    assert hass.states.get(energy).state != STATE_UNAVAILABLE  # type: ignore[union-attr]
    await advance(hass, freezer, 40)
    assert hass.states.get(energy).state == STATE_UNAVAILABLE  # type: ignore[union-attr]


async def test_meter_that_never_sends_is_reported_with_the_reason(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[object, SwissMeterCoordinator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    stranger = MeterSimulator("e450", key=wrong_key(DEFAULT_KEY), seed=7)
    fake_link.send(stranger.next_push())
    await settle(hass)
    _, coordinator = loaded
    # No rhythm measured or stored yet: the assumed interval, so a dead meter is not shown
    # as live for minutes.
    assert coordinator.silence_timeout == MIN_SILENCE_TIMEOUT == 3 * ASSUMED_PUSH_INTERVAL
    await advance(hass, freezer, coordinator.silence_timeout - 10)
    assert warnings_about(caplog, "no valid data", logging.WARNING) == 0
    await advance(hass, freezer, 11)
    messages = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("no valid data" in m and "wrong_key" in m for m in messages)


async def test_min_interval_throttles_but_keeps_latest(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    coordinator = await setup_entry(hass, entry_for(meter, options={CONF_MIN_INTERVAL: 10}))
    writes: list[object] = []
    coordinator.async_add_listener(lambda: writes.append(coordinator.data.values.get(CLOCK)))

    await send_push(hass, fake_link, meter)
    first = meter.last_values[CLOCK][0]
    assert len(writes) == 1
    await advance(hass, freezer, 3)
    await send_push(hass, fake_link, meter, elapsed=3)
    await advance(hass, freezer, 3)
    await send_push(hass, fake_link, meter, elapsed=3)
    latest = meter.last_values[CLOCK][0]
    assert len(writes) == 1
    assert coordinator.data.values[CLOCK].value == first
    assert coordinator.stats.pushes == 3

    await advance(hass, freezer, 4)  # 10 s after the first write: the latest values go out
    assert len(writes) == 2
    assert coordinator.data.values[CLOCK].value == latest
    await advance(hass, freezer, 15)
    assert len(writes) == 2  # nothing new, nothing written
    await hass.config_entries.async_unload(coordinator.config_entry.entry_id)


@pytest.mark.parametrize("source", ["meter", TIME_SOURCE_RECEIVE])
async def test_time_source(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_link: FakeLink, source: str
) -> None:
    sim = MeterSimulator(
        "e450", key=DEFAULT_KEY, seed=7, start=datetime(2024, 1, 15, 11, tzinfo=UTC)
    )
    coordinator = await setup_entry(hass, entry_for(sim, options={CONF_TIME_SOURCE: source}))
    await send_push(hass, fake_link, sim)
    stamp = coordinator.data.timestamp
    assert stamp is not None
    if source == TIME_SOURCE_RECEIVE:
        assert stamp == dt_util.utcnow()
    else:
        assert abs(stamp - sim.clock) < timedelta(seconds=1)
    await hass.config_entries.async_unload(coordinator.config_entry.entry_id)


async def test_errors_counted_by_kind(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[object, SwissMeterCoordinator],
) -> None:
    _, coordinator = loaded
    wire = meter.next_push()
    damaged = bytearray(wire)
    damaged[len(wire) // 2] ^= 0xFF  # one flipped byte: checksum
    fake_link.send(bytes(damaged))
    good = await send_push(hass, fake_link, meter)
    assert coordinator.stats.errors[ErrorKind.CHECKSUM] >= 1
    assert coordinator.stats.pushes == 1
    assert coordinator.stats.bytes_received == len(damaged) + len(good)
    await advance(hass, freezer, 2)  # error counters are written within a second
    errors = entity_id(hass, f"{meter.meter_number}_decode_errors")
    assert int(hass.states.get(errors).state) == coordinator.stats.total_errors  # type: ignore[union-attr]


async def test_wrong_key_raises_repair_and_reauth_once(
    hass: HomeAssistant,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[object, SwissMeterCoordinator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    entry, coordinator = loaded
    rekeyed = MeterSimulator("e450", key=wrong_key(DEFAULT_KEY), seed=7)
    issue_id = f"key_rejected_{coordinator.config_entry.entry_id}"
    issues = ir.async_get(hass)
    for _ in range(2):
        await send_push(hass, fake_link, rekeyed)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
    for _ in range(5):
        await send_push(hass, fake_link, rekeyed)
    assert coordinator.stats.errors[ErrorKind.WRONG_KEY] == 7

    issue = issues.async_get_issue(DOMAIN, issue_id)
    assert issue is not None
    assert issue.translation_key == "key_rejected"
    assert issue.translation_placeholders == {"meter": coordinator.config_entry.title}
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert warnings_about(caplog, "asking for a new key", logging.WARNING) == 1

    # The utility's key works again (or the user entered it): the issue goes away.
    await send_push(hass, fake_link, meter)
    assert issues.async_get_issue(DOMAIN, issue_id) is None
