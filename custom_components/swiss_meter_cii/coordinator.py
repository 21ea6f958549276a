"""Turn the reader's pushes and errors into published meter state.

The reader calls the `@callback` methods below from its task; everything here is synchronous
so a value reaches the state machine in the same loop iteration as the byte that completed its
frame. Availability, the key-problem repair and the state-write throttle are timers, never
polling.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import logging
from statistics import median

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    CONF_MIN_INTERVAL,
    CONF_MODEL,
    CONF_TIME_SOURCE,
    DEFAULT_MIN_INTERVAL,
    DEFAULT_TIME_SOURCE,
    DOMAIN,
    MIN_SILENCE_TIMEOUT,
    SLOWEST_PUSH_INTERVAL,
    TIME_SOURCE_RECEIVE,
)
from .decoder import DecoderStats
from .decoder.catalogue import Quantity, describe
from .decoder.errors import ErrorKind
from .decoder.models import MODELS
from .decoder.push import ErrorEvent, Push, Reading, Security
from .energy_guard import EnergyGuard

_LOGGER = logging.getLogger(__package__)

type SwissMeterConfigEntry = ConfigEntry[SwissMeterCoordinator]

CUMULATIVE: frozenset[Quantity] = frozenset(
    {Quantity.ACTIVE_ENERGY, Quantity.REACTIVE_ENERGY, Quantity.APPARENT_ENERGY}
)
KEY_ERRORS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.WRONG_KEY, ErrorKind.AUTH_FAILED, ErrorKind.MISSING_KEY}
)
KEY_FAILURE_LIMIT = 3  # refused pushes in a row (no good one between) before asking for a key
SILENCE_FACTOR = 3.0  # unavailable after this many push intervals without a valid push
INTERVAL_SAMPLES = 15  # push intervals kept for the median
RAW_FRAMES_KEPT = 5
ERROR_PUBLISH_DELAY = 1.0  # error counters are written at most once a second (line noise)
CLOCK_OBIS = "0-0:1.0.0.255"

# FLAG ids (system title) -> manufacturer; the models table covers the supported meters.
_FLAG_MANUFACTURERS: dict[str, str] = {
    "ELS": "Elster",
    "EMH": "EMH metering",
    "KAM": "Kamstrup",
    **{model.flag: model.manufacturer for model in MODELS.values() if model.flag},
}


class LinkState(StrEnum):
    """State of the link to the meter (options of the link-state sensor)."""

    CONNECTED = "connected"
    CONNECTING = "connecting"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True)
class MeterIdentity:
    """Who is sending: the device a meter's entities belong to."""

    number: str
    manufacturer: str | None = None
    model: str | None = None


@dataclass(frozen=True, slots=True)
class MeterState:
    """What the entities show: a snapshot taken at each state write."""

    meter: MeterIdentity | None = None
    values: Mapping[str, Reading] = field(default_factory=dict)
    timestamp: datetime | None = None  # of the last push, per the time_source option
    available: bool = False


@dataclass(slots=True)
class LinkStats:
    """Counters for the diagnostic entities and the diagnostics download."""

    state: LinkState = LinkState.DISCONNECTED
    serial_format: str | None = None
    last_link_error: str | None = None
    bytes_received: int = 0
    pushes: int = 0
    errors: dict[ErrorKind, int] = field(default_factory=lambda: dict.fromkeys(ErrorKind, 0))
    connects: int = 0
    reconnects: int = 0
    last_push: datetime | None = None  # receive time (UTC)
    frame_counter: int | None = None
    security: Security | None = None
    last_error: ErrorEvent | None = None
    raw_frames: deque[bytes] = field(default_factory=lambda: deque(maxlen=RAW_FRAMES_KEPT))
    error_frames: deque[ErrorEvent] = field(default_factory=lambda: deque(maxlen=RAW_FRAMES_KEPT))

    @property
    def total_errors(self) -> int:
        """All refused frames and pushes."""
        return sum(self.errors.values())


