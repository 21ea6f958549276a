"""Value evolution: a simulated day behaves like a real household behind a real meter."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise
from statistics import mean, pstdev
from typing import Any

import pytest

from simulator import MeterSimulator
from simulator.household import MESSAGES

STEP = 60.0  # seconds between pushes
DAY = int(24 * 3600 / STEP)
ENERGIES = [f"1-1:{c}.255" for c in ("1.8.0", "1.8.1", "1.8.2", "2.8.0", "3.8.0", "4.8.0")]
PHASES = ((21, 22, 31, 32), (41, 42, 51, 52), (61, 62, 71, 72))


def _num(values: dict[str, tuple[Any, str | None]], code: str) -> Decimal:
    value = values[code][0]
    assert isinstance(value, int | Decimal), code
    return Decimal(value)


@pytest.fixture(scope="module")
def summer_day() -> list[dict[str, tuple[Any, str | None]]]:
    """One push a minute for 24 h, starting Wednesday 18 June 2025, 00:00 Zurich."""
    sim = MeterSimulator("e450", seed=11, start=datetime(2025, 6, 17, 22, 0, tzinfo=UTC))
    history = []
    for _ in range(DAY):
        sim.next_push(elapsed=STEP)
        history.append(dict(sim.last_values))
    return history


def test_energy_registers_never_decrease(summer_day: list[dict[str, Any]]) -> None:
    for earlier, later in pairwise(summer_day):
        for code in ENERGIES:
            assert _num(later, code) >= _num(earlier, code), code
    for code in ("1-1:1.8.0.255", "1-1:2.8.0.255", "1-1:3.8.0.255"):
        assert _num(summer_day[-1], code) > _num(summer_day[0], code), code


def test_energy_is_the_integral_of_power(summer_day: list[dict[str, Any]]) -> None:
    """Each register grows by the power shown one push earlier times the interval."""
    for energy, power in (
        ("1-1:1.8.0.255", "1-0:1.7.0.255"),
        ("1-1:2.8.0.255", "1-0:2.7.0.255"),
        ("1-1:3.8.0.255", "1-0:3.7.0.255"),
        ("1-1:4.8.0.255", "1-0:4.7.0.255"),
    ):
        integral = sum(_num(push, power) for push in summer_day[:-1]) * Decimal(STEP / 3600)
        grown = _num(summer_day[-1], energy) - _num(summer_day[0], energy)
        # Powers are rounded to 1 W (0.5 W * 1439 min = 12 Wh) and registers floored.
        assert abs(grown - integral) <= 14, energy


def test_tariffs_split_the_import(summer_day: list[dict[str, Any]]) -> None:
    total, high, low = "1-1:1.8.0.255", "1-1:1.8.1.255", "1-1:1.8.2.255"
    for push in summer_day:
        assert abs(_num(push, total) - _num(push, high) - _num(push, low)) <= 1
    tariffs = [push["0-0:96.14.0.255"][0] for push in summer_day]
    assert tariffs[: 6 * 60] == ["RATE2"] * (6 * 60)  # 00:01-06:00 NT
    assert tariffs[8 * 60 : 19 * 60] == ["RATE1"] * (11 * 60)  # 08:01-19:00 HT
    assert tariffs[21 * 60 :] == ["RATE2"] * (len(tariffs) - 21 * 60)
    for earlier, later in pairwise(summer_day):
        idle = high if earlier["0-0:96.14.0.255"][0] == "RATE2" else low
        assert later[idle] == earlier[idle]


def test_pv_exports_at_noon_and_the_house_imports_at_night(
    summer_day: list[dict[str, Any]],
) -> None:
    night = summer_day[2 * 60 : 4 * 60]
    noon = summer_day[11 * 60 : 14 * 60]
    assert all(_num(p, "1-0:2.7.0.255") == 0 for p in night)
    assert all(_num(p, "1-0:1.7.0.255") > 0 for p in night)
    assert sum(_num(p, "1-0:2.7.0.255") > 0 for p in noon) > len(noon) // 2
    for push in summer_day:  # the meter nets the phases: never import and export at once
        assert _num(push, "1-0:1.7.0.255") == 0 or _num(push, "1-0:2.7.0.255") == 0
        for imp, exp, _, _ in PHASES:
            assert _num(push, f"1-0:{imp}.7.0.255") == 0 or _num(push, f"1-0:{exp}.7.0.255") == 0


def test_voltage_current_and_power_factor(summer_day: list[dict[str, Any]]) -> None:
    for _, _, _, volt in PHASES:
        volts = [_num(p, f"1-0:{volt}.7.0.255") for p in summer_day]
        assert min(volts) >= 207
        assert max(volts) <= 253
        assert 225 <= mean(volts) <= 235
        assert pstdev(volts) > 0.3  # it wanders
    for push in summer_day:
        pf = _num(push, "1-0:13.7.0.255")
        assert Decimal("0.9") <= pf <= 1
        total_phase = Decimal(0)
        for imp, exp, amp, volt in PHASES:
            p = _num(push, f"1-0:{imp}.7.0.255") + _num(push, f"1-0:{exp}.7.0.255")
            apparent = _num(push, f"1-0:{amp}.7.0.255") * _num(push, f"1-0:{volt}.7.0.255")
            # I = S / U and S >= |P| (rounding: U to 1 V, I to 0.01 A)
            assert apparent >= p - Decimal("0.01") * p - 5
            total_phase += _num(push, f"1-0:{imp}.7.0.255") - _num(push, f"1-0:{exp}.7.0.255")
        net = _num(push, "1-0:1.7.0.255") - _num(push, "1-0:2.7.0.255")
        assert abs(net - total_phase) <= 2  # phase powers add up to the total


def test_clock_and_texts(summer_day: list[dict[str, Any]]) -> None:
    stamps = [push["0-0:1.0.0.255"][0] for push in summer_day]
    assert all(b - a == timedelta(seconds=STEP) for a, b in pairwise(stamps))
    assert stamps[0].utcoffset() == timedelta(hours=2)
    messages = {push["0-0:96.13.0.255"][0] for push in summer_day}
    assert "" in messages
    assert messages <= {"", *MESSAGES}


def test_long_gaps_are_integrated_in_steps() -> None:
    sim = MeterSimulator("kaifa_ma309m", seed=3, start=datetime(2025, 3, 1, tzinfo=UTC))
    sim.next_push(elapsed=0)
    before = _num(sim.last_values, "1-0:1.8.0.255")
    sim.next_push(elapsed=7 * 24 * 3600)
    after = _num(sim.last_values, "1-0:1.8.0.255")
    assert 7 * 24 * 100 < after - before < 7 * 24 * 20_000  # 100 W .. 20 kW average
    assert sim.clock == datetime(2025, 3, 8, tzinfo=UTC)
