"""MeterSimulator: one simulated meter that produces pushes on demand.

Tests drive it step by step (`next_push(elapsed=...)`) and compare a decoder's output
with `last_values`; the CLI and `TcpMeterServer` drive it in real time.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
import random
from typing import Literal

from . import encoder as enc
from .household import Household, Snapshot
from .profiles import PROFILES, Expected, Identity, Profile

DEFAULT_KEY = bytes(range(0x10))
"""Documented default GUEK 000102…0F (the CLI uses it unless --key/--plain)."""
DEFAULT_AUTH_KEY = bytes(range(0xD0, 0xE0))
"""Documented default GAK D0D1…DF (the Gurux/IDIS default; CLI unless --no-auth)."""

type Framing = Literal["native", "wrapper", "raw"]
FRAMINGS: tuple[Framing, ...] = ("native", "wrapper", "raw")


class MeterSimulator:
    """A simulated meter of one profile whose values evolve with simulated time.

    key=None sends plaintext pushes; a key alone gives SC 0x20 (suite 1: 0x21);
    key + auth_key gives SC 0x30/0x31 with a 12-byte tag. `framing` replaces the
    meter's own link layer by the DLMS/IP wrapper or by nothing ('raw' APDU).
    """

    def __init__(
        self,
        profile: str = "e450",
        *,
        key: bytes | None = None,
        auth_key: bytes | None = None,
        seed: int = 0,
        start: datetime | None = None,
        framing: Framing = "native",
        mbus_overflow: bool = False,
    ) -> None:
        """Create the meter; nothing is pushed until `next_push` is called."""
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
        if key is not None and len(key) != 16:
            raise ValueError("the encryption key (GUEK) must be 16 bytes")
        if auth_key is not None and (key is None or len(auth_key) != 16):
            raise ValueError("an authentication key (GAK) needs a key and must be 16 bytes")
        if start is not None and start.tzinfo is None:
            raise ValueError("start must be timezone-aware (e.g. datetime(..., tzinfo=UTC))")
        if framing not in FRAMINGS:
            raise ValueError(f"framing must be one of {', '.join(FRAMINGS)}")
        if mbus_overflow and not PROFILES[profile].mbus:
            raise ValueError("mbus_overflow only applies to M-Bus profiles (kaifa_ma309m)")
        self._profile: Profile = PROFILES[profile]
        self._key = key
        self._auth_key = auth_key
        self._framing = framing
        self._mbus_overflow = mbus_overflow
        # str seeds are stable across runs; a variant of a meter (e450_gas_water) is the same
        # meter as its base profile for the same seed: same number, same household.
        rng = random.Random(f"{self._profile.family}:{seed}")
        self._identity: Identity = self._profile.identity(rng)
        low, high = self._profile.pv_peak
        when = (start or datetime.now(UTC).replace(microsecond=0)).astimezone(UTC)
        self._household = Household(
            random.Random(rng.getrandbits(64)),
            start=when,
            local_tz=self._profile.zone,
            pv_peak=round(rng.uniform(low, high), -2),
        )
        self._invoke_id = rng.randrange(1, 0x00F0_0000)
        self._frame_counter = rng.randrange(1, 0x00F0_0000)
        self._pushes = 0
        self.last_values: Expected = {}
        """What a correct decoder must output for the last push: OBIS -> (value, unit)."""
        self.last_apdu = b""
        """The plaintext Data-Notification of the last push (before any ciphering)."""
        self.last_snapshot: Snapshot | None = None

    # ----------------------------------------------------------------- identity

    @property
    def profile(self) -> str:
        """Profile name, e.g. 'e450'."""
        return self._profile.name

    @property
    def model(self) -> str:
        """The decoder's model id for this meter (e.g. 'lg_e450')."""
        return self._profile.model

    @property
    def description(self) -> str:
        """One line naming the meter, its list and framing."""
        return self._profile.title

    @property
    def system_title(self) -> bytes:
        """8-byte system title (also sent in plain mode's absence, for device ids)."""
        return self._identity.system_title

    @property
    def meter_number(self) -> str:
        """The meter number a decoder should report (96.1.1 / 96.1.0 / device name)."""
        return self._identity.meter_number

    @property
    def logical_device_name(self) -> str:
        """0-0:42.0.0."""
        return self._identity.logical_device_name

    @property
    def security_control(self) -> int | None:
        """SC byte of the pushes, None when they are plaintext."""
        if self._key is None:
            return None
        return (
            enc.SC_ENCRYPTED | self._profile.suite | (enc.SC_AUTHENTICATED if self._auth_key else 0)
        )

    # ----------------------------------------------------------------- counters and time

    @property
    def frame_counter(self) -> int:
        """Invocation counter (IC) of the last push; the next push carries one more."""
        return (self._frame_counter - 1) & 0xFFFFFFFF

    @property
    def invoke_id(self) -> int:
        """Data-Notification invoke-id of the last push (a counter separate from IC)."""
        return (self._invoke_id - 1) & 0x00FFFFFF

    @property
    def pushes(self) -> int:
        """How many pushes were produced."""
        return self._pushes

    @property
    def clock(self) -> datetime:
        """The meter's current time (aware, UTC)."""
        return self._household.time

    # ----------------------------------------------------------------- pushing

    _REGISTERS = (
        "import_t1",
        "import_t2",
        "export",
        "reactive_import",
        "reactive_export",
        "gas",
        "water",
    )

    def state(self) -> dict[str, float | int]:
        """Return what must survive a restart for the meter to go on where it stopped.

        Registers and counters only: a real meter never starts its registers lower or
        its frame counter again (the integration would refuse both).
        """
        house = self._household
        return {
            **{name: getattr(house, name) for name in self._REGISTERS},
            "frame_counter": self._frame_counter,
            "invoke_id": self._invoke_id,
        }

    def restore(self, state: Mapping[str, float | int]) -> None:
        """Go on from a `state()` saved earlier (values missing from it stay as drawn)."""
        house = self._household
        for name in self._REGISTERS:
            if name in state:
                setattr(house, name, float(state[name]))
        house.read_submeters()  # the relayed readings go on from the restored ones
        if "frame_counter" in state:
            self._frame_counter = int(state["frame_counter"]) & 0xFFFFFFFF
        if "invoke_id" in state:
            self._invoke_id = int(state["invoke_id"]) & 0x00FFFFFF

    def next_push(self, elapsed: float = 5.0) -> bytes:
        """Advance the meter by `elapsed` seconds and return that push's wire bytes."""
        self._household.advance(elapsed)
        return self._push(self._profile)

    def next_second_list_push(self, elapsed: float = 0.0) -> bytes:
        """Return a push of the meter's second list (E450: its registers, 0-2:25.9.0).

        Same key and frame counter as the first list; ValueError for a one-list profile.
        """
        second = self._profile.second_list
        if second is None:
            raise ValueError(f"profile {self._profile.name} sends one push list only")
        self._household.advance(elapsed)
        return self._push(second)

    def _push(self, profile: Profile) -> bytes:
        """Encode the current state as one push of `profile`'s list and frame it."""
        snap = self._household.snapshot()
        apdu, expected = profile.notification(snap, self._identity, self._invoke_id)
        wire_apdu = apdu
        if self._key is not None:
            sc = self.security_control
            assert sc is not None  # a key is set
            wire_apdu = enc.general_glo_ciphering(
                apdu,
                key=self._key,
                system_title=self._identity.system_title,
                frame_counter=self._frame_counter,
                security_control=sc,
                auth_key=self._auth_key,
            )
        if self._framing == "wrapper":
            wire = enc.ip_wrapper(wire_apdu)
        elif self._framing == "raw":
            wire = wire_apdu
        else:
            wire = profile.frame(wire_apdu, self._identity, mbus_overflow=self._mbus_overflow)
        self.last_values = expected
        self.last_apdu = apdu
        self.last_snapshot = snap
        self._invoke_id = (self._invoke_id + 1) & 0x00FFFFFF
        self._frame_counter = (self._frame_counter + 1) & 0xFFFFFFFF
        self._pushes += 1
        return wire
