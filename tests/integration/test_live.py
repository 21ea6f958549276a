"""The live window behind the dashboard's graph: what it keeps, for how long, for whom."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from custom_components.swiss_meter_cii.decoder.push import Push, Reading
from custom_components.swiss_meter_cii.live import MAX_POINTS, WINDOW_SECONDS, LiveWindow
from custom_components.swiss_meter_cii.net_power import graph_power, net_power


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def _push(**values: tuple[object, str | None]) -> Push:
    codes = {
        "imp": "1-0:1.7.0.255",
        "exp": "1-0:2.7.0.255",
        "imp1": "1-1:1.7.0.255",
        "volt": "1-0:32.7.0.255",
    }
    return Push(values={codes[k]: Reading(v, unit) for k, (v, unit) in values.items()})  # type: ignore[arg-type]


def test_points_are_net_power_of_each_push_within_the_window() -> None:
    clock = Clock()
    window = LiveWindow(clock)
    events: list[dict[str, Any]] = []
    window.subscribe(events.append)
    window.add(_push(imp=(1500, "W"), exp=(0, "W"), volt=(Decimal("230.1"), "V")), "123")
    clock.now += 5
    window.add(_push(imp=(0, "W"), exp=(Decimal("2.5"), "kW")), "123")
    clock.now += 5
    window.add(_push(volt=(231, "V")), "123")  # a list without power: no point, but an age
    snapshot = window.snapshot(5.0)
    assert snapshot["points"] == [[1_000_000.0, 1500.0], [1_000_005.0, -2500.0]]
    assert snapshot["interval"] == 5.0
    assert snapshot["received"]["1-0:32.7.0.255"] == 1_000_010.0
    assert snapshot["received"]["1-0:1.7.0.255"] == 1_000_005.0
    assert [e.get("net") for e in events] == [1500.0, -2500.0, None]
    clock.now += WINDOW_SECONDS - 7
    assert window.snapshot()["points"] == [[1_000_005.0, -2500.0]]  # the first left the window


def test_another_meter_starts_afresh_and_the_window_is_bounded() -> None:
    clock = Clock()
    window = LiveWindow(clock)
    window.add(_push(imp=(1, "W"), exp=(0, "W")), "old")
    window.add(_push(imp=(2, "W"), exp=(0, "W")), "new")
    snapshot = window.snapshot()
    assert snapshot["meter"] == "new"
    assert snapshot["points"] == [[clock.now, 2.0]]
    for _ in range(MAX_POINTS + 10):
        window.add(_push(imp=(3, "W"), exp=(0, "W")), "new")
    assert len(window.snapshot()["points"]) == MAX_POINTS


def test_close_tells_subscribers_once_and_forgets_them() -> None:
    window = LiveWindow(Clock())
    events: list[dict[str, Any]] = []
    remove = window.subscribe(events.append)
    window.close()
    window.add(_push(imp=(1, "W"), exp=(0, "W")), "m")
    assert events == [{"closed": True}]
    remove()  # harmless after close


def test_graph_power_falls_back_to_import_only() -> None:
    values = _push(imp1=(Decimal("1.25"), "kW")).values
    assert net_power(values) is None
    assert graph_power(values) == Decimal("1250.00")
    assert graph_power(_push(volt=(230, "V")).values) is None
    assert graph_power(_push(imp=(True, "W"), exp=(0, "W")).values) is None  # not a number
