"""Turn the reader's pushes and errors into published meter state.

The reader calls the `@callback` methods below from its task; everything here is synchronous
so a value reaches the state machine in the same loop iteration as the byte that completed its
frame. The concerns around it live in their own modules: availability.py (a clock and a timer
per push list), throttle.py (when the state is written), issues.py (meter swap, key problems),
energy_guard.py (registers never go down), link_stats.py (the link's counters).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
import logging
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .availability import Availability
from .const import CONF_MODEL
from .decoder.errors import ErrorKind
from .decoder.push import ErrorEvent, Push, Reading
from .energy_guard import EnergyGuard, is_cumulative, not_above
from .issues import KeyProblem, async_check_meter_swap
from .link_stats import LinkState, LinkStats, LinkView
from .listeners import Listeners
from .live import LiveWindow
from .meter_state import MeterIdentity, MeterState, identify, reading_time
from .options import MeterOptions
from .push_lists import ListClock, list_id, live_codes
from .throttle import WriteThrottle

if TYPE_CHECKING:
    from .runtime_data import SwissMeterConfigEntry

_LOGGER = logging.getLogger(__package__)

# Per-push hook: the push, the meter that sent it, its time (per the time_source option).
type PushListener = Callable[[Push, MeterIdentity, datetime | None], None]


class SwissMeterCoordinator(DataUpdateCoordinator[MeterState]):
    """Holds the meter state; fed by the reader, read by the entities."""

    config_entry: SwissMeterConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: SwissMeterConfigEntry, options: MeterOptions
    ) -> None:
        """Take the options parsed at set-up; an options change reloads the entry."""
        super().__init__(hass, _LOGGER, config_entry=entry, name=entry.title, update_interval=None)
        self.options = options
        self.min_interval = options.min_interval
        self.time_source = options.time_source
        self.configured_model = str(entry.data.get(CONF_MODEL, "auto"))
        self.data = MeterState()
        self.stats = LinkStats()
        self.guard = EnergyGuard()
        self.last_push: Push | None = None
        self.meter: MeterIdentity | None = None
        self.available = False
        self._latest: dict[str, Reading] = {}
        self._source: dict[str, str] = {}  # register -> the push list of its current value
        self._reading_time: datetime | None = None
        self._lost_logged = False
        self._availability = Availability(
            hass, entry, self.name, on_list_late=self._write_state, on_lost=self._meter_lost
        )
        self._writes = WriteThrottle(
            hass, self.min_interval, self._publish_state, self.async_update_listeners
        )
        self._key_problem = KeyProblem(hass, entry, self.name)
        self._push_listeners: Listeners[Push, MeterIdentity, datetime | None] = Listeners()
        self.live = LiveWindow()  # the dashboard's last minutes of pushes

    @callback
    def async_add_push_listener(self, listener: PushListener) -> CALLBACK_TYPE:
        """Call `listener` on every accepted push (not throttled by min_interval).

        For outputs that forward each push (vse_output.py); returns the remover.
        """
        return self._push_listeners.add(listener)

    # -- life cycle -------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Arm the silence timer: a meter that never sends is reported like a lost one."""
        self._availability.start()

    async def async_shutdown(self) -> None:
        """Cancel the timers (called on unload)."""
        await super().async_shutdown()
        self._writes.shutdown()
        self._availability.shutdown()
        self.live.close()

    # -- what the reader calls --------------------------------------------------------------

    @callback
    def set_link_state(
        self, state: LinkState, *, detail: str | None = None, serial_format: str | None = None
    ) -> None:
        """Record that the reader opened, lost or is (re)opening the link."""
        if self.stats.link_changed(state, detail, serial_format):
            self.async_update_listeners()

    @callback
    def handle_bytes(self, count: int) -> None:
        """Count raw bytes (diagnostics: bytes but no frames means wrong line settings)."""
        self.stats.received(count)

    @callback
    def handle_error(self, event: ErrorEvent) -> None:
        """Count a refused frame or push; ask for a new key when keys keep failing."""
        self.stats.refused(event)
        _LOGGER.debug("Refused (%s): %s", event.kind, event.detail)
        if (
            event.kind is ErrorKind.REPLAY
            and event.system_title is None
            and self.available
            and self.last_push is not None
        ):
            # A plain meter repeating an identical push is alive, it just has no news: the
            # list of the previous push is on time.
            push = self.last_push
            self._availability.arrived(list_id(push), push.values, self.hass.loop.time(), live=True)
        self._key_problem.refused(event.kind)
        self._writes.errors_changed()

    @callback
    def handle_push(self, push: Push, received_at: float | None = None) -> None:
        """Guard, keep and publish a decoded push (at most every `min_interval`).

        `received_at` is the loop time at which the bytes that completed the push were read
        (for the processing-delay diagnostic); now when not given.
        """
        now = self.hass.loop.time()
        received = dt_util.utcnow()
        self.stats.pushed(push, received)
        self._writes.push_received(now if received_at is None else received_at)
        self.last_push = push
        if push.counter_reset:
            _LOGGER.info("%s: the meter restarted its frame counter", self.name)

        entry = self.config_entry
        meter = identify(push, self.meter, entry.unique_id, entry.entry_id, self.configured_model)
        if self.meter is None or meter.number != self.meter.number:
            if self.meter is not None:
                _LOGGER.info("%s: now receiving meter %s", self.name, meter.number)
                for clock in self.lists.values():
                    clock.codes.clear()  # the old meter's values are not live any more
            self._latest = {}
            self._source = {}
            async_check_meter_swap(self.hass, entry, self.name, meter.number)
        self.meter = meter
        name = list_id(push)
        self._availability.arrived(name, push.values, now, live=self.available)
        latest, source = self._latest, self._source
        for obis, reading in push.values.items():
            if is_cumulative(obis):
                if source.get(obis, name) != name and not_above(reading, latest.get(obis)):
                    continue  # an older snapshot of a register another list keeps current
                if not self.guard.accept(f"{meter.number}_{obis}", reading):
                    continue
                source[obis] = name
            latest[obis] = reading
        self._reading_time = reading_time(push, received, self.time_source)

        self._key_problem.accepted()
        if not self.available:
            self.available = True
            if self._lost_logged:
                self._lost_logged = False
                _LOGGER.info("%s: receiving data from the meter again", self.name)
        self._writes.request(now)
        self.live.add(push, meter.number)
        self._push_listeners.notify(push, meter, self._reading_time)

    # -- derived values ---------------------------------------------------------------------

    @property
    def lists(self) -> dict[str, ListClock]:
        """The meter's push lists by name, each with its clock."""
        return self._availability.lists

    @property
    def push_interval(self) -> float | None:
        """The link's rhythm: the shortest interval of the meter's lists (None if unknown)."""
        return self._availability.push_interval

    @property
    def silence_timeout(self) -> float:
        """Seconds without any valid push after which the meter counts as lost."""
        return self._availability.silence_timeout

    @property
    def processing_delay(self) -> float | None:
        """Median time from a push's last byte to its state write, in ms (recent pushes)."""
        return self._writes.processing_delay

    @property
    def last_delay(self) -> float | None:
        """Seconds from the last written push's last byte to its state write."""
        return self._writes.last_delay

    def link_view(self) -> LinkView:
        """Freeze what the link diagnostics show now (read at their state write)."""
        return self.stats.view(self.data.timestamp, self.push_interval, self.processing_delay)

    # -- internals --------------------------------------------------------------------------

    @callback
    def _write_state(self) -> None:
        self._writes.write_now()

    @callback
    def _publish_state(self) -> None:
        """Hand the entities the values of the lists that are on time."""
        live = live_codes(self.lists)
        latest = self._latest
        self.async_set_updated_data(
            MeterState(
                meter=self.meter,
                values=dict(latest)
                if live is None
                else {obis: reading for obis, reading in latest.items() if obis in live},
                timestamp=self._reading_time,
                available=self.available,
            )
        )

    @callback
    def _meter_lost(self) -> None:
        """No valid push for too long: entities go unavailable, one warning says why."""
        if not self._lost_logged:
            self._lost_logged = True
            _LOGGER.warning(
                "%s: no valid data from the meter for %.0f s (%s); its sensors are unavailable "
                "until it sends again",
                self.name,
                self.silence_timeout,
                self.stats.silence_reason(),
            )
        if self.available:
            self.available = False
            self._write_state()
