"""The last five minutes of one meter's pushes, for the dashboard's live graph and value ages.

Home Assistant records a state only when it changes, so a graph drawn from history cannot tell
"no push arrived" from "the same value arrived again", and joins its points with lines. The
live graph must show every push and a gap where none came (docs/architecture.md, "Dashboard"),
so the window keeps each push's time and net power itself, in memory, for a few minutes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
import time
from typing import Any, Final

from homeassistant.core import CALLBACK_TYPE, callback

from .decoder.push import Push
from .listeners import Listeners
from .net_power import graph_power

WINDOW_SECONDS: Final = 300.0  # what the graph shows: the concept's live window, 5 minutes
MAX_POINTS: Final = 3000  # 10 pushes a second for 5 minutes: a bound, never reached by a meter

type LiveEvent = dict[str, Any]
type LiveListener = Callable[[LiveEvent], None]


class LiveWindow:
    """Receive times and net power of recent pushes; tells subscribers about each new one."""

    __slots__ = ("_clock", "_listeners", "_meter", "_points", "_received")

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        """Start empty; `clock` gives the wall time in seconds (the browser's time base)."""
        self._clock = clock
        self._points: deque[tuple[float, float]] = deque(maxlen=MAX_POINTS)
        self._received: dict[str, float] = {}  # code -> receive time of its last push
        self._meter: str | None = None
        self._listeners: Listeners[LiveEvent] = Listeners()

    @callback
    def add(self, push: Push, meter_number: str, _reading_time: datetime | None = None) -> None:
        """Record an accepted push and tell the subscribers (a coordinator push listener)."""
        now = self._clock()
        if meter_number != self._meter:
            # Another meter on this port (a swap): its values start their own history.
            self._meter = meter_number
            self._points.clear()
            self._received.clear()
        codes = list(push.values)
        for code in codes:
            self._received[code] = now
        event: LiveEvent = {"t": now, "meter": meter_number, "codes": codes}
        watts = graph_power(push.values)
        if watts is not None:
            self._points.append((now, float(watts)))
            event["net"] = float(watts)
        self._trim(now)
        self._listeners.notify(event)

    def snapshot(self, interval: float | None = None) -> LiveEvent:
        """Return what a new subscriber needs: the points, every code's age, the server time.

        `interval` is the meter's push interval when known: until the window holds a few
        pushes the graph cannot measure it, and needs it to tell a missed push from the next.
        """
        now = self._clock()
        self._trim(now)
        return {
            "now": now,
            "window": WINDOW_SECONDS,
            "interval": interval,
            "meter": self._meter,
            "points": [list(point) for point in self._points],
            "received": dict(self._received),
        }

    @callback
    def subscribe(self, listener: LiveListener) -> CALLBACK_TYPE:
        """Call `listener` with each push's event; returns the remover."""
        return self._listeners.add(listener)

    @callback
    def close(self) -> None:
        """Tell subscribers that the entry unloads (they subscribe again after a reload)."""
        self._listeners.notify({"closed": True})
        self._listeners.clear()

    def _trim(self, now: float) -> None:
        points = self._points
        while points and points[0][0] < now - WINDOW_SECONDS:
            points.popleft()
