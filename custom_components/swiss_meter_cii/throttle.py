"""When the meter's state is written: at most every `min_interval`, error counters once a second.

Every state write is a database row per changed sensor, so the user may space them out (the
min_interval option, README "Setup wizard"); a write due later takes the latest values. A
noisy line can refuse hundreds of frames a second: their counters are written at most once a
second. Timers only, never polling; the processing delay diagnostic is measured here.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from statistics import median

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers.event import async_call_later

DELAY_SAMPLES = 15  # processing delays kept for the median
ERROR_PUBLISH_DELAY = 1.0  # error counters are written at most once a second (line noise)


class WriteThrottle:
    """Decides when `publish_state` (a push) and `publish_errors` (refused frames) run."""

    def __init__(
        self,
        hass: HomeAssistant,
        min_interval: float,
        publish_state: Callable[[], None],
        publish_errors: Callable[[], None],
    ) -> None:
        """`min_interval`: seconds between state writes, 0 = every push."""
        self._hass = hass
        self._min_interval = min_interval
        self._publish_state = publish_state
        self._publish_errors = publish_errors
        self._delays: deque[float] = deque(maxlen=DELAY_SAMPLES)
        self._unwritten_since: float | None = None  # receive time of the oldest unwritten push
        self._last_write: float | None = None
        # Cancelled on shutdown: a stopping Home Assistant writes nothing more.
        self._write_job = HassJob(self._timed_write, "write meter state", cancel_on_shutdown=True)
        self._error_job = HassJob(self._timed_errors, "publish errors", cancel_on_shutdown=True)
        self._write_timer: CALLBACK_TYPE | None = None
        self._error_timer: CALLBACK_TYPE | None = None

    @property
    def processing_delay(self) -> float | None:
        """Median time from a push's last byte to its state write, in ms (recent pushes)."""
        return round(median(self._delays) * 1000, 2) if self._delays else None

    @property
    def last_delay(self) -> float | None:
        """Seconds from the last written push's last byte to its state write."""
        return self._delays[-1] if self._delays else None

    @callback
    def push_received(self, received_at: float) -> None:
        """Note a push waiting to be written; `received_at`: loop time of its last byte."""
        if self._unwritten_since is None:
            self._unwritten_since = received_at

    @callback
    def request(self, now: float) -> None:
        """Write now, or once `min_interval` has passed since the last write (latest wins)."""
        if self._write_timer is not None:
            return  # a write is already scheduled; it will take the latest values
        if self._last_write is None or now - self._last_write >= self._min_interval:
            self.write_now()
            return
        self._write_timer = async_call_later(
            self._hass, self._last_write + self._min_interval - now, self._write_job
        )

    @callback
    def write_now(self) -> None:
        """Write the state at once (it carries the error counters too)."""
        self._cancel()
        loop = self._hass.loop
        self._last_write = loop.time()
        self._publish_state()
        if self._unwritten_since is not None:
            self._delays.append(loop.time() - self._unwritten_since)
            self._unwritten_since = None

    @callback
    def errors_changed(self) -> None:
        """Publish the error counters within a second (or `min_interval`) of a refusal."""
        if self._error_timer is None:
            self._error_timer = async_call_later(
                self._hass, max(ERROR_PUBLISH_DELAY, self._min_interval), self._error_job
            )

    @callback
    def shutdown(self) -> None:
        """Cancel the pending writes (the entry unloads)."""
        self._cancel()

    @callback
    def _cancel(self) -> None:
        if self._write_timer is not None:
            self._write_timer()
            self._write_timer = None
        if self._error_timer is not None:
            self._error_timer()
            self._error_timer = None

    @callback
    def _timed_write(self, _now: datetime) -> None:
        self._write_timer = None
        self.write_now()

    @callback
    def _timed_errors(self, _now: datetime) -> None:
        self._error_timer = None
        self._publish_errors()
