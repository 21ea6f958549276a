"""Key problems at runtime: a repair issue and the re-authentication flow, once, quietly.

A utility re-keys the meter (or the user typed a wrong key, or forgot it): hundreds of pushes
are refused. Home Assistant must show one repair issue and start one re-authentication flow,
keep the entry loaded (no set-up retry loop), write the error counters at most about once a
second and log a handful of lines - not one per push. And a noisy line with the right key
must never look like a key problem. Debug logging is on, so the key-leak guard checks the
debug paths too.
"""

from __future__ import annotations

import asyncio
import logging

from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
import pytest

from custom_components.swiss_meter_cii.const import DOMAIN
from custom_components.swiss_meter_cii.decoder import ErrorKind
from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, FaultInjector, MeterSimulator, wrong_key
from tests.integration.conftest import FakeLink, entity_id, entry_for, settle, setup_entry

from .secrets_guard import KeyLeakGuard

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")

BAD_PUSHES = 400
LOGGER = "custom_components.swiss_meter_cii"
KEY_TEXT = DEFAULT_KEY.hex(":").upper()
AUTH_TEXT = DEFAULT_AUTH_KEY.hex(" ")


def integration_records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    """Messages the integration logged at `level` or above."""
    return [
        f"{r.levelname}: {r.getMessage()}"
        for r in caplog.records
        if r.name.startswith(LOGGER) and r.levelno >= level
    ]


class StateWrites:
    """Counts state writes of one entity."""

    def __init__(self, hass: HomeAssistant, entity: str) -> None:
        self.count = 0
        self.entity = entity
        self.stop = hass.bus.async_listen(EVENT_STATE_CHANGED, self._on_event)

    @callback
    def _on_event(self, event: Event[EventStateChangedData]) -> None:
        if event.data["entity_id"] == self.entity:
            self.count += 1


def reauth_flows(hass: HomeAssistant) -> list[str]:
    """Sources of the integration's flows in progress."""
    return [
        flow["context"]["source"]
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    ]


@pytest.mark.parametrize(
    ("problem", "meter_key", "meter_auth", "expected"),
    [
        pytest.param("re-keyed", wrong_key(DEFAULT_KEY), None, ErrorKind.WRONG_KEY, id="new-key"),
        pytest.param(
            "wrong GAK",
            DEFAULT_KEY,
            wrong_key(DEFAULT_AUTH_KEY),
            ErrorKind.AUTH_FAILED,
            id="new-gak",
        ),
        pytest.param(
            "re-keyed, both keys",
            wrong_key(DEFAULT_KEY),
            wrong_key(DEFAULT_AUTH_KEY),
            None,
            id="both-new",
        ),
    ],
)
async def test_refused_key_asks_once_and_quietly(
    hass: HomeAssistant,
    fake_link: FakeLink,
    caplog: pytest.LogCaptureFixture,
    key_leak_guard: KeyLeakGuard,
    problem: str,
    meter_key: bytes,
    meter_auth: bytes | None,
    expected: ErrorKind | None,
) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    for key in (meter_key, *([meter_auth] if meter_auth else [])):
        key_leak_guard.register(key)
    good = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=61)
    entry = entry_for(good, key_text=KEY_TEXT, auth_text=AUTH_TEXT)
    coordinator = await setup_entry(hass, entry)
    fake_link.send(good.next_push())
    await settle(hass)
    assert coordinator.stats.pushes == 1
    errors_entity = entity_id(hass, f"{good.meter_number}_decode_errors")
    writes = StateWrites(hass, errors_entity)
    caplog.clear()

    changed = MeterSimulator("e450", key=meter_key, auth_key=meter_auth, seed=61)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for number in range(BAD_PUSHES):
        fake_link.send(changed.next_push())
        if number % 20 == 0:
            await settle(hass)
    await settle(hass)
    await asyncio.sleep(1.2)  # the error counters are published within a second
    await hass.async_block_till_done()
    elapsed = loop.time() - started

    refused = sum(coordinator.stats.errors.values())
    assert refused == BAD_PUSHES
    if expected is not None:
        assert coordinator.stats.errors[expected] == BAD_PUSHES
    issue = ir.async_get(hass).async_get_issue(DOMAIN, f"key_rejected_{entry.entry_id}")
    assert issue is not None, problem
    assert reauth_flows(hass) == [SOURCE_REAUTH]
    assert entry.state is ConfigEntryState.LOADED  # no retry loop, no reload
    assert entry.runtime_data.coordinator is coordinator
    assert entry.runtime_data.reader.task is not None
    assert not entry.runtime_data.reader.task.done()
    loud = integration_records(caplog, logging.INFO)
    assert len(loud) <= 2, loud  # "asking for a new key" (+ at most one more)
    assert sum("asking for a new key" in line for line in loud) == 1
    assert len(integration_records(caplog, logging.DEBUG)) <= BAD_PUSHES + 10
    assert writes.count <= elapsed + 2, f"{writes.count} writes of the error counter"
    writes.stop()

    # The right key is back (the utility rolled back, or the user entered it).
    fake_link.send(good.next_push())
    await settle(hass)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"key_rejected_{entry.entry_id}") is None
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_missing_key_asks_for_one(hass: HomeAssistant, fake_link: FakeLink) -> None:
    """Set up without a key for a meter that encrypts: same path as a wrong key."""
    meter = MeterSimulator("kaifa_ma309m", key=DEFAULT_KEY, seed=62)
    entry = entry_for(meter, key_text="")
    coordinator = await setup_entry(hass, entry)
    for _ in range(20):
        fake_link.send(meter.next_push())
    await settle(hass)
    assert coordinator.stats.errors[ErrorKind.MISSING_KEY] == 20
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"key_rejected_{entry.entry_id}")
    assert reauth_flows(hass) == [SOURCE_REAUTH]
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_unreadable_stored_key_fails_set_up_once(
    hass: HomeAssistant, fake_link: FakeLink
) -> None:
    """A stored key that does not parse: re-authentication, not a set-up retry loop."""
    meter = MeterSimulator("e450", key=DEFAULT_KEY, seed=63)
    entry = entry_for(meter, key_text="not a key at all")
    entry.add_to_hass(hass)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert reauth_flows(hass) == [SOURCE_REAUTH]
    assert fake_link.openings == []  # never touched the port
    await asyncio.sleep(0.5)
    assert entry.state is ConfigEntryState.SETUP_ERROR  # and no retry scheduled


@pytest.mark.parametrize("profile", ["e450", "am550", "kaifa_ma309m"])
async def test_noisy_line_with_the_right_key_is_no_key_problem(
    hass: HomeAssistant, fake_link: FakeLink, profile: str
) -> None:
    """Damaged frames, back to back, never add up to a wrong-key repair."""
    meter = MeterSimulator(profile, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=64)
    entry = entry_for(meter, key_text=KEY_TEXT, auth_text=AUTH_TEXT)
    coordinator = await setup_entry(hass, entry)
    faults = FaultInjector(seed=64, garbage=0.1, flip=0.15, drop=0.15, truncate=0.15, repeat=0.1)
    for number in range(600):
        fake_link.send(faults.apply(meter.next_push()).data)
        if number % 25 == 0:
            await settle(hass)
    await settle(hass)
    errors = coordinator.stats.errors
    assert coordinator.stats.pushes > 200
    assert errors[ErrorKind.WRONG_KEY] == errors[ErrorKind.AUTH_FAILED] == 0, dict(errors)
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"key_rejected_{entry.entry_id}") is None
    assert reauth_flows(hass) == []
    assert await hass.config_entries.async_unload(entry.entry_id)
