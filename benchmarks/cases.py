"""The pushes every decoder is timed on: simulated meters and the public real frames."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
import json
from typing import Any, Final

from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator

from .common import VECTORS_FILE

# A fixed start makes the pushes (and so the figures) the same on every run.
SIM_START: Final = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
# The field capture with a wrong FCS and broken A-XDR: a negative test, nothing to time.
NEGATIVE_VECTORS: Final = frozenset({"lg-zmf100-hdlc-cnrd"})


@dataclass(frozen=True, slots=True)
class Case:
    """One kind of push: its wire bytes (one entry per push), keys and model."""

    name: str
    what: str
    framing: str  # hdlc, mbus, raw-apdu, llc (as in public_vectors.json)
    pushes: tuple[bytes, ...]
    key: bytes | None
    auth_key: bytes | None
    model: str
    simulated: bool

    @property
    def bytes_per_push(self) -> float:
        """Mean wire size, for the table."""
        return sum(map(len, self.pushes)) / len(self.pushes)


def simulated_pushes(
    profile: str,
    count: int,
    *,
    key: bytes | None = None,
    auth_key: bytes | None = None,
    elapsed: float = 1.0,
    seed: int = 1,
) -> tuple[MeterSimulator, list[bytes]]:
    """`count` consecutive pushes (rising frame counters, changing values) of one meter."""
    meter = MeterSimulator(profile, key=key, auth_key=auth_key, seed=seed, start=SIM_START)
    return meter, [meter.next_push(elapsed=elapsed) for _ in range(count)]


def simulated_cases(count: int) -> list[Case]:
    """Build the three simulated meters of the issue, `count` consecutive pushes each."""
    specs: list[tuple[str, str, str, bytes | None, bytes | None]] = [
        ("sim-e450-gcm-tag", "e450", "hdlc", DEFAULT_KEY, DEFAULT_AUTH_KEY),
        ("sim-kaifa-ma309m-mbus", "kaifa_ma309m", "mbus", DEFAULT_KEY, None),
        ("sim-am550-hdlc-segments", "am550", "hdlc", None, None),
    ]
    cases = []
    for name, profile, framing, key, auth_key in specs:
        meter, pushes = simulated_pushes(profile, count, key=key, auth_key=auth_key)
        security = "plain"
        if meter.security_control is not None:
            security = f"SC 0x{meter.security_control:02X}"
        cases.append(
            Case(
                name=name,
                what=f"{meter.description}, {security}, {len(meter.last_values)} values",
                framing=framing,
                pushes=tuple(pushes),
                key=key,
                auth_key=auth_key,
                model=meter.model,
                simulated=True,
            )
        )
    return cases


def load_vectors() -> list[dict[str, Any]]:
    """Read the repository's public real frames (tests/fixtures/public_vectors.json)."""
    data: list[dict[str, Any]] = json.loads(VECTORS_FILE.read_text(encoding="utf-8"))
    return data


def vector_cases() -> list[Case]:
    """Every public vector that can decode to values: plaintext, or encrypted with its key."""
    cases = []
    for vector in load_vectors():
        if vector["id"] in NEGATIVE_VECTORS or (vector["encrypted"] and not vector["key_hex"]):
            continue
        key_hex = vector["key_hex"]
        auth_hex = vector["auth_key_hex"]
        cases.append(
            Case(
                name=vector["id"],
                what=f"{vector['meter']} ({vector['country']})",
                framing=vector["framing"],
                pushes=(bytes.fromhex(vector["hex"]),),
                key=bytes.fromhex(key_hex) if key_hex else None,
                auth_key=bytes.fromhex(auth_hex) if auth_hex else None,
                model="auto",
                simulated=False,
            )
        )
    return cases
