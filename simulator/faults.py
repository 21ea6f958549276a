"""Line faults to inject into the push stream, so decoders can be tested on bad input.

At most one fault hits a push; each kind has its own rate, so over many pushes the
share of pushes with fault X approaches rate X. `FaultedPush.fault` tells a test what
a correct decoder must do: 'intact' and 'garbage' pushes decode, 'repeat' decodes
once (the copy is a replay); 'flip', 'drop' and 'truncate' pushes are lost, or - if
the damage spared the APDU and the decoder also hunts unframed APDUs - decode exactly.
No fault may ever make a decoder output a value the meter did not send. (HDLC S-bit
segments have no sequence number, so a damaged AM550 push may also cost the next one.)
"""

from __future__ import annotations

from dataclasses import dataclass
import random

INTACT = "intact"
GARBAGE = "garbage"  # random bytes on the line before the push
FLIP = "flip"  # one bit inverted somewhere in the push
DROP = "drop"  # 1-3 consecutive bytes lost
TRUNCATE = "truncate"  # the push stops early; the rest never arrives
REPEAT = "repeat"  # the same push twice (a replay)
FAULTS: tuple[str, ...] = (GARBAGE, FLIP, DROP, TRUNCATE, REPEAT)
MAX_GARBAGE = 64


@dataclass(frozen=True, slots=True)
class FaultedPush:
    """The bytes to send for one push and which fault (if any) altered them."""

    data: bytes
    fault: str
    push: bytes  # the push as the meter produced it

    @property
    def decodable(self) -> bool:
        """Whether a correct decoder must still get this push's values (see module doc)."""
        return self.fault in (INTACT, GARBAGE, REPEAT)


class FaultInjector:
    """Seeded, per-push fault injection with one rate per fault kind (0..1, sum <= 1)."""

    def __init__(
        self,
        *,
        seed: int = 0,
        garbage: float = 0.0,
        flip: float = 0.0,
        drop: float = 0.0,
        truncate: float = 0.0,
        repeat: float = 0.0,
    ) -> None:
        """Check the rates; an injector with all rates 0 passes pushes through."""
        self.rates: dict[str, float] = {
            GARBAGE: garbage,
            FLIP: flip,
            DROP: drop,
            TRUNCATE: truncate,
            REPEAT: repeat,
        }
        for kind, rate in self.rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{kind} rate must be between 0 and 1, got {rate}")
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1 (one fault per push at most)")
        self._rng = random.Random(f"faults:{seed}")
        self.counts: dict[str, int] = dict.fromkeys((INTACT, *FAULTS), 0)

    @property
    def active(self) -> bool:
        """True when any rate is above zero."""
        return any(self.rates.values())

    def apply(self, wire: bytes) -> FaultedPush:
        """Pick at most one fault for this push and apply it."""
        draw = self._rng.random()
        kind = INTACT
        threshold = 0.0
        for candidate, rate in self.rates.items():
            threshold += rate
            if draw < threshold:
                kind = candidate
                break
        if len(wire) < 2 and kind in (DROP, TRUNCATE):
            kind = INTACT  # nothing sensible to cut from a 1-byte push
        data = self._damage(kind, wire)
        self.counts[kind] += 1
        return FaultedPush(data, kind, wire)

    def _damage(self, kind: str, wire: bytes) -> bytes:
        rng = self._rng
        if kind == GARBAGE:
            return rng.randbytes(rng.randint(1, MAX_GARBAGE)) + wire
        if kind == FLIP and wire:
            position = rng.randrange(len(wire))
            flipped = wire[position] ^ (1 << rng.randrange(8))
            return wire[:position] + bytes([flipped]) + wire[position + 1 :]
        if kind == DROP:
            count = rng.randint(1, min(3, len(wire) - 1))
            position = rng.randrange(len(wire) - count + 1)
            return wire[:position] + wire[position + count :]
        if kind == TRUNCATE:
            return wire[: rng.randrange(1, len(wire))]
        if kind == REPEAT:
            return wire + wire
        return wire


def wrong_key(key: bytes) -> bytes:
    """Derive a key that is certainly not `key` (every byte changed): --wrong-key."""
    return bytes(b ^ 0xA5 for b in key)
