"""Energy statistics survive a bad line and a glitching meter (the energy guard, end to end).

Thousands of E450 pushes go through the integration with every line fault (garbage, flipped
bits, dropped bytes, truncated and repeated pushes) plus glitches the meter itself could send
in a valid, authenticated frame: an energy register lower than before, zero, a few lower
values in a row, or one value far too high. Every state
change of every `total_increasing` sensor in Home Assistant's state machine is checked: never
down, never to zero, and the real readings still get through.
RELIABILITY_ENERGY_PUSHES=10000 gives the long run (README "Reliability").
"""

from __future__ import annotations

from collections import Counter
import logging
import os
import random

from homeassistant.components.sensor import ATTR_STATE_CLASS, SensorStateClass
from homeassistant.const import EVENT_STATE_CHANGED
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
import pytest

from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, FaultInjector, MeterSimulator
from tests.integration.conftest import FakeLink, entity_id, entry_for, settle, setup_entry

from .harness import START, replace_u32, rewrap

pytestmark = pytest.mark.usefixtures("enable_custom_integrations")

PUSHES = int(os.environ.get("RELIABILITY_ENERGY_PUSHES", "1500"))
REGISTERS = ("1-1:1.8.0.255", "1-1:2.8.0.255", "1-1:3.8.0.255", "1-1:1.8.1.255")
GLITCH_RATE = 0.03
LOGGER = "custom_components.swiss_meter_cii"


def register_wh(sim: MeterSimulator, register: str) -> int:
    """The raw value of an E450 energy register in the last push (Wh/varh, scaler 0)."""
    value = sim.last_values[register][0]
    assert isinstance(value, int)
    return value


class Monotonic:
    """Watches every total_increasing sensor; records each transition that goes wrong."""

    def __init__(self, hass: HomeAssistant) -> None:
        self.last: dict[str, float] = {}
        self.transitions = 0
        self.violations: list[str] = []
        self.stop = hass.bus.async_listen(EVENT_STATE_CHANGED, self._on_event)

    @callback
    def _on_event(self, event: Event[EventStateChangedData]) -> None:
        new = event.data["new_state"]
        if new is None or new.attributes.get(ATTR_STATE_CLASS) != (
            SensorStateClass.TOTAL_INCREASING
        ):
            return
        try:
            value = float(new.state)
        except ValueError:
            return  # unavailable / unknown: the next number is compared with the last one
        entity = event.data["entity_id"]
        before = self.last.get(entity)
        self.transitions += 1
        if before is not None and (value < before or (value == 0 and before > 0)):
            self.violations.append(f"{entity}: {before} -> {value}")
        self.last[entity] = value


