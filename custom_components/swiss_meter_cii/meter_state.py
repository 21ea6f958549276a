"""Who is sending and what the entities show: the meter's identity and the published state.

No Home Assistant imports: the coordinator decides when a state is published, this module only
says which meter a push came from and which time its values carry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .const import TIME_SOURCE_RECEIVE
from .decoder.identity import (
    is_title_identity,
    manufacturer_of,
    model_of,
    system_title_identity,
)
from .decoder.layouts import CLOCK_OBIS
from .decoder.push import Push, Reading


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


def identify(
    push: Push,
    previous: MeterIdentity | None,
    configured: str | None,
    fallback: str,
    configured_model: str,
) -> MeterIdentity:
    """Meter number, else the last one seen, else the configured one, else the title.

    A push without a number (a slower list of many meters) belongs to the meter already
    known: only a number (or, for meters without one, a system title) that differs from
    it means another meter. `configured` is the entry's unique id, `fallback` its id.
    """
    number = push.meter_number
    if not number and previous is not None:
        number = previous.number
    if not number and push.system_title:
        titled = system_title_identity(push.system_title)
        number = titled if (configured is None or is_title_identity(configured)) else None
        number = number or configured
    if not number:
        number = configured or fallback
    model = model_of(push.model, configured_model)
    manufacturer = manufacturer_of(push.manufacturer, model)
    if (
        previous is not None
        and previous.number == number
        and previous.model == (model.name if model else None)
        and previous.manufacturer == manufacturer
    ):
        return previous
    return MeterIdentity(number, manufacturer, model.name if model else None)


def reading_time(push: Push, received: datetime, time_source: str) -> datetime:
    """Pick the time of the reading: the meter clock when asked for and present."""
    if time_source == TIME_SOURCE_RECEIVE:
        return received
    if push.timestamp is not None and push.timestamp.tzinfo is not None:
        return push.timestamp
    clock = push.values.get(CLOCK_OBIS)
    if clock is not None and isinstance(clock.value, datetime) and clock.value.tzinfo:
        return clock.value
    return received
