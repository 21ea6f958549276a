"""A faulty serial line at decoder level: what was sent, what came out, and how they match.

`run_line` pushes a simulated meter's frames through the simulator's `FaultInjector` into one
`StreamDecoder` in random chunk sizes and matches the decoder's output against what the meter
sent, in order. `LineRun.problems()` lists every way the result breaks the rules of a noisy
line (README "Reliability"):

* every push that arrived intact (also after garbage, also when repeated) comes out exactly
  once, with exactly the values the meter sent; so the next good push after any damage too;
* a push never carries values the meter did not send, and none comes out twice;
* every damaged push that does not come out is reported by at least one error event, of a
  kind that names line damage (checksum, framing, incomplete, malformed) - never a key
  problem, which would ask the user for a new key because of a noisy cable;
* every repeated push is reported exactly once, as `replay`.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
import random
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.swiss_meter_cii.decoder import ErrorEvent, ErrorKind, Push, StreamDecoder
from simulator import PROFILES, FaultInjector, MeterSimulator, encoder as enc
from simulator.profiles import Identity

type Values = dict[str, tuple[Any, str | None]]

ZURICH = ZoneInfo("Europe/Zurich")
START = datetime(2025, 10, 25, 22, 0, tzinfo=UTC)  # crosses the CEST -> CET night
LINE_DAMAGE: frozenset[ErrorKind] = frozenset(
    {ErrorKind.CHECKSUM, ErrorKind.FRAMING, ErrorKind.INCOMPLETE, ErrorKind.MALFORMED}
)
DAMAGED = frozenset({"flip", "drop", "truncate"})


@dataclass(slots=True)
class Sent:
    """One push as the meter sent it and as the line delivered it."""

    index: int
    fault: str
    values: Values
    data: bytes  # the bytes on the line (after the fault)
    push: bytes  # the bytes the meter produced


@dataclass(slots=True)
class Gap:
    """What came out between two matched pushes (and which sent pushes fell in between)."""

    after: int  # index of the matched push before the gap (-1: start)
    missing: list[int] = field(default_factory=list)  # sent, not decoded
    errors: list[ErrorEvent] = field(default_factory=list)


@dataclass(slots=True)
class LineRun:
    """The result of one faulty line: sent pushes, decoder output, their matching."""

    profile: str
    security: str
    sent: list[Sent]
    results: list[Push | ErrorEvent]
    matched: dict[int, Push] = field(default_factory=dict)  # sent index -> its push
    gaps: list[Gap] = field(default_factory=list)
    false_pushes: list[Push] = field(default_factory=list)

    @property
    def faults(self) -> Counter[str]:
        """How many pushes each fault hit."""
        return Counter(s.fault for s in self.sent)

    @property
    def errors(self) -> Counter[str]:
        """Error events by kind."""
        return Counter(r.kind.value for r in self.results if isinstance(r, ErrorEvent))

    def match(self) -> None:
        """Pair every decoded push with the sent push it equals (in order, each once)."""
        position = 0
        gap = Gap(after=-1)
        for result in self.results:
            if isinstance(result, ErrorEvent):
                gap.errors.append(result)
                continue
            got = values_of(result)
            j = position
            while j < len(self.sent) and got != self.sent[j].values:
                j += 1
            if j == len(self.sent):
                self.false_pushes.append(result)
                continue
            gap.missing = list(range(position, j))
            self.gaps.append(gap)
            self.matched[j] = result
            position = j + 1
            gap = Gap(after=j)
        gap.missing = list(range(position, len(self.sent)))
        self.gaps.append(gap)

    def lost(self) -> list[str]:
        """Pushes that arrived intact (maybe after garbage or repeated) but never came out."""
        return [
            f"push {i} ({self.sent[i].fault}) lost: {self._context(i)}"
            for gap in self.gaps
            for i in gap.missing
            if self.sent[i].fault not in DAMAGED
        ]

    def false_values(self) -> list[str]:
        """Pushes whose values the meter never sent (or sent before the last matched one)."""
        return [f"a push the meter never sent: {values_of(p)}" for p in self.false_pushes]

    def unreported(self) -> list[str]:
        """Damaged pushes that neither came out nor caused any error event.

        A push cut right after its opening HDLC flag left nothing but a flag on the line,
        which is what a line between frames carries anyway: nothing to report.
        """
        out = []
        for gap in self.gaps:
            damaged = [
                i
                for i in gap.missing
                if self.sent[i].fault in DAMAGED and self.sent[i].data.strip(b"\x7e")
            ]
            if damaged and not [e for e in gap.errors if e.kind is not ErrorKind.REPLAY]:
                out.append(f"damaged pushes {damaged} not reported: {self._context(damaged[0])}")
        return out

    def misreported(self) -> list[str]:
        """Line damage reported as something else (a key problem, an unknown layout)."""
        out = []
        for gap in self.gaps:
            wrong = [e for e in gap.errors if e.kind not in LINE_DAMAGE | {ErrorKind.REPLAY}]
            if wrong:
                faults = [(i, self.sent[i].fault) for i in gap.missing]
                first = gap.missing[0] if gap.missing else gap.after + 1
                out.append(
                    f"line damage reported as {sorted({e.kind.value for e in wrong})} "
                    f"({'; '.join(e.detail for e in wrong)}) after push {gap.after}, "
                    f"missing {faults}: {self._context(first)}"
                )
        return out

    def overreported(self) -> list[str]:
        """Gaps with more than two error events per damaged push (a flood of follow-ups).

        One event per damaged push is the norm; a second one happens when the damage also
        eats the flag shared with the next frame. Garbage before the push that ends the
        gap adds one event of its own.
        """
        out = []
        for gap in self.gaps:
            damaged = sum(1 for i in gap.missing if self.sent[i].fault in DAMAGED)
            end = gap.missing[-1] + 1 if gap.missing else gap.after + 1
            garbage = end < len(self.sent) and self.sent[end].fault == "garbage"
            noise = [e for e in gap.errors if e.kind is not ErrorKind.REPLAY]
            if len(noise) > 2 * damaged + garbage:
                out.append(
                    f"{len(noise)} error events for {damaged} damaged pushes: "
                    f"{[e.detail for e in noise]} [{self._context(end - 1)}]"
                )
        return out

    def replays(self) -> list[str]:
        """Every repeated push is reported exactly once as a replay, nothing else is."""
        replays = self.errors[ErrorKind.REPLAY.value]
        repeats = self.faults["repeat"]
        return [] if replays == repeats else [f"{repeats} repeats but {replays} replay events"]

    def problems(self) -> list[str]:
        """Every broken rule."""
        return [
            *self.lost(),
            *self.false_values(),
            *self.unreported(),
            *self.misreported(),
            *self.overreported(),
            *self.replays(),
        ]

    def _context(self, index: int) -> str:
        index = max(0, min(index, len(self.sent) - 1))
        sent = self.sent[index]
        before = self.sent[index - 1] if index else None
        return (
            f"{self.profile}/{self.security} push {index} fault {sent.fault}, previous "
            f"{before.fault if before else None}; line bytes {sent.data.hex()}"
        )

    def exactness(self) -> float:
        """Share of gaps with damage whose error events match the damage one to one."""
        exact = total = 0
        for gap in self.gaps:
            damaged = sum(1 for i in gap.missing if self.sent[i].fault in DAMAGED)
            if not damaged:
                continue
            end = gap.missing[-1] + 1
            garbage = end < len(self.sent) and self.sent[end].fault == "garbage"
            noise = sum(1 for e in gap.errors if e.kind is not ErrorKind.REPLAY)
            total += 1
            exact += noise == damaged + garbage
        return exact / total if total else 1.0


def values_of(push: Push) -> Values:
    """A decoded push in the simulator's `last_values` form."""
    return {code: (reading.value, reading.unit) for code, reading in push.values.items()}


