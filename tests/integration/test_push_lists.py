"""Every push list on its own clock (simulated time; tests/reliability/test_realtime.py has
the real-time checks on real links).

A meter with a fast list (instantaneous values every 5 s) and a slow one (registers every
60 s): slow values stay live between their pushes, go unavailable when their list stops while
the fast one goes on, and a register that both lists carry never dips or flaps.
"""

from __future__ import annotations

from decimal import Decimal

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped,unused-ignore]
    MockConfigEntry,
)

from custom_components.swiss_meter_cii.const import CONF_PUSH_INTERVALS
from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator
from custom_components.swiss_meter_cii.decoder.push import Push, Reading
from simulator import MeterSimulator

from .conftest import FakeLink, advance, entity_id, entry_for, setup_entry

pytestmark = pytest.mark.usefixtures("no_watchdog")

FAST, SLOW = "0-1:25.9.0.255", "0-2:25.9.0.255"
NUMBER = "0-0:96.1.0.255"
POWER = "1-0:1.7.0.255"
ENERGY = "1-0:1.8.0.255"  # in both lists
TARIFF_1 = "1-0:1.8.1.255"  # only in the slow list


def fast_push(meter: MeterSimulator, watts: int, wh: int) -> Push:
    return Push(
        values={
            NUMBER: Reading(meter.meter_number, None),
            POWER: Reading(watts, "W"),
            ENERGY: Reading(wh, "Wh"),
        },
        push_setup=FAST,
    )


def slow_push(wh: int, t1: int) -> Push:
    """The register list: no meter number (many meters send it only in one list)."""
    return Push(values={ENERGY: Reading(wh, "Wh"), TARIFF_1: Reading(t1, "Wh")}, push_setup=SLOW)


def state(hass: HomeAssistant, meter: MeterSimulator, obis: str) -> str:
    found = hass.states.get(entity_id(hass, f"{meter.meter_number}_{obis}"))
    assert found is not None
    return found.state


async def run_meter(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    coordinator: SwissMeterCoordinator,
    meter: MeterSimulator,
    seconds: int,
    *,
    start: int = 0,
    slow: bool = True,
    seen: dict[str, list[str]] | None = None,
) -> int:
    """Push the fast list every 5 s and the slow list every 60 s (an older energy snapshot)."""
    for second in range(start, start + seconds, 5):
        wh = 1_000_000 + second  # 1 Wh per second
        coordinator.handle_push(fast_push(meter, 500 + second % 7, wh))
        if slow and second % 60 == 0:
            # Captured at the start of the interval: a little behind the fast list's value.
            coordinator.handle_push(slow_push(wh - 3, 400_000 + second // 60))
        await advance(hass, freezer, 5)
        if seen is not None:
            for obis in (ENERGY, TARIFF_1, POWER):
                seen.setdefault(obis, []).append(state(hass, meter, obis))
    return start + seconds


async def test_slow_list_values_stay_live_between_their_pushes(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[MockConfigEntry, SwissMeterCoordinator],
    caplog: pytest.LogCaptureFixture,
) -> None:
    _, coordinator = loaded
    seen: dict[str, list[str]] = {}
    await run_meter(hass, freezer, coordinator, meter, 600, seen=seen)
    # From its first push on, the slow list's own value never blinked unavailable.
    tariff = seen[TARIFF_1]
    assert STATE_UNAVAILABLE not in tariff
    assert Decimal(tariff[0]) == Decimal("400.000")  # kWh
    assert Decimal(tariff[-1]) == Decimal("400.009")
    # The register in both lists only ever rises (the slow list's older snapshot never
    # shows, and is not logged as a glitch either).
    energy = [Decimal(s) for s in seen[ENERGY]]
    assert energy == sorted(energy)
    assert "Dropped implausible reading" not in caplog.text
    intervals = {name: clock.interval for name, clock in coordinator.lists.items()}
    assert intervals == {FAST: pytest.approx(5.0, abs=0.005), SLOW: pytest.approx(60.0, abs=0.005)}
    # Learned intervals are stored with the entry for the next start.
    assert coordinator.config_entry.data[CONF_PUSH_INTERVALS] == {FAST: 5.0, SLOW: 60.0}


async def test_stopped_slow_list_goes_unavailable_alone(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fake_link: FakeLink,
    meter: MeterSimulator,
    loaded: tuple[MockConfigEntry, SwissMeterCoordinator],
) -> None:
    _, coordinator = loaded
    second = await run_meter(hass, freezer, coordinator, meter, 300)
    assert state(hass, meter, TARIFF_1) != STATE_UNAVAILABLE
    seen: dict[str, list[str]] = {}
    # The slow list stops; the fast one goes on. After 3 x 60 s its own value is gone...
    await run_meter(hass, freezer, coordinator, meter, 240, start=second, slow=False, seen=seen)
    tariff = seen[TARIFF_1]
    gone = tariff.index(STATE_UNAVAILABLE)
    # The last slow push was 60 s before the stop: unavailable 180 s after it, 120 s after
    # the stop (states are sampled every 5 s, the first one 5 s after the stop).
    assert (gone + 1) * 5 == 120, tariff
    assert all(s == STATE_UNAVAILABLE for s in tariff[gone:])
    # ... while the fast list's values and the register it also carries stay live.
    assert STATE_UNAVAILABLE not in seen[POWER]
    assert STATE_UNAVAILABLE not in seen[ENERGY]


async def test_second_list_without_stored_interval_does_not_blink(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """First run, nothing stored: the slow list's first minute is not a gap."""
    coordinator = await setup_entry(hass, entry_for(meter))
    seen: dict[str, list[str]] = {}
    await run_meter(hass, freezer, coordinator, meter, 130, seen=seen)
    assert STATE_UNAVAILABLE not in seen[TARIFF_1][1:], seen[TARIFF_1]
    assert await hass.config_entries.async_unload(coordinator.config_entry.entry_id)


async def test_stored_interval_is_used_from_the_first_push(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, fake_link: FakeLink, meter: MeterSimulator
) -> None:
    """A 1 s meter (interval from the wizard) that dies after one push: gone after 30 s."""
    template = entry_for(meter)
    entry = MockConfigEntry(
        domain=template.domain,
        title=template.title,
        unique_id=template.unique_id,
        data={**template.data, CONF_PUSH_INTERVALS: {FAST: 1.0}},
    )
    coordinator = await setup_entry(hass, entry)
    assert coordinator.push_interval == 1.0
    coordinator.handle_push(fast_push(meter, 500, 1_000_000))
    await advance(hass, freezer, 29)
    assert state(hass, meter, POWER) == "500"
    await advance(hass, freezer, 2)
    assert state(hass, meter, POWER) == STATE_UNAVAILABLE
    assert await hass.config_entries.async_unload(entry.entry_id)