async def test_total_increasing_never_goes_down(
    hass: HomeAssistant, fake_link: FakeLink, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    sim = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=71, start=START)
    entry = entry_for(sim, auth_text=DEFAULT_AUTH_KEY.hex())
    coordinator = await setup_entry(hass, entry)
    watcher = Monotonic(hass)
    faults = FaultInjector(seed=71, garbage=0.05, flip=0.05, drop=0.05, truncate=0.05, repeat=0.05)
    rng = random.Random(71)
    glitches: Counter[str] = Counter()
    burst = 0
    for number in range(PUSHES):
        wire = sim.next_push(elapsed=5.0)
        if burst or rng.random() < GLITCH_RATE:
            register = rng.choice(REGISTERS)
            real = register_wh(sim, register)
            if burst:  # a few low or zero values in a row (fewer than the guard's 30)
                kind, burst = rng.choice(("zero", "lower")), burst - 1
            else:
                kind = rng.choice(("zero", "lower", "lower", "burst", "spike"))
                burst = rng.randint(1, 4) if kind == "burst" else 0
            if kind == "spike":  # one push far above the register (the next one is real)
                glitched = real + rng.randrange(100_000, 100_000_000)
            else:
                glitched = 0 if kind == "zero" else rng.randrange(max(1, real // 2), real)
            apdu = replace_u32(sim.last_apdu, real, glitched)
            wire = rewrap(sim, apdu, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY)
            glitches[kind] += 1
        fake_link.send(faults.apply(wire).data)
        if number % 10 == 0:
            await settle(hass)
    intact = faults.apply(sim.next_push(elapsed=5.0))
    while intact.fault != "intact":  # end on a good push to compare with the meter
        intact = faults.apply(sim.next_push(elapsed=5.0))
    fake_link.send(intact.data)
    await settle(hass)
    watcher.stop()

    assert sum(glitches.values()) > PUSHES * GLITCH_RATE / 2, glitches
    assert watcher.violations == [], watcher.violations[:10]
    assert watcher.transitions > PUSHES  # many sensors, many real increases got through
    assert sum(coordinator.guard.rejected.values()) >= sum(glitches.values()) // 2
    for register in REGISTERS:
        state = hass.states.get(entity_id(hass, f"{sim.meter_number}_{register}"))
        assert state is not None
        value, unit = sim.last_values[register]
        factor = 1000 if state.attributes["unit_of_measurement"] in ("kWh", "kvarh") else 1
        assert float(state.state) * factor == pytest.approx(float(str(value))), (register, unit)
    # One warning per register for its first dropped reading; the rest is debug.
    warnings = [
        r for r in caplog.records if r.name.startswith(LOGGER) and r.levelno >= logging.WARNING
    ]
    assert len(warnings) <= len(REGISTERS) + 1, [r.getMessage() for r in warnings]
    print(
        f"\n{PUSHES} pushes, faults {dict(faults.counts)}, glitches {dict(glitches)}: "
        f"{watcher.transitions} total_increasing transitions checked, none down or to zero; "
        f"guard dropped {dict(coordinator.guard.rejected)}"
    )
    assert await hass.config_entries.async_unload(entry.entry_id)


async def test_a_single_high_glitch_does_not_spoil_the_statistics(
    hass: HomeAssistant, fake_link: FakeLink
) -> None:
    sim = MeterSimulator("e450", key=DEFAULT_KEY, seed=72, start=START)
    entry = entry_for(sim)
    await setup_entry(hass, entry)
    watcher = Monotonic(hass)
    register = "1-1:1.8.0.255"
    for number in range(60):
        wire = sim.next_push(elapsed=5.0)
        if number == 5:  # one push says 1,000 MWh more than the register holds
            real = register_wh(sim, register)
            apdu = replace_u32(sim.last_apdu, real, real + 1_000_000_000)
            wire = rewrap(sim, apdu, key=DEFAULT_KEY, auth_key=None)
        fake_link.send(wire)
        await settle(hass)
    watcher.stop()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert watcher.violations == []
    energy = entity_id(hass, f"{sim.meter_number}_{register}")
    assert watcher.last[energy] * 1000 < register_wh(sim, register) + 1_000_000


async def test_a_glitch_repeated_once_does_not_spoil_the_statistics(
    hass: HomeAssistant, fake_link: FakeLink
) -> None:
    """E.g. a wrong scaler for two pushes (x1000): Wh read as if they were kWh."""
    sim = MeterSimulator("e450", key=DEFAULT_KEY, seed=73, start=START)
    entry = entry_for(sim)
    await setup_entry(hass, entry)
    watcher = Monotonic(hass)
    register = "1-1:1.8.0.255"
    for number in range(50):
        wire = sim.next_push(elapsed=5.0)
        if number in (5, 6):
            real = register_wh(sim, register)
            apdu = replace_u32(sim.last_apdu, real, min(real * 1000, 0xFFFFFFFF))
            wire = rewrap(sim, apdu, key=DEFAULT_KEY, auth_key=None)
        fake_link.send(wire)
        await settle(hass)
    watcher.stop()
    assert await hass.config_entries.async_unload(entry.entry_id)
    assert watcher.violations == []
