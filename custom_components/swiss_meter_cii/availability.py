"""The timers of availability: one per push list, and one for a meter that never sends.

push_lists.py keeps time for each list; this module arms the Home Assistant timers that mark a
list late 3 of its intervals (at least 30 s) after its last push, and stores each list's
measured interval with the entry so the next start knows it (docs/architecture.md,
"Availability"). What a late list or a lost meter means for the state is the coordinator's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

from .const import (
    ASSUMED_PUSH_INTERVAL,
    CONF_PUSH_INTERVALS,
    MIN_SILENCE_TIMEOUT,
    SLOWEST_PUSH_INTERVAL,
)
from .push_lists import ListClock

_LOGGER = logging.getLogger(__package__)

SILENCE_FACTOR = 3.0  # a list is late after this many of its intervals without a valid push


class Availability:
    """Clocks and timers of one meter's push lists; reports a late list and a lost meter."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        name: str,
        on_list_late: Callable[[], None],
        on_lost: Callable[[], None],
    ) -> None:
        """`on_list_late`: a list is late but another is on time; `on_lost`: none is."""
        self._hass = hass
        self._entry = entry
        self._name = name
        self._on_list_late = on_list_late
        self._on_lost = on_lost
        self.lists: dict[str, ListClock] = {}
        self._timers: dict[str, CALLBACK_TYPE] = {}
        self._jobs: dict[str, HassJob[[datetime], None]] = {}
        # Cancelled on shutdown: a stopping Home Assistant never reports a lost meter.
        self._silence_job = HassJob(self._silence_expired, "meter silent", cancel_on_shutdown=True)
        self._silence_timer: CALLBACK_TYPE | None = None

    @property
    def push_interval(self) -> float | None:
        """The link's rhythm: the shortest interval of the meter's lists (None if unknown)."""
        intervals = [i for clock in self.lists.values() if (i := clock.interval) is not None]
        if not intervals:
            intervals = list(self._stored_intervals().values())
        return min(intervals) if intervals else None

    @property
    def silence_timeout(self) -> float:
        """Seconds without any valid push after which the meter counts as lost."""
        return self.list_timeout(self.push_interval)

    def list_timeout(self, interval: float | None, assumed: float = ASSUMED_PUSH_INTERVAL) -> float:
        """Seconds after its last push at which a list with `interval` is late.

        `assumed` stands in for an interval not known yet.
        """
        return max(MIN_SILENCE_TIMEOUT, SILENCE_FACTOR * (interval or assumed))

    @callback
    def start(self) -> None:
        """Until the first push: report a meter that never sends (lists time out later)."""
        if self._silence_timer is not None:
            self._silence_timer()
        self._silence_timer = async_call_later(self._hass, self.silence_timeout, self._silence_job)

    @callback
    def shutdown(self) -> None:
        """Cancel every timer (the entry unloads)."""
        for cancel in (self._silence_timer, *self._timers.values()):
            if cancel is not None:
                cancel()
        self._silence_timer = None
        self._timers.clear()

    @callback
    def arrived(self, name: str, codes: Iterable[str], now: float, *, live: bool) -> None:
        """Restart the clock of list `name` (it carried `codes`); a late list is on time again.

        `live`: the meter was available before this push (a returning list is worth a line).
        """
        clock = self.lists.get(name)
        if clock is None:
            clock = self.lists[name] = ListClock(hint=self._stored_intervals().get(name))
        if not clock.on_time and clock.last is not None and live:
            _LOGGER.debug("%s: push list %s arrives again", self._name, name)
        clock.arrived(now, codes)
        if (cancel := self._timers.pop(name, None)) is not None:
            cancel()
        job = self._jobs.get(name)
        if job is None:
            job = self._jobs[name] = HassJob(
                callback(lambda _now: self._late(name)),
                f"push list {name} late",
                cancel_on_shutdown=True,
            )
        # A further list of a meter whose other list is on time is a slower one (registers
        # every minute or quarter hour): until its interval is known, assume the slowest
        # common one, so it does not blink unavailable before its second push.
        others_on_time = any(c.on_time for n, c in self.lists.items() if n != name)
        timeout = self.list_timeout(
            clock.interval, SLOWEST_PUSH_INTERVAL if others_on_time else ASSUMED_PUSH_INTERVAL
        )
        self._timers[name] = async_call_later(self._hass, timeout, job)
        if (hint := clock.hint_update()) is not None:
            self._store_hint(name, hint)
        if self._silence_timer is not None:  # lists have their own timers from now on
            self._silence_timer()
            self._silence_timer = None

    @callback
    def _late(self, name: str) -> None:
        """Mark a list late: its values go unavailable; when all are late, the meter is lost."""
        self._timers.pop(name, None)
        clock = self.lists[name]
        clock.on_time = False
        if any(other.on_time for other in self.lists.values()):
            _LOGGER.debug(
                "%s: push list %s is late (interval %s s); its values are unavailable",
                self._name,
                name,
                clock.interval,
            )
            self._on_list_late()
            return
        self._on_lost()

    @callback
    def _silence_expired(self, _now: datetime) -> None:
        self._silence_timer = None
        self._on_lost()

    def _stored_intervals(self) -> dict[str, float]:
        """Push list -> interval stored with the entry (by the wizard or an earlier run)."""
        stored = self._entry.data.get(CONF_PUSH_INTERVALS) or {}
        return {str(name): float(seconds) for name, seconds in stored.items()}

    @callback
    def _store_hint(self, name: str, interval: float) -> None:
        """Remember a list's interval with the entry (read at the next start)."""
        self.lists[name].hint = interval
        entry = self._entry
        stored = {**self._stored_intervals(), name: interval}
        self._hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_PUSH_INTERVALS: stored}
        )
