"""What the decoder hands out: decoded pushes and error events."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from .errors import ErrorKind
from .identity import flag_of

type Value = int | Decimal | float | str | bool | datetime | None


class Security(StrEnum):
    """How a push was protected on the wire."""

    NONE = "none"  # plaintext
    ENCRYPTED = "encrypted"  # decrypted, no tag or tag not verified (no GAK)
    AUTHENTICATED = "authenticated"  # decrypted and the GCM tag verified with the GAK


@dataclass(frozen=True, slots=True)
class Reading:
    """One scaled value and its Home Assistant unit string (None = no unit)."""

    value: Value
    unit: str | None


@dataclass(slots=True)
class Push:
    """One decoded push: identity, counters, time and OBIS -> reading.

    `values` keys are 'A-B:C.D.E.F'. Integers stay int; scaled values with a
    fraction are exact `Decimal`s.
    """

    values: dict[str, Reading]
    system_title: bytes | None = None
    frame_counter: int | None = None
    security: Security = Security.NONE
    timestamp: datetime | None = None
    invoke_id: int | None = None
    push_setup: str | None = None
    layout: str = ""
    model: str = "auto"
    counter_reset: bool = False  # accepted after a frame-counter re-sync (meter reset)
    raw: bytes = b""  # the link-layer bytes that carried this push (diagnostics)

    @property
    def manufacturer(self) -> str | None:
        """Three-letter FLAG id from the system title (e.g. 'LGZ'), if it has one."""
        return flag_of(self.system_title)

    @property
    def meter_number(self) -> str | None:
        """The meter's identity as the utility prints it, best source first."""
        for obis in ("0-0:96.1.1.255", "0-0:96.1.0.255", "0-0:42.0.0.255"):
            reading = self.values.get(obis)
            if reading is not None and isinstance(reading.value, str) and reading.value:
                return reading.value.strip()
        return None


@dataclass(frozen=True, slots=True)
class ErrorEvent:
    """A rejected frame or push. `detail` never contains key material."""

    kind: ErrorKind
    detail: str
    system_title: bytes | None = None
    raw: bytes = b""
    structure: Any = field(default=None, compare=False)
