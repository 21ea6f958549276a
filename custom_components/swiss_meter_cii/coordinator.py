"""Turn the reader's pushes and errors into published meter state.

The reader calls the `@callback` methods below from its task; everything here is synchronous
so a value reaches the state machine in the same loop iteration as the byte that completed its
frame. Availability, the key-problem repair and the state-write throttle are timers, never
polling.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import logging
from statistics import median
from typing import TYPE_CHECKING

from homeassistant.core import CALLBACK_TYPE, HassJob, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator
from homeassistant.util import dt as dt_util

from .const import (
    ASSUMED_PUSH_INTERVAL,
    CONF_MODEL,
    CONF_PUSH_INTERVALS,
    DOMAIN,
    MIN_SILENCE_TIMEOUT,
    SLOWEST_PUSH_INTERVAL,
    TIME_SOURCE_RECEIVE,
)
from .decoder.catalogue import Quantity, describe
from .decoder.errors import ErrorKind
from .decoder.models import MODELS
from .decoder.push import ErrorEvent, Push, Reading, Security
from .energy_guard import EnergyGuard, reading_magnitude
from .live import LiveWindow
from .options import MeterOptions
from .push_lists import ListClock, list_id, live_codes

if TYPE_CHECKING:
    from .runtime_data import SwissMeterConfigEntry

_LOGGER = logging.getLogger(__package__)

# Per-push hook: the push, the meter that sent it, its time (per the time_source option).
type PushListener = Callable[[Push, MeterIdentity, datetime | None], None]

CUMULATIVE: frozenset[Quantity] = frozenset(
    {
        Quantity.ACTIVE_ENERGY,
        Quantity.REACTIVE_ENERGY,
        Quantity.APPARENT_ENERGY,
        Quantity.SUBMETER_TOTAL,  # gas / water / heat meter readings: the guard applies too
    }
)
KEY_ERRORS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.WRONG_KEY, ErrorKind.AUTH_FAILED, ErrorKind.MISSING_KEY}
)
KEY_FAILURE_LIMIT = 3  # refused pushes in a row (no good one between) before asking for a key
SILENCE_FACTOR = 3.0  # a list is late after this many of its intervals without a valid push
DELAY_SAMPLES = 15  # processing delays kept for the median
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
        self._cumulative: dict[str, bool] = {}
        self.lists: dict[str, ListClock] = {}
        self._list_timers: dict[str, CALLBACK_TYPE] = {}
        self._list_jobs: dict[str, HassJob[[datetime], None]] = {}
        self._delays: deque[float] = deque(maxlen=DELAY_SAMPLES)
        self._unwritten_since: float | None = None  # receive time of the oldest unwritten push
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
        self._push_listeners: list[PushListener] = []
        self.live = LiveWindow()  # the dashboard's last minutes of pushes

    @callback
    def async_add_push_listener(self, listener: PushListener) -> CALLBACK_TYPE:
        """Call `listener` on every accepted push (not throttled by min_interval).

        For outputs that forward each push (vse_output.py); returns the remover.
        """
        self._push_listeners.append(listener)

        @callback
        def remove() -> None:
            if listener in self._push_listeners:
                self._push_listeners.remove(listener)

        return remove

    # -- life cycle -------------------------------------------------------------------------

    @callback
    def async_start(self) -> None:
        """Arm the silence timer: a meter that never sends is reported like a lost one."""
        self._arm_silence_timer()

    async def async_shutdown(self) -> None:
        """Cancel the timers (called on unload)."""
        await super().async_shutdown()
        for timer in (
            self._write_timer,
            self._error_timer,
            self._silence_timer,
            *self._list_timers.values(),
        ):
            if timer is not None:
                timer()
        self._write_timer = self._error_timer = self._silence_timer = None
        self._list_timers.clear()
        self.live.close()

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
        if (
            event.kind is ErrorKind.REPLAY
            and event.system_title is None
            and self.available
            and self.last_push is not None
        ):
            # A plain meter repeating an identical push is alive, it just has no news: the
            # list of the previous push is on time.
            self._list_arrived(list_id(self.last_push), self.last_push, self.hass.loop.time())
        if event.kind in KEY_ERRORS:
            self._key_failures += 1
            if self._key_failures >= KEY_FAILURE_LIMIT and not self._key_issue:
                self._raise_key_issue(event.kind)
        if self._error_timer is None:
            self._error_timer = async_call_later(
                self.hass, max(ERROR_PUBLISH_DELAY, self.min_interval), self._error_job
            )

    @callback
    def handle_push(self, push: Push, received_at: float | None = None) -> None:
        """Guard, keep and publish a decoded push (at most every `min_interval`).

        `received_at` is the loop time at which the bytes that completed the push were read
        (for the processing-delay diagnostic); now when not given.
        """
        now = self.hass.loop.time()
        received = dt_util.utcnow()
        stats = self.stats
        stats.pushes += 1
        stats.last_push = received
        stats.frame_counter = push.frame_counter
        stats.security = push.security
        if push.raw:
            stats.raw_frames.append(push.raw)
        if self._unwritten_since is None:
            self._unwritten_since = now if received_at is None else received_at
        self.last_push = push
        if push.counter_reset:
            _LOGGER.info("%s: the meter restarted its frame counter", self.name)

        meter = self._identify(push)
        if self.meter is None or meter.number != self.meter.number:
            if self.meter is not None:
                _LOGGER.info("%s: now receiving meter %s", self.name, meter.number)
                for clock in self.lists.values():
                    clock.codes.clear()  # the old meter's values are not live any more
            self._latest = {}
            self._source = {}
            self._check_meter_swap(meter.number)
        self.meter = meter
        name = list_id(push)
        self._list_arrived(name, push, now)
        latest, source = self._latest, self._source
        for obis, reading in push.values.items():
            if self._is_cumulative(obis):
                if source.get(obis, name) != name and _not_above(reading, latest.get(obis)):
                    continue  # an older snapshot of a register another list keeps current
                if not self.guard.accept(f"{meter.number}_{obis}", reading):
                    continue
                source[obis] = name
            latest[obis] = reading
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
        if self._silence_timer is not None:  # lists have their own timers from now on
            self._silence_timer()
            self._silence_timer = None
        self._request_write(now)
        self.live.add(push, meter.number)
        for listener in tuple(self._push_listeners):
            listener(push, meter, self._reading_time)

    # -- derived values ---------------------------------------------------------------------

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

    @property
    def processing_delay(self) -> float | None:
        """Median time from a push's last byte to its state write, in ms (recent pushes)."""
        return round(median(self._delays) * 1000, 2) if self._delays else None

    def _stored_intervals(self) -> dict[str, float]:
        """Push list -> interval stored with the entry (by the wizard or an earlier run)."""
        stored = self.config_entry.data.get(CONF_PUSH_INTERVALS) or {}
        return {str(name): float(seconds) for name, seconds in stored.items()}

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
        """Meter number, else the last one seen, else the configured one, else the title.

        A push without a number (a slower list of many meters) belongs to the meter already
        known: only a number (or, for meters without one, a system title) that differs from
        it means another meter.
        """
        number = push.meter_number
        if not number and self.meter is not None:
            number = self.meter.number
        configured = self.config_entry.unique_id
        if not number and push.system_title:
            titled = system_title_identity(push.system_title)
            number = titled if (configured is None or configured.startswith("st-")) else None
            number = number or configured
        if not number:
            number = configured or self.config_entry.entry_id
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

    @callback
    def _list_arrived(self, name: str, push: Push, now: float) -> None:
        """Restart the clock of the push's list; a late list is on time again."""
        clock = self.lists.get(name)
        if clock is None:
            clock = self.lists[name] = ListClock(hint=self._stored_intervals().get(name))
        if not clock.on_time and clock.last is not None and self.available:
            _LOGGER.debug("%s: push list %s arrives again", self.name, name)
        clock.arrived(now, push.values)
        if (cancel := self._list_timers.pop(name, None)) is not None:
            cancel()
        job = self._list_jobs.get(name)
        if job is None:
            job = self._list_jobs[name] = HassJob(
                callback(lambda _now: self._list_late(name)),
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
        self._list_timers[name] = async_call_later(self.hass, timeout, job)
        if (hint := clock.hint_update()) is not None:
            self._store_hint(name, hint)

    @callback
    def _list_late(self, name: str) -> None:
        """Mark a list late: its values go unavailable; when all are late, the meter is lost."""
        self._list_timers.pop(name, None)
        clock = self.lists[name]
        clock.on_time = False
        if any(other.on_time for other in self.lists.values()):
            _LOGGER.debug(
                "%s: push list %s is late (interval %s s); its values are unavailable",
                self.name,
                name,
                clock.interval,
            )
            self._write_state()
            return
        self._silence_expired(None)

    @callback
    def _store_hint(self, name: str, interval: float) -> None:
        """Remember a list's interval with the entry (read at the next start)."""
        self.lists[name].hint = interval
        entry = self.config_entry
        stored = {**self._stored_intervals(), name: interval}
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_PUSH_INTERVALS: stored}
        )

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
        if self._unwritten_since is not None:
            self._delays.append(self.hass.loop.time() - self._unwritten_since)
            self._unwritten_since = None

    @callback
    def _publish_errors(self, _now: datetime) -> None:
        self._error_timer = None
        self.async_update_listeners()

    @callback
    def _arm_silence_timer(self) -> None:
        """Until the first push: report a meter that never sends (lists time out later)."""
        if self._silence_timer is not None:
            self._silence_timer()
        self._silence_timer = async_call_later(self.hass, self.silence_timeout, self._silence_job)

    @callback
    def _silence_expired(self, _now: datetime | None) -> None:
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
    def _check_meter_swap(self, number: str) -> None:
        """Another meter than the one set up sends: the utility replaced it (repair issue).

        The new meter gets its own device and sensors (its registers start at its own values,
        so the statistics show no negative step); the old meter's stay, unavailable, until
        the user removes them through the repair.
        """
        configured = self.config_entry.unique_id
        issue_id = f"meter_replaced_{self.config_entry.entry_id}"
        if configured is None or number == configured:
            ir.async_delete_issue(self.hass, DOMAIN, issue_id)
            return
        _LOGGER.warning(
            "%s: meter %s sends on this port instead of meter %s (replaced by the utility?)",
            self.name,
            number,
            configured,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            issue_id,
            is_fixable=True,
            severity=ir.IssueSeverity.WARNING,
            translation_key="meter_replaced",
            translation_placeholders={
                "meter": self.config_entry.title,
                "old": configured,
                "new": number,
            },
            data={"entry_id": self.config_entry.entry_id, "old": configured, "new": number},
        )

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


def _not_above(reading: Reading, current: Reading | None) -> bool:
    """Whether a register reading is not higher than the current one (both numbers)."""
    if current is None:
        return False
    new, old = reading_magnitude(reading), reading_magnitude(current)
    return new is not None and old is not None and new <= old
