"""Counters of the link to one meter, and the read-only view of them the entities show.

The coordinator owns one `LinkStats` and updates it from the reader's calls; the diagnostic
entities never read it directly but a `LinkView` taken at their state write, so an entity
description is a plain function of typed values (README "Sensors", diagnostic sensors).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType

from .decoder.errors import ErrorKind
from .decoder.push import ErrorEvent, Push, Security

RAW_FRAMES_KEPT = 5


class LinkState(StrEnum):
    """State of the link to the meter (options of the link-state sensor)."""

    CONNECTED = "connected"
    CONNECTING = "connecting"
    DISCONNECTED = "disconnected"


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkView:
    """What the link diagnostics show, as of one moment."""

    state: LinkState
    pushes: int
    errors: Mapping[ErrorKind, int]
    total_errors: int
    reconnects: int
    frame_counter: int | None
    security: Security | None
    reading_time: datetime | None  # time of the last published push (time_source option)
    push_interval: float | None  # seconds, the fastest list's
    processing_delay: float | None  # ms, median from a push's last byte to its state write


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
    # Since the last valid push: what the warning about a lost meter gives as the reason.
    refused_since_push: dict[ErrorKind, int] = field(default_factory=dict)
    bytes_since_push: int = 0

    @property
    def total_errors(self) -> int:
        """All refused frames and pushes."""
        return sum(self.errors.values())

    def link_changed(self, state: LinkState, detail: str | None, serial_format: str | None) -> bool:
        """Count an opening or a loss of the link; True when its state changed."""
        previous = self.state
        if state is LinkState.CONNECTED:
            self.connects += 1
            self.serial_format = serial_format or self.serial_format
        elif previous is LinkState.CONNECTED:
            self.reconnects += 1
        if detail is not None:
            self.last_link_error = detail
        self.state = state
        return state is not previous

    def received(self, count: int) -> None:
        """Count raw bytes (bytes but no frames means wrong line settings)."""
        self.bytes_received += count
        self.bytes_since_push += count

    def refused(self, event: ErrorEvent) -> None:
        """Count a refused frame or push and keep it for the diagnostics."""
        self.errors[event.kind] = self.errors.get(event.kind, 0) + 1
        self.last_error = event
        self.error_frames.append(event)
        self.refused_since_push[event.kind] = self.refused_since_push.get(event.kind, 0) + 1

    def pushed(self, push: Push, received: datetime) -> None:
        """Count a valid push; what went wrong before it no longer explains a silence."""
        self.pushes += 1
        self.last_push = received
        self.frame_counter = push.frame_counter
        self.security = push.security
        if push.raw:
            self.raw_frames.append(push.raw)
        self.refused_since_push.clear()
        self.bytes_since_push = 0

    def silence_reason(self) -> str:
        """Why no valid push came: the link, refused pushes, or bytes without a push."""
        if self.state is not LinkState.CONNECTED:
            return f"link {self.state}: {self.last_link_error or 'not open'}"
        if self.refused_since_push and self.last_error is not None:
            counts = ", ".join(f"{kind} x{n}" for kind, n in self.refused_since_push.items())
            return f"refused: {counts}; last: {self.last_error.detail}"
        if self.bytes_since_push == 0:
            return "the link is open but nothing arrives"
        return f"{self.bytes_since_push} bytes arrived but no complete push"

    def view(
        self,
        reading_time: datetime | None,
        push_interval: float | None,
        processing_delay: float | None,
    ) -> LinkView:
        """Freeze the counters, with what the coordinator knows about timing."""
        return LinkView(
            state=self.state,
            pushes=self.pushes,
            errors=MappingProxyType(dict(self.errors)),
            total_errors=self.total_errors,
            reconnects=self.reconnects,
            frame_counter=self.frame_counter,
            security=self.security,
            reading_time=reading_time,
            push_interval=push_interval,
            processing_delay=processing_delay,
        )
