"""Cumulative registers never go down or to zero because of a glitch."""

from __future__ import annotations

from decimal import Decimal
import logging

from homeassistant.core import HomeAssistant, State
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
    mock_restore_cache_with_extra_data,
)

from custom_components.swiss_meter_cii.const import DOMAIN
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder.push import Push, Reading
from custom_components.swiss_meter_cii.energy_guard import EnergyGuard
from simulator import MeterSimulator

from .conftest import FakeLink, as_float, energy_state, entry_for, send_push, settle, setup_entry

ENERGY = "1-1:1.8.0.255"
POWER = "1-0:1.7.0.255"


def test_guard_holds_a_spike_until_the_next_push_confirms_it() -> None:
    guard = EnergyGuard()
    assert guard.accept("r", Reading(1_000_000, "Wh"))
    assert guard.accept("r", Reading(1_000_050, "Wh"))
    # One corrupt push claims 1,000 MWh more: held back, never published ...
    assert not guard.accept("r", Reading(1_001_000_050, "Wh"))
    assert guard.last("r") == 1_000_050
    # ... and the real value that follows is published (it is not a drop).
    assert guard.accept("r", Reading(1_000_100, "Wh"))
    assert guard.last("r") == 1_000_100


def test_guard_publishes_a_confirmed_catch_up_two_pushes_late() -> None:
    guard = EnergyGuard()
    assert guard.accept("r", Reading(1_000_000, "Wh"))
    assert guard.accept("r", Reading(1_000_040, "Wh"))
    # The meter was out of reach for a day: 20 kWh more at once.
    assert not guard.accept("r", Reading(1_020_040, "Wh"))
    assert not guard.accept("r", Reading(1_020_080, "Wh"))  # one confirmation
    assert guard.accept("r", Reading(1_020_120, "Wh"))  # two: published
    assert guard.last("r") == 1_020_120
    assert guard.accept("r", Reading(1_020_160, "Wh"))  # and normal steps go on


def test_guard_drops_a_spike_repeated_in_the_next_push() -> None:
    guard = EnergyGuard()
    assert guard.accept("r", Reading(1_000_000, "Wh"))
    assert guard.accept("r", Reading(1_000_040, "Wh"))
    # Two pushes read with a wrong scaler (x1000), then the real values again.
    assert not guard.accept("r", Reading(1_000_080_000, "Wh"))
    assert not guard.accept("r", Reading(1_000_120_000, "Wh"))
    assert guard.accept("r", Reading(1_000_160, "Wh"))
    assert guard.last("r") == 1_000_160


def test_guard_lets_large_steady_steps_through() -> None:
    # A CT meter on a large plant: 14 kWh per push every push is its normal pace.
    guard = EnergyGuard()
    value = 5_000_000
    assert guard.accept("r", Reading(value, "Wh"))
    value += 9_000
    assert guard.accept("r", Reading(value, "Wh"))
    for _ in range(20):
        value += 14_000
        assert guard.accept("r", Reading(value, "Wh"))


def test_guard_rules() -> None:
    guard = EnergyGuard(resync_after=3)
    assert guard.accept("r", Reading(1000, "Wh"))
    assert guard.accept("r", Reading(1000, "Wh"))  # unchanged is fine
    assert guard.accept("r", Reading(Decimal("1.5"), "kWh"))  # same register in kWh: 1500 Wh
    assert not guard.accept("r", Reading(1499, "Wh"))
    assert not guard.accept("r", Reading(0, "Wh"))
    assert not guard.accept("r", Reading(None, "Wh"))
    assert not guard.accept("r", Reading(-5, "Wh"))
    assert not guard.accept("r", Reading("1600", "Wh"))
    assert guard.rejected == {"r": 5}
    assert guard.last("r") == 1500
    assert guard.accept("r", Reading(1501, "Wh"))
    # Zero as the very first value is a real (new) register, not a glitch.
    assert guard.accept("fresh", Reading(0, "Wh"))
    assert guard.accept("fresh", Reading(2, "Wh"))