def chunks(rng: random.Random, data: bytes) -> Iterator[bytes]:
    """Cut `data` where a serial read might end: 1 byte to a few hundred."""
    pos = 0
    while pos < len(data):
        size = rng.choice((1, 2, 7, 16, 64, 256, 4096))
        yield data[pos : pos + size]
        pos += size


def run_line(
    profile: str,
    *,
    key: bytes | None,
    auth_key: bytes | None,
    pushes: int,
    seed: int,
    rates: dict[str, float],
    security: str = "",
    elapsed: Sequence[float] = (5.0,),
    flush_between: bool = False,
) -> LineRun:
    """Send `pushes` pushes through the fault injector into one decoder; match the output.

    `flush_between`: call `flush()` after each push, as a reader would on the silence
    between two pushes (pieces of a cut push then never join the next push).
    """
    sim = MeterSimulator(profile, key=key, auth_key=auth_key, seed=seed, start=START)
    faults = FaultInjector(seed=seed, **rates)
    decoder = StreamDecoder(key=key, auth_key=auth_key, model=sim.model, local_tz=ZURICH)
    rng = random.Random(f"chunks:{seed}")
    sent: list[Sent] = []
    results: list[Push | ErrorEvent] = []
    for index in range(pushes):
        wire = sim.next_push(elapsed=elapsed[index % len(elapsed)])
        faulted = faults.apply(wire)
        sent.append(Sent(index, faulted.fault, dict(sim.last_values), faulted.data, wire))
        for piece in chunks(rng, faulted.data):
            results += decoder.feed(piece)
        if flush_between:
            results += decoder.flush()
    results += decoder.flush()
    run = LineRun(profile, security, sent, results)
    run.match()
    stats = decoder.stats
    assert stats.pushes == sum(1 for r in results if isinstance(r, Push))
    assert sum(stats.errors.values()) == sum(1 for r in results if isinstance(r, ErrorEvent))
    return run


def rewrap(sim: MeterSimulator, apdu: bytes, *, key: bytes | None, auth_key: bytes | None) -> bytes:
    """The simulator's last push again, carrying `apdu` (same counter, security, framing)."""
    wire_apdu = apdu
    if key is not None and sim.security_control is not None:
        wire_apdu = enc.general_glo_ciphering(
            apdu,
            key=key,
            system_title=sim.system_title,
            frame_counter=sim.frame_counter,
            security_control=sim.security_control,
            auth_key=auth_key,
        )
    identity = Identity(sim.system_title, "", "")
    return PROFILES[sim.profile].frame(wire_apdu, identity, mbus_overflow=False)


def replace_u32(apdu: bytes, old: int, new: int) -> bytes:
    """Put `new` where the APDU carries the double-long-unsigned `old` (a meter glitch)."""
    before, after = b"\x06" + old.to_bytes(4, "big"), b"\x06" + new.to_bytes(4, "big")
    at = apdu.find(before)
    if at < 0:
        raise ValueError(f"{old} is not in the APDU as a double-long-unsigned")
    return apdu[:at] + after + apdu[at + len(before) :]