def system_title_identity(system_title: bytes) -> str:
    """Identity of a meter that never sends its number (same form as the wizard's)."""
    return f"st-{system_title.hex().upper()}"


class SwissMeterCoordinator(DataUpdateCoordinator[MeterState]):
    """Holds the meter state; fed by the reader, read by the entities."""

    config_entry: SwissMeterConfigEntry

    def __init__(self, hass: HomeAssistant, entry: SwissMeterConfigEntry) -> None:
        """Read the options once; an options change reloads the entry."""
        super().__init__(hass, _LOGGER, config_entry=entry, name=entry.title, update_interval=None)
        self.min_interval = float(entry.options.get(CONF_MIN_INTERVAL, DEFAULT_MIN_INTERVAL))
        self.time_source = str(entry.options.get(CONF_TIME_SOURCE, DEFAULT_TIME_SOURCE))
        self.configured_model = str(entry.data.get(CONF_MODEL, "auto"))
        self.options = dict(entry.options)  # what this run was set up with
        self.reader_task: asyncio.Task[None] | None = None
        self.data = MeterState()
        self.stats = LinkStats()
        self.guard = EnergyGuard()
        self.last_push: Push | None = None
        self.decoder_stats: Callable[[], DecoderStats] | None = None  # set by the reader
        self.meter: MeterIdentity | None = None
        self.available = False
        self._latest: dict[str, Reading] = {}
        self._cumulative: dict[str, bool] = {}
        self._intervals: deque[float] = deque(maxlen=INTERVAL_SAMPLES)
        self._last_push_time: float | None = None
        self._reading_time: datetime | None = None
        self._last_write: float | None = None
        # Timers are HassJobs cancelled on shutdown: a stopping HA never reports a lost meter.
        self._write_job = HassJob(self._timed_write, "write meter state", cancel_on_shutdown=True)
        self._error_job = HassJob(self._publish_errors, "publish errors", cancel_on_shutdown=True)
        self._silence_job = HassJob(self._silence_expired, "meter silent", cancel_on_shutdown=True)
        self._write_timer: CALLBACK_TYPE | None = None
        self._error_timer: CALLBACK_TYPE | None = None
        self._silence_timer: CALLBACK_TYPE | None = None
        self._lost_logged = False
        # Since the last valid push: what the silence warning reports as the reason.
        self._refused_since_push: dict[ErrorKind, int] = {}
        self._bytes_since_push = 0
        self._key_failures = 0
        self._key_issue = False
        self._key_issue_checked = False

    # -- life cycle -------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Arm the silence timer: a meter that never sends is reported like a lost one."""
        self._arm_silence_timer()

    async def async_shutdown(self) -> None:
        """Cancel the timers (called on unload)."""
        await super().async_shutdown()
        for timer in (self._write_timer, self._error_timer, self._silence_timer):
            if timer is not None:
                timer()
        self._write_timer = self._error_timer = self._silence_timer = None

    # -- what the reader calls --------------------------------------------------------------

    @callback
    def set_link_state(
        self, state: LinkState, *, detail: str | None = None, serial_format: str | None = None
    ) -> None:
        """Record that the reader opened, lost or is (re)opening the link."""
        previous = self.stats.state
        if state is LinkState.CONNECTED:
            self.stats.connects += 1
            self.stats.serial_format = serial_format or self.stats.serial_format
        elif previous is LinkState.CONNECTED:
            self.stats.reconnects += 1
        if detail is not None:
            self.stats.last_link_error = detail
        if state is not previous:
            self.stats.state = state
            self.async_update_listeners()

    @callback
    def handle_bytes(self, count: int) -> None:
        """Count raw bytes (diagnostics: bytes but no frames means wrong line settings)."""
        self.stats.bytes_received += count
        self._bytes_since_push += count

    @callback
    def handle_error(self, event: ErrorEvent) -> None:
        """Count a refused frame or push; ask for a new key when keys keep failing."""
        stats = self.stats
        stats.errors[event.kind] = stats.errors.get(event.kind, 0) + 1
        stats.last_error = event
        stats.error_frames.append(event)
        self._refused_since_push[event.kind] = self._refused_since_push.get(event.kind, 0) + 1
        _LOGGER.debug("Refused (%s): %s", event.kind, event.detail)
        if event.kind is ErrorKind.REPLAY and event.system_title is None and self.available:
            # A plain meter repeating an identical push is alive, it just has no news.
            self._arm_silence_timer()
        if event.kind in KEY_ERRORS:
            self._key_failures += 1
            if self._key_failures >= KEY_FAILURE_LIMIT and not self._key_issue:
                self._raise_key_issue(event.kind)
        if self._error_timer is None:
            self._error_timer = async_call_later(
                self.hass, max(ERROR_PUBLISH_DELAY, self.min_interval), self._error_job
            )

    @callback
    def handle_push(self, push: Push) -> None:
        """Guard, keep and publish a decoded push (at most every `min_interval`)."""
        now = self.hass.loop.time()
        received = dt_util.utcnow()
        stats = self.stats
        stats.pushes += 1
        stats.last_push = received
        stats.frame_counter = push.frame_counter
        stats.security = push.security
        if push.raw:
            stats.raw_frames.append(push.raw)
        if self._last_push_time is not None:
            self._intervals.append(now - self._last_push_time)
        self._last_push_time = now
        self.last_push = push
        if push.counter_reset:
            _LOGGER.info("%s: the meter restarted its frame counter", self.name)

        meter = self._identify(push)
        if self.meter is None or meter.number != self.meter.number:
            if self.meter is not None:
                _LOGGER.info("%s: now receiving meter %s", self.name, meter.number)
            self._latest = {}
        self.meter = meter
        for obis, reading in push.values.items():
            if self._is_cumulative(obis) and not self.guard.accept(
                f"{meter.number}_{obis}", reading
            ):
                continue
            self._latest[obis] = reading
        self._reading_time = self._pick_time(push, received)

        self._key_failures = 0
        self._refused_since_push.clear()
        self._bytes_since_push = 0
        if self._key_issue or not self._key_issue_checked:
            self._clear_key_issue()
        if not self.available:
            self.available = True
            if self._lost_logged:
                self._lost_logged = False
                _LOGGER.info("%s: receiving data from the meter again", self.name)
        self._arm_silence_timer()
        self._request_write(now)

    # -- derived values ---------------------------------------------------------------------

    @property
    def push_interval(self) -> float | None:
        """Median of the recent push intervals in seconds (None before two pushes)."""
        return median(self._intervals) if self._intervals else None

    @property
    def silence_timeout(self) -> float:
        """Seconds without a valid push after which the meter counts as lost."""
        interval = self.push_interval or SLOWEST_PUSH_INTERVAL
        return max(MIN_SILENCE_TIMEOUT, SILENCE_FACTOR * interval)

    def is_cumulative(self, obis: str) -> bool:
        """Tell whether `obis` is a register the Energy dashboard sums (guarded)."""
        return self._is_cumulative(obis)

    # -- internals --------------------------------------------------------------------------

    def _is_cumulative(self, obis: str) -> bool:
        cumulative = self._cumulative.get(obis)
        if cumulative is None:
            cumulative = self._cumulative[obis] = describe(obis).quantity in CUMULATIVE
        return cumulative

    def _identify(self, push: Push) -> MeterIdentity:
        """Meter number, else the last one seen, else the system title, else the entry."""
        number = push.meter_number
        if not number and self.meter is not None:
            number = self.meter.number
        if not number and push.system_title:
            number = system_title_identity(push.system_title)
        if not number:
            number = self.config_entry.unique_id or self.config_entry.entry_id
        model_id = push.model if push.model in MODELS else self.configured_model
        model = MODELS.get(model_id)
        flag = push.manufacturer
        manufacturer = _FLAG_MANUFACTURERS.get(flag or "") or (
            model.manufacturer if model else flag
        )
        previous = self.meter
        if (
            previous is not None
            and previous.number == number
            and previous.model == (model.name if model else None)
            and previous.manufacturer == manufacturer
        ):
            return previous
        return MeterIdentity(number, manufacturer, model.name if model else None)

    def _pick_time(self, push: Push, received: datetime) -> datetime:
        """Pick the time of the reading: the meter clock when asked for and present."""
        if self.time_source == TIME_SOURCE_RECEIVE:
            return received
        if push.timestamp is not None and push.timestamp.tzinfo is not None:
            return push.timestamp
        clock = push.values.get(CLOCK_OBIS)
        if clock is not None and isinstance(clock.value, datetime) and clock.value.tzinfo:
            return clock.value
        return received

    @callback
    def _request_write(self, now: float) -> None:
        """Write now, or once `min_interval` has passed since the last write (latest wins)."""
        if self._write_timer is not None:
            return  # a write is already scheduled; it will take the latest values
        if self._last_write is None or now - self._last_write >= self.min_interval:
            self._write_state()
            return
        self._write_timer = async_call_later(
            self.hass, self._last_write + self.min_interval - now, self._write_job
        )

    @callback
    def _timed_write(self, _now: datetime) -> None:
        self._write_timer = None
        self._write_state()

    @callback
    def _write_state(self) -> None:
        if self._write_timer is not None:
            self._write_timer()
            self._write_timer = None
        if self._error_timer is not None:
            self._error_timer()
            self._error_timer = None
        self._last_write = self.hass.loop.time()
        self.async_set_updated_data(
            MeterState(
                meter=self.meter,
                values=dict(self._latest),
                timestamp=self._reading_time,
                available=self.available,
            )
        )

    @callback
    def _publish_errors(self, _now: datetime) -> None:
        self._error_timer = None
        self.async_update_listeners()

    @callback
    def _arm_silence_timer(self) -> None:
        if self._silence_timer is not None:
            self._silence_timer()
        self._silence_timer = async_call_later(self.hass, self.silence_timeout, self._silence_job)

    @callback
    def _silence_expired(self, _now: datetime) -> None:
        """No valid push for too long: entities go unavailable, one warning says why."""
        self._silence_timer = None
        if not self._lost_logged:
            self._lost_logged = True
            _LOGGER.warning(
                "%s: no valid data from the meter for %.0f s (%s); its sensors are unavailable "
                "until it sends again",
                self.name,
                self.silence_timeout,
                self._silence_reason(),
            )
        if self.available:
            self.available = False
            self._write_state()

    def _silence_reason(self) -> str:
        stats = self.stats
        if stats.state is not LinkState.CONNECTED:
            return f"link {stats.state}: {stats.last_link_error or 'not open'}"
        if self._refused_since_push and stats.last_error is not None:
            counts = ", ".join(f"{kind} x{n}" for kind, n in self._refused_since_push.items())
            return f"refused: {counts}; last: {stats.last_error.detail}"
        if self._bytes_since_push == 0:
            return "the link is open but nothing arrives"
        return f"{self._bytes_since_push} bytes arrived but no complete push"

    @callback
    def _raise_key_issue(self, kind: ErrorKind) -> None:
        """Once per run: a repair issue and the re-authentication dialog."""
        self._key_issue = True
        self._key_issue_checked = True
        _LOGGER.warning(
            "%s: the meter's pushes are refused (%s); asking for a new key", self.name, kind
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"key_rejected_{self.config_entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="key_rejected",
            translation_placeholders={"meter": self.config_entry.title},
        )
        self.config_entry.async_start_reauth(self.hass)

    @callback
    def _clear_key_issue(self) -> None:
        """Good pushes are back (or were never a problem): the issue goes away."""
        if self._key_issue:
            _LOGGER.info("%s: the key works again", self.name)
        self._key_issue = False
        self._key_issue_checked = True
        ir.async_delete_issue(self.hass, DOMAIN, f"key_rejected_{self.config_entry.entry_id}")