def test_persistent_consistent_drop_is_accepted() -> None:
    """A changed scaler divides a register by ten for good: accept it after a while."""
    guard = EnergyGuard(resync_after=3)
    guard.accept("r", Reading(123_450, "Wh"))
    assert not guard.accept("r", Reading(12_345, "Wh"))
    assert not guard.accept("r", Reading(12_346, "Wh"))
    assert guard.accept("r", Reading(12_346, "Wh"))
    assert guard.last("r") == 12_346
    # An alternating glitch never builds up a run.
    assert not guard.accept("r", Reading(100, "Wh"))
    assert guard.accept("r", Reading(12_400, "Wh"))
    assert not guard.accept("r", Reading(100, "Wh"))
    assert not guard.accept("r", Reading(90, "Wh"))  # lower than the run: the run restarts
    assert not guard.accept("r", Reading(90, "Wh"))
    # Zero never resynchronises.
    for _ in range(10):
        assert not guard.accept("r", Reading(0, "Wh"))


def test_seed_only_when_nothing_newer() -> None:
    guard = EnergyGuard()
    guard.seed("r", Reading(Decimal("12.5"), "kWh"))
    assert guard.last("r") == 12_500
    guard.seed("r", Reading(1, "Wh"))
    assert guard.last("r") == 12_500
    guard.seed("bad", Reading("x", None))
    assert guard.last("bad") is None


def push_of(meter: MeterSimulator, values: dict[str, Reading]) -> Push:
    """A glitchy push of the E450's own list (a lower value from another list is an older
    snapshot, not a glitch: tests/integration/test_push_lists.py)."""
    return Push(
        values={"0-0:96.1.1.255": Reading(meter.meter_number, None), **values},
        system_title=meter.system_title,
        push_setup="0-8:25.9.0.255",
    )


async def test_lower_and_zero_are_not_published(
    hass: HomeAssistant,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[MockConfigEntry, SwissMeterCoordinator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, coordinator = loaded
    await send_push(hass, fake_link, meter)
    good = as_float(meter.last_values[ENERGY][0])
    unique_id = f"{meter.meter_number}_{ENERGY}"
    assert energy_state(hass, unique_id) == pytest.approx(good)

    for glitch in (Reading(0, "Wh"), Reading(int(good) - 1000, "Wh")):
        coordinator.handle_push(push_of(meter, {ENERGY: glitch, POWER: Reading(777, "W")}))
        await settle(hass)
        assert energy_state(hass, unique_id) == pytest.approx(good)
    # The rest of the glitchy push is published: only the register is held back.
    assert coordinator.data.values[POWER].value == 777
    assert coordinator.guard.rejected[unique_id] == 2
    warnings = [
        r for r in caplog.records if r.levelno == logging.WARNING and ENERGY in r.getMessage()
    ]
    assert len(warnings) == 1  # one warning per register, then debug

    await send_push(hass, fake_link, meter)
    assert energy_state(hass, unique_id) == pytest.approx(as_float(meter.last_values[ENERGY][0]))


async def test_restart_restores_the_guard(
    hass: HomeAssistant, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """After a restart the first push must not publish a value below the last one."""
    entry = entry_for(meter)
    entry.add_to_hass(hass)
    unique_id = f"{meter.meter_number}_{ENERGY}"
    registered = er.async_get(hass).async_get_or_create(
        "sensor", DOMAIN, unique_id, config_entry=entry, suggested_object_id="meter_import"
    )
    high = Decimal("99999999")  # Wh, above anything the simulator sends
    mock_restore_cache_with_extra_data(
        hass,
        [
            (
                State(registered.entity_id, "99999.999"),
                {
                    "native_value": {
                        "__type": "<class 'decimal.Decimal'>",
                        "decimal_str": str(high),
                    },
                    "native_unit_of_measurement": "Wh",
                },
            )
        ],
    )
    coordinator = await setup_entry(hass, entry)
    # Known from before: the entity exists before the first push, unavailable.
    state = hass.states.get(registered.entity_id)
    assert state is not None
    assert state.state == "unavailable"
    assert coordinator.guard.last(unique_id) == high

    await send_push(hass, fake_link, meter)
    assert coordinator.data.values.get(ENERGY) is None  # held back: lower than before
    assert coordinator.data.values[POWER].value == meter.last_values[POWER][0]

    # Still unavailable at the next shutdown: the guard's value is what gets stored, so the
    # restart after that cannot publish a lower value either.
    entity = hass.data["sensor"].get_entity(registered.entity_id)
    assert entity is not None
    assert not entity.available
    stored = entity.extra_restore_state_data.as_dict()
    assert stored["native_value"]["decimal_str"] == str(high)
    assert stored["native_unit_of_measurement"] == "Wh"
    await hass.config_entries.async_unload(entry.entry_id)
