"""Every push list on its own clock: when it last came, how often it comes, when it is late.

Meters send several lists at their own rates: an E450 its instantaneous values every 5 s and
the energy registers every 60 s or 15 min, SIL Lausanne a consumer message every minute next
to a 5 s list. A value is live while a list that carries it is on time, so a slow list neither
goes unavailable between its pushes nor stays live long after it stopped. No Home Assistant
imports: the coordinator owns the timers and the timeouts, this module only keeps time.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from statistics import median
import zlib

from .decoder.push import Push

INTERVAL_SAMPLES = 15  # intervals kept per list for the median
HINT_TOLERANCE = 0.2  # a measured interval this far from the stored one replaces it


def list_id(push: Push) -> str:
    """Name the list a push belongs to: its push-setup object, else its layout and codes.

    Stable across restarts (it is stored with the entry as the interval hint's key).
    """
    if push.push_setup:
        return push.push_setup
    codes = ",".join(sorted(push.values))
    return f"{push.layout or 'push'}:{zlib.crc32(codes.encode()):08x}"


@dataclass(slots=True)
class ListClock:
    """One push list: its codes, its measured rhythm and whether it is on time."""

    hint: float | None = None  # interval known before this run (the wizard, an earlier run)
    codes: set[str] = field(default_factory=set)
    last: float | None = None  # loop time of its last push
    on_time: bool = False
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=INTERVAL_SAMPLES))

    def arrived(self, now: float, codes: Iterable[str]) -> None:
        """Record a push of this list at loop time `now`."""
        if self.last is not None:
            self.intervals.append(now - self.last)
        self.last = now
        self.on_time = True
        self.codes.update(codes)

    @property
    def measured(self) -> float | None:
        """Median of this run's intervals (None before two pushes)."""
        return median(self.intervals) if self.intervals else None

    @property
    def interval(self) -> float | None:
        """Best known interval: measured, else the stored hint."""
        return self.measured or self.hint

    def hint_update(self) -> float | None:
        """Return a measured interval worth storing (differs from the hint), else None."""
        measured = self.measured
        if measured is None or len(self.intervals) < 2:
            return None
        if self.hint and abs(measured - self.hint) <= HINT_TOLERANCE * self.hint:
            return None
        return round(measured, 1)


def live_codes(clocks: Mapping[str, ListClock]) -> set[str] | None:
    """OBIS codes carried by a list that is on time; None when every list is on time."""
    if all(clock.on_time for clock in clocks.values()):
        return None
    live: set[str] = set()
    for clock in clocks.values():
        if clock.on_time:
            live |= clock.codes
    return live
