"""Fuzz driver over the decoder's streaming API (scripts/fuzz; a short run is a CI test).

Inputs come from four sources, each fed in random chunk sizes to long-lived `StreamDecoder`s
(so buffers, block assemblers and frame counters carry state across inputs, as on a line
that runs for months) and now and then to a fresh one:

* real frames (tests/fixtures/public_vectors.json), mutated byte by byte, and mutated inside
  a frame whose HDLC FCS / M-Bus sum is then recomputed, so the damage reaches the layers
  behind the checksum;
* simulator pushes of every profile, plain, encrypted and authenticated, in native, DLMS/IP
  wrapper and bare framing, mutated on the wire, or mutated as plaintext APDU (A-XDR tags,
  lengths, nesting) and then ciphered and framed correctly, so they pass every checksum and
  the tag and reach the A-XDR parser and the layouts;
* DSMR text telegrams with a recomputed CRC;
* random bytes, long garbage and headers that claim huge lengths.

Oracles: feed() and flush() never raise; every result is a Push or an ErrorEvent with an
ErrorKind; no "internal decoder error" (the decoder's last line of defence caught a bug);
no key in an event's detail; the decoder's stats agree with what it handed out. Figures:
time per input against its length (worst and percentiles of µs per byte, by size), RSS and,
optionally, traced Python memory over the run.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
import faulthandler
import gc
import heapq
import itertools
import json
import math
import os
from pathlib import Path
import random
import sys
import time
import tracemalloc
import types
from typing import Any, Final, cast

from custom_components.swiss_meter_cii.decoder import ErrorEvent, ErrorKind, Push, StreamDecoder
from custom_components.swiss_meter_cii.decoder.crc import crc16_arc, crc16_x25
from simulator import (
    DEFAULT_AUTH_KEY,
    DEFAULT_KEY,
    PROFILES,
    MeterSimulator,
    encoder as enc,
    wrong_key,
)
from simulator.meter import FRAMINGS
from simulator.profiles import Identity

from .secrets_guard import KeyLeakGuard

VECTORS: Final = Path(__file__).resolve().parents[1] / "fixtures" / "public_vectors.json"
INTERNAL_ERROR: Final = "internal decoder error"  # StreamDecoder's last line of defence
START: Final = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # spans the CET -> CEST switch
PAGE: Final = os.sysconf("SC_PAGE_SIZE")
MIN_TIMED_BYTES: Final = 64  # µs/byte of shorter inputs is mostly the cost of one call
SIZE_BUCKETS: Final = (256, 1024, 4096, 16384, 1 << 30)
HANG_SECONDS: Final = 60.0  # one input taking this long is a hang: dump stacks and exit
MAX_FINDINGS: Final = 20  # per kind: enough to debug, bounded memory on a bad day
SUSPECTS: Final = 8  # slowest inputs per size and chunking re-timed at the end (GC pauses)
RETIMES: Final = 3

AXDR_TAGS: Final = bytes(
    (0, 1, 2, 3, 4, 5, 6, 9, 10, 12, 13, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27)
)
LENGTHS: Final = bytes((0x00, 0x01, 0x02, 0x0C, 0x7F, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0xFF))
INTERESTING: Final = bytes((0x00, 0x01, 0x7E, 0x68, 0x16, 0x0F, 0xDB, 0xE0, 0xE6, 0xE7, 0xFF))
HEADERS: Final = (
    b"\x7e\xa0",
    b"\x7e\xa8",
    b"\x7e\xa7\xff",
    b"\x68\xff\xff\x68",
    b"\x68\x01\x01\x68",
    b"\xe6\xe7\x00",
    b"\xdb\x08",
    b"\x0f\x00",
    b"\xe0\x40\x00\x01\x00\x00",
    b"\x00\x01\x00\x01\x00\x01",
    b"/XYZ5",
    b"!",
    b"\r\n",
)


# ---------------------------------------------------------------------------------- corpus


@dataclass(frozen=True, slots=True)
class Seed:
    """One starting input and the keys a decoder for it is configured with."""

    source: str  # vector id or "sim:<profile>:<security>:<framing>"
    data: bytes
    key: bytes | None
    auth_key: bytes | None
    model: str = "auto"
    spans: tuple[tuple[int, int, str], ...] = ()  # checksummed frames: start, end, kind


@dataclass(frozen=True, slots=True)
class SimSeed:
    """A simulator push as plaintext APDU plus how to cipher and frame it again."""

    source: str
    apdu: bytes
    key: bytes | None
    auth_key: bytes | None
    profile: str
    framing: str
    system_title: bytes
    security_control: int | None
    model: str


def _hdlc_spans(data: bytes) -> list[tuple[int, int, str]]:
    """HDLC frames (7E Ax..FCS) whose FCS is right, as (start of format, end of FCS)."""
    spans = []
    pos = data.find(0x7E)
    while 0 <= pos < len(data) - 3:
        fmt = data[pos + 1]
        if fmt & 0xF0 == 0xA0:
            length = (fmt & 0x07) << 8 | data[pos + 2]
            end = pos + 1 + length
            if end <= len(data) and length >= 7:
                frame = data[pos + 1 : end]
                if crc16_x25(frame[:-2]) == int.from_bytes(frame[-2:], "little"):
                    spans.append((pos + 1, end, "hdlc"))
                    pos = data.find(0x7E, end)
                    continue
        pos = data.find(0x7E, pos + 1)
    return spans


def _mbus_spans(data: bytes) -> list[tuple[int, int, str]]:
    """M-Bus long frames (68 L L 68 .. CS 16) whose sum is right."""
    spans = []
    pos = data.find(0x68)
    while 0 <= pos < len(data) - 6:
        length = data[pos + 1]
        end = pos + 6 + length
        if data[pos + 2] == length and data[pos + 3] == 0x68 and end <= len(data):
            body = data[pos + 4 : pos + 4 + length]
            if sum(body) & 0xFF == data[end - 2] and data[end - 1] == 0x16:
                spans.append((pos, end, "mbus"))
                pos = data.find(0x68, end)
                continue
        pos = data.find(0x68, pos + 1)
    return spans


def dsmr_telegram(rng: random.Random) -> bytes:
    """A plausible DSMR 5 telegram with a correct CRC."""
    kwh = rng.randrange(10**8) / 1000
    lines = [
        "/EST5\\253710000_A",
        "",
        "1-3:0.2.8(50)",
        f"0-0:1.0.0({rng.randrange(20, 30):02d}0327025959S)",
        "0-0:96.1.1(4B384547303034303436333935353037)",
        f"1-0:1.8.0({kwh:010.3f}*kWh)",
        f"1-0:2.8.0({kwh / 3:010.3f}*kWh)",
        f"1-0:1.7.0({rng.randrange(10**5) / 1000:06.3f}*kW)",
        "0-0:96.14.0(0002)",
        "0-1:24.2.1(101209112500W)(12785.123*m3)",
    ]
    body = ("\r\n".join(lines) + "\r\n!").encode("ascii")
    return body + f"{crc16_arc(body):04X}\r\n".encode()


def _vector_seeds() -> list[Seed]:
    with VECTORS.open(encoding="utf-8") as handle:
        vectors: list[dict[str, Any]] = json.load(handle)
    seeds = []
    for vector in vectors:
        data = bytes.fromhex(vector["hex"])
        key = bytes.fromhex(vector["key_hex"]) if vector.get("key_hex") else None
        auth = bytes.fromhex(vector["auth_key_hex"]) if vector.get("auth_key_hex") else None
        spans = tuple(_hdlc_spans(data) + _mbus_spans(data))
        seeds.append(Seed(vector["id"], data, key, auth, "auto", spans))
    return seeds


SECURITY: Final[dict[str, tuple[bytes | None, bytes | None]]] = {
    "plain": (None, None),
    "key": (DEFAULT_KEY, None),
    "key+gak": (DEFAULT_KEY, DEFAULT_AUTH_KEY),
}


def _sim_seeds(pushes: int) -> tuple[list[Seed], list[SimSeed]]:
    """Wire seeds and re-cipherable plaintext seeds for every profile, security and framing."""
    wire: list[Seed] = []
    plain: list[SimSeed] = []
    for profile in PROFILES:
        for security, (key, auth) in SECURITY.items():
            for framing in FRAMINGS:
                overflows = (False, True) if PROFILES[profile].mbus and framing == "native" else ()
                for overflow in overflows or (False,):
                    sim = MeterSimulator(
                        profile,
                        key=key,
                        auth_key=auth,
                        seed=len(wire),
                        start=START,
                        framing=framing,
                        mbus_overflow=overflow,
                    )
                    name = f"sim:{profile}:{security}:{framing}{':overflow' if overflow else ''}"
                    for _ in range(pushes):
                        data = sim.next_push(elapsed=4000.0)  # an hour apart: time moves on
                        spans = tuple(_hdlc_spans(data) + _mbus_spans(data))
                        wire.append(Seed(name, data, key, auth, sim.model, spans))
                    if not overflow:
                        plain.append(
                            SimSeed(
                                name,
                                sim.last_apdu,
                                key,
                                auth,
                                profile,
                                framing,
                                sim.system_title,
                                sim.security_control,
                                sim.model,
                            )
                        )
    return wire, plain


@dataclass(slots=True)
class Corpus:
    """Everything inputs are made from."""

    vectors: list[Seed]
    sim_wire: list[Seed]
    sim_plain: list[SimSeed]
    dsmr: list[Seed]

    @classmethod
    def build(cls, pushes_per_variant: int = 3) -> Corpus:
        """Vectors, simulator pushes (all profiles, securities, framings) and DSMR telegrams."""
        rng = random.Random("fuzz-corpus")
        wire, plain = _sim_seeds(pushes_per_variant)
        dsmr = []
        for _ in range(4):
            text = dsmr_telegram(rng)
            dsmr.append(Seed("dsmr", text, None, None, "auto", ((0, len(text), "dsmr"),)))
        return cls(_vector_seeds(), wire, plain, dsmr)

    @property
    def all_wire(self) -> list[Seed]:
        """Every seed that is already wire bytes."""
        return [*self.vectors, *self.sim_wire, *self.dsmr]

    @property
    def keys(self) -> set[bytes]:
        """Every key a decoder of this run is configured with."""
        found = {DEFAULT_KEY, DEFAULT_AUTH_KEY, wrong_key(DEFAULT_KEY)}
        for seed in self.vectors:
            found.update(k for k in (seed.key, seed.auth_key) if k is not None)
        return found


# ------------------------------------------------------------------------------- mutation


def _flip(rng: random.Random, data: bytearray) -> None:
    for _ in range(rng.choice((1, 1, 1, 2, 3, 8))):
        if data:
            data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)


def _set(rng: random.Random, data: bytearray) -> None:
    if data:
        pool = rng.choice((INTERESTING, AXDR_TAGS, LENGTHS, None))
        data[rng.randrange(len(data))] = rng.choice(pool) if pool else rng.randrange(256)


def _insert(rng: random.Random, data: bytearray) -> None:
    at = rng.randrange(len(data) + 1)
    data[at:at] = rng.choice(HEADERS) if rng.random() < 0.4 else rng.randbytes(rng.randint(1, 16))


def _delete(rng: random.Random, data: bytearray) -> None:
    if len(data) > 1:
        at = rng.randrange(len(data))
        del data[at : at + rng.randint(1, 16)]


def _duplicate(rng: random.Random, data: bytearray) -> None:
    if data:
        at = rng.randrange(len(data))
        piece = data[at : at + rng.randint(1, 64)]
        to = rng.randrange(len(data) + 1)
        data[to:to] = piece


def _truncate(rng: random.Random, data: bytearray) -> None:
    if len(data) > 1:
        del data[rng.randrange(1, len(data)) :]


def _behead(rng: random.Random, data: bytearray) -> None:
    if len(data) > 1:
        del data[: rng.randrange(1, len(data))]


def _length(rng: random.Random, data: bytearray) -> None:
    """Overwrite a byte near the start (where lengths and formats live)."""
    if data:
        data[rng.randrange(min(len(data), 24))] = rng.choice(LENGTHS + INTERESTING)


MUTATORS: Final[tuple[Callable[[random.Random, bytearray], None], ...]] = (
    _flip,
    _flip,
    _set,
    _set,
    _insert,
    _delete,
    _duplicate,
    _truncate,
    _behead,
    _length,
)


def mutate(rng: random.Random, data: bytes, rounds: int | None = None) -> bytes:
    """Apply 1-4 random byte-level mutations."""
    out = bytearray(data)
    for _ in range(rounds if rounds is not None else rng.choice((1, 1, 2, 3, 4))):
        rng.choice(MUTATORS)(rng, out)
    return bytes(out)


def _refresh_checksum(data: bytearray, start: int, end: int, kind: str) -> None:
    """Recompute the FCS / M-Bus sum / DSMR CRC of a frame mutated in place."""
    if kind == "hdlc":
        data[end - 2 : end] = crc16_x25(data[start : end - 2]).to_bytes(2, "little")
    elif kind == "mbus":
        data[end - 2] = sum(data[start + 4 : end - 2]) & 0xFF
    else:  # dsmr: CRC over everything up to and including '!'
        bang = data.rfind(b"!", start, end)
        if bang >= 0 and end - bang >= 5:
            data[bang + 1 : bang + 5] = f"{crc16_arc(data[start : bang + 1]):04X}".encode()


def mutate_behind_checksum(rng: random.Random, seed: Seed) -> bytes:
    """Change bytes inside one checksummed frame (length kept), then fix its checksum."""
    out = bytearray(seed.data)
    start, end, kind = rng.choice(seed.spans)
    first = start + (12 if kind == "hdlc" else 7 if kind == "mbus" else 6)
    last = end - (2 if kind != "dsmr" else 8)
    if last <= first:
        return bytes(out)
    for _ in range(rng.choice((1, 1, 2, 4))):
        at = rng.randrange(first, last)
        roll = rng.random()
        if roll < 0.4:
            out[at] ^= 1 << rng.randrange(8)
        elif roll < 0.7:
            out[at] = rng.choice(AXDR_TAGS + LENGTHS)
        else:
            out[at] = rng.randrange(256)
    _refresh_checksum(out, start, end, kind)
    return bytes(out)


def _nested(rng: random.Random) -> bytes:
    """A body that nests arrays/structures deeply (recursion) or claims huge lengths."""
    roll = rng.random()
    if roll < 0.4:
        depth = rng.choice((64, 500, 5000, 20000))
        return bytes((rng.choice((0x01, 0x02)), 0x01)) * depth + b"\x11\x00"
    if roll < 0.7:
        return b"\x01\x84\xff\xff\xff\xff" + rng.randbytes(rng.randint(0, 32))
    return b"\x09\x84\x7f\xff\xff\xff" + rng.randbytes(rng.randint(0, 32))


def mutate_apdu(rng: random.Random, apdu: bytes) -> bytes:
    """A-XDR-aware damage to a plaintext Data-Notification."""
    roll = rng.random()
    if roll < 0.1:
        cut = rng.randrange(6, max(7, min(len(apdu), 40)))
        return apdu[:cut] + _nested(rng)
    out = bytearray(apdu)
    for _ in range(rng.choice((1, 1, 2, 3))):
        at = rng.randrange(5, len(out)) if len(out) > 5 else 0
        pick = rng.random()
        if pick < 0.35:
            out[at] = rng.choice(AXDR_TAGS)
        elif pick < 0.6:
            out[at] = rng.choice(LENGTHS)
        elif pick < 0.8:
            out[at] ^= 1 << rng.randrange(8)
        else:
            rng.choice(MUTATORS)(rng, out)
    return bytes(out)


@dataclass(slots=True)
class Counters:
    """Frame counters that only rise, so ciphered fuzz inputs get past the replay check."""

    next: int = 0x0100_0000

    def take(self) -> int:
        """The next invocation counter."""
        self.next = (self.next + 1) & 0xFFFFFFFF
        return self.next


def recipher(rng: random.Random, seed: SimSeed, apdu: bytes, counters: Counters) -> bytes:
    """Cipher (if the seed is ciphered) and frame a mutated APDU so every checksum holds."""
    wire_apdu = apdu
    if seed.key is not None and seed.security_control is not None:
        wire_apdu = enc.general_glo_ciphering(
            apdu,
            key=seed.key,
            system_title=seed.system_title,
            frame_counter=counters.take(),
            security_control=seed.security_control,
            auth_key=seed.auth_key,
        )
        if rng.random() < 0.15:  # damage the ciphering header instead of the plaintext
            wire_apdu = mutate(rng, wire_apdu[:16], 1) + wire_apdu[16:]
    try:
        if seed.framing == "wrapper":
            return enc.ip_wrapper(wire_apdu)
        if seed.framing == "raw":
            return wire_apdu
        identity = Identity(seed.system_title, "", "")
        return PROFILES[seed.profile].frame(wire_apdu, identity, mbus_overflow=False)
    except ValueError:  # longer than the framing can carry
        return wire_apdu


# --------------------------------------------------------------------------------- inputs


@dataclass(frozen=True, slots=True)
class FuzzInput:
    """One input: bytes, chunk sizes, decoder keys, and where it came from."""

    data: bytes
    chunks: tuple[int, ...]  # sizes; they add up to len(data)
    key: bytes | None
    auth_key: bytes | None
    model: str
    source: str
    fresh: bool  # a new decoder instead of the long-lived one
    flush: bool  # flush() after feeding (end of capture / silence)


def _chunking(rng: random.Random, size: int) -> tuple[str, tuple[int, ...]]:
    roll = rng.random()
    if size == 0 or roll < 0.4:
        return "whole", (size,)
    if roll < 0.8:
        count = min(size - 1, rng.randint(1, 8))
        edges = [0, *sorted(rng.sample(range(1, size), count)), size] if size > 1 else [0, size]
        return "random", tuple(b - a for a, b in itertools.pairwise(edges))
    if roll < 0.95 or size > 1024:
        step = rng.choice((2, 3, 7, 16, 64))
        return "fixed", tuple(min(step, size - i) for i in range(0, size, step))
    return "bytewise", (1,) * size


def _big(rng: random.Random, corpus: Corpus) -> tuple[str, bytes]:
    roll = rng.random()
    if roll < 0.35:
        return "big:garbage", rng.randbytes(rng.randint(4096, 65536))
    if roll < 0.6:
        header = rng.choice(HEADERS)
        return "big:headers", header * rng.randint(1000, 20000)
    pieces = [rng.choice(corpus.sim_wire).data for _ in range(rng.randint(10, 60))]
    stream = b"".join(pieces)
    return "big:stream", mutate(rng, stream, rng.randint(0, 20))


def make_input(rng: random.Random, corpus: Corpus, counters: Counters) -> FuzzInput:
    """Draw one input (deterministic for a given rng state)."""
    roll = rng.random()
    key: bytes | None = None
    auth: bytes | None = None
    model = "auto"
    if roll < 0.2:
        seed = rng.choice(corpus.vectors)
        key, auth = seed.key, seed.auth_key
        if seed.spans and rng.random() < 0.5:
            source, data = f"vector-fixed:{seed.source}", mutate_behind_checksum(rng, seed)
        else:
            source, data = f"vector:{seed.source}", mutate(rng, seed.data)
    elif roll < 0.5:
        sim = rng.choice(corpus.sim_plain)
        key, auth, model = sim.key, sim.auth_key, sim.model
        source = f"apdu:{sim.source}"
        data = recipher(rng, sim, mutate_apdu(rng, sim.apdu), counters)
    elif roll < 0.75:
        seed = rng.choice(corpus.sim_wire)
        key, auth, model = seed.key, seed.auth_key, seed.model
        if seed.spans and rng.random() < 0.4:
            source, data = f"wire-fixed:{seed.source}", mutate_behind_checksum(rng, seed)
        else:
            source, data = f"wire:{seed.source}", mutate(rng, seed.data)
    elif roll < 0.8:
        seed = rng.choice(corpus.dsmr)
        source = "dsmr"
        data = mutate_behind_checksum(rng, seed) if rng.random() < 0.6 else mutate(rng, seed.data)
    elif roll < 0.9:
        a, b = rng.choice(corpus.all_wire), rng.choice(corpus.all_wire)
        key, auth = a.key, a.auth_key
        source = "splice"
        data = a.data[: rng.randrange(len(a.data) + 1)] + b.data[rng.randrange(len(b.data) + 1) :]
        if rng.random() < 0.5:
            data = mutate(rng, data)
    elif roll < 0.98:
        source, data = "random", rng.randbytes(rng.choice((1, 2, 8, 32, 128, 512, 2048)))
    else:
        source, data = _big(rng, corpus)
    keys = rng.random()
    if keys < 0.05:
        key = auth = None  # a user who forgot the key
    elif keys < 0.1:
        key, auth = wrong_key(DEFAULT_KEY), None  # a user with the wrong key
    elif keys < 0.15 and key is not None:
        auth = wrong_key(DEFAULT_AUTH_KEY)
    mode, chunks = _chunking(rng, len(data))
    return FuzzInput(
        data,
        chunks,
        key,
        auth,
        model,
        f"{source.split(':')[0]}/{mode}",
        fresh=rng.random() < 0.03,
        flush=rng.random() < 0.05,
    )


END: Final = FuzzInput(b"", (), None, None, "", "end of run", fresh=False, flush=False)


# -------------------------------------------------------------------------------- running


@dataclass(slots=True)
class Finding:
    """A broken oracle: enough to reproduce (seed and index) and to read (hex excerpt)."""

    kind: str
    index: int
    source: str
    detail: str
    data_hex: str

    def __str__(self) -> str:
        """One paragraph per finding."""
        return (
            f"[{self.kind}] input #{self.index} ({self.source}): {self.detail}\n"
            f"    input ({len(self.data_hex) // 2} bytes shown): {self.data_hex}"
        )


@dataclass(slots=True)
class Timing:
    """Time per input against its length."""

    worst_us_per_byte: float = 0.0
    worst_source: str = ""
    worst_len: int = 0
    slowest_us: float = 0.0
    slowest_len: int = 0
    slowest_source: str = ""
    by_size: dict[int, Histogram] = field(default_factory=dict)  # size bucket -> µs/byte
    # (size bucket, chunking) -> heap of (µs/byte, index): the slowest of each kind
    suspects: dict[tuple[int, str], list[tuple[float, int]]] = field(default_factory=dict)
    confirmed_us_per_byte: float = 0.0  # worst after re-running the suspects on a quiet decoder
    confirmed_index: int = -1
    confirmed_len: int = 0
    confirmed_source: str = ""

    def add(self, micros: float, size: int, source: str, index: int) -> None:
        """Record one input."""
        if micros > self.slowest_us:
            self.slowest_us, self.slowest_len, self.slowest_source = micros, size, source
        if size < MIN_TIMED_BYTES:
            return
        per_byte = micros / size
        if per_byte > self.worst_us_per_byte:
            self.worst_us_per_byte, self.worst_len, self.worst_source = per_byte, size, source
        bucket = next(b for b in SIZE_BUCKETS if size <= b)
        heap = self.suspects.setdefault((bucket, source.rpartition("/")[2]), [])
        if len(heap) < SUSPECTS:
            heapq.heappush(heap, (per_byte, index))
        elif per_byte > heap[0][0]:
            heapq.heapreplace(heap, (per_byte, index))
        self.by_size.setdefault(bucket, Histogram()).add(per_byte)

    def table(self) -> list[str]:
        """Percentiles of µs per byte by input size: flat means linear time."""
        lines = []
        low = MIN_TIMED_BYTES
        for bucket in SIZE_BUCKETS:
            label = f"{low}-{bucket}" if bucket < 1 << 30 else f">{low}"
            low = bucket + 1
            histogram = self.by_size.get(bucket)
            if histogram is None:
                continue
            lines.append(
                f"    {label:>12} bytes: {histogram.count:>9,} inputs, µs/byte "
                f"p50 {histogram.percentile(0.5):6.2f}  p99 {histogram.percentile(0.99):6.2f}  "
                f"max {histogram.max:7.2f}"
            )
        return lines


@dataclass(slots=True)
class Histogram:
    """Log-spaced histogram (20 bins a decade): percentiles in constant memory.

    A run of millions of inputs must not grow the fuzzer itself, or its RSS figure would
    measure the fuzzer rather than the decoder.
    """

    bins: Counter[int] = field(default_factory=Counter)
    count: int = 0
    max: float = 0.0

    def add(self, value: float) -> None:
        """Count one value (> 0)."""
        self.bins[math.floor(20 * math.log10(max(value, 1e-6)))] += 1
        self.count += 1
        self.max = max(self.max, value)

    def percentile(self, fraction: float) -> float:
        """Upper edge of the bin holding the given fraction (at most 12 % above the value)."""
        rank = fraction * self.count
        seen = 0
        for index in sorted(self.bins):
            seen += self.bins[index]
            if seen >= rank:
                return min(10 ** ((index + 1) / 20), self.max)
        return self.max


@dataclass(slots=True)
class Report:
    """What a run found and measured."""

    seed: int
    inputs: int = 0
    bytes: int = 0
    elapsed: float = 0.0
    pushes: int = 0
    events: Counter[str] = field(default_factory=Counter)
    sources: Counter[str] = field(default_factory=Counter)
    findings: list[Finding] = field(default_factory=list)
    finding_counts: Counter[str] = field(default_factory=Counter)
    non_finite: int = 0
    timing: Timing = field(default_factory=Timing)
    rss_kib: list[tuple[int, int]] = field(default_factory=list)  # (inputs done, RSS KiB)
    traced_kib: list[tuple[int, int]] = field(default_factory=list)  # (inputs done, KiB)
    state_kib: list[tuple[int, int, int]] = field(default_factory=list)  # (done, total, largest)
    decoders: int = 0
    live_decoders: int = 0

    @property
    def ok(self) -> bool:
        """No oracle broken."""
        return not self.finding_counts

    def add_finding(self, finding: Finding) -> None:
        """Count every finding, keep the first few of each kind."""
        self.finding_counts[finding.kind] += 1
        if self.finding_counts[finding.kind] <= MAX_FINDINGS:
            self.findings.append(finding)

    def memory_growth_kib(self, samples: Sequence[tuple[int, int]]) -> int:
        """Growth from the first sample after warm-up (10 % of the run) to the end."""
        if len(samples) < 2:
            return 0
        warm = next((s for s in samples if s[0] >= self.inputs // 10), samples[0])
        return samples[-1][1] - warm[1]

    def summary(self) -> str:
        """The figures, as printed by scripts/fuzz."""
        rate = self.inputs / self.elapsed if self.elapsed else 0.0
        t = self.timing
        lines = [
            f"fuzz: seed {self.seed}: {self.inputs:,} inputs, {self.bytes / 1e6:,.1f} MB "
            f"in {self.elapsed:,.0f} s ({rate:,.0f} inputs/s), {self.decoders} decoders",
            f"  results: {self.pushes:,} pushes, "
            f"{sum(self.events.values()):,} error events "
            f"({', '.join(f'{k} {v:,}' for k, v in self.events.most_common())})",
            f"  oracles: {'all held' if self.ok else 'BROKEN'}"
            + "".join(f"; {kind} x{n}" for kind, n in self.finding_counts.items()),
            f"  CPU time: worst {t.confirmed_us_per_byte:.2f} µs/byte re-timed (input "
            f"#{t.confirmed_index}, {t.confirmed_len:,} bytes, {t.confirmed_source}); "
            f"{t.worst_us_per_byte:.2f} µs/byte in the run ({t.worst_len:,} bytes, "
            f"{t.worst_source}, GC pauses included)",
            f"  slowest input {t.slowest_us / 1000:.1f} ms ({t.slowest_len:,} bytes, "
            f"{t.slowest_source}); inputs < {MIN_TIMED_BYTES} bytes are not timed per byte",
            *t.table(),
        ]
        if self.rss_kib:
            first, last = self.rss_kib[0][1], self.rss_kib[-1][1]
            peak = max(kib for _, kib in self.rss_kib)
            lines.append(
                f"  RSS: {first / 1024:.1f} MiB at start, {last / 1024:.1f} MiB at the end, "
                f"peak {peak / 1024:.1f} MiB, growth after warm-up "
                f"{self.memory_growth_kib(self.rss_kib):+,} KiB"
            )
        if len(self.state_kib) > 1:
            peak_total = max(total for _, total, _ in self.state_kib)
            peak_one = max(one for _, _, one in self.state_kib)
            lines.append(
                f"  decoder state (deep size of the {self.live_decoders} long-lived decoders): "
                f"{self.state_kib[1][1]:,} KiB after {self.state_kib[1][0]:,} inputs, "
                f"{self.state_kib[-1][1]:,} KiB at the end, peak {peak_total:,} KiB; "
                f"largest decoder peak {peak_one:,} KiB"
            )
        if self.traced_kib:
            lines.append(
                f"  traced Python memory: {self.traced_kib[0][1]:,} KiB -> "
                f"{self.traced_kib[-1][1]:,} KiB, growth after warm-up "
                f"{self.memory_growth_kib(self.traced_kib):+,} KiB"
            )
        if self.non_finite:
            lines.append(f"  note: {self.non_finite:,} pushes carried NaN/infinite floats")
        lines.append(
            "  inputs by source: "
            + ", ".join(f"{k} {v:,}" for k, v in sorted(self.sources.items()))
        )
        lines += [str(finding) for finding in self.findings]
        return "\n".join(lines)


def deep_size(root: object) -> int:
    """Bytes reachable from `root` (modules, classes and functions excluded: shared code)."""
    seen: set[int] = set()
    stack = [root]
    total = 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _SHARED):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        stack.extend(gc.get_referents(obj))
    return total


_SHARED: Final = (type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


def traced_kib() -> int:
    """Python memory traced by tracemalloc."""
    return tracemalloc.get_traced_memory()[0] // 1024


def rss_kib() -> int:
    """Resident set size of this process."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * PAGE // 1024


class Fuzzer:
    """Runs inputs through long-lived decoders and checks every oracle."""

    def __init__(self, seed: int, corpus: Corpus | None = None) -> None:
        """Build (or reuse) the corpus; nothing runs until `run`."""
        self.seed = seed
        self.corpus = corpus if corpus is not None else Corpus.build()
        self.guard = KeyLeakGuard(self.corpus.keys)
        self.counters = Counters()
        self._decoders: dict[tuple[bytes | None, bytes | None, str], StreamDecoder] = {}
        self._handed: dict[int, Counter[str]] = {}  # id(decoder) -> results handed out
        self.report = Report(seed)

    def input(self, index: int) -> FuzzInput:
        """Input number `index` of this seed (inputs do not depend on each other)."""
        return make_input(random.Random(f"{self.seed}:{index}"), self.corpus, self.counters)

    def _decoder(self, item: FuzzInput) -> StreamDecoder:
        """The long-lived decoder for the input's keys (lives the whole run), or a fresh one."""
        if item.fresh:
            fresh = StreamDecoder(key=item.key, auth_key=item.auth_key, model=item.model)
            self._handed[id(fresh)] = Counter()
            self.report.decoders += 1
            return fresh
        slot = (item.key, item.auth_key, item.model)
        decoder = self._decoders.get(slot)
        if decoder is None:
            decoder = self._decoders[slot] = StreamDecoder(
                key=item.key, auth_key=item.auth_key, model=item.model
            )
            self._handed[id(decoder)] = Counter()
            self.report.decoders += 1
        return decoder

    def state_kib(self) -> tuple[int, int]:
        """Deep size of the long-lived decoders: (all together, the largest), in KiB."""
        sizes = [deep_size(decoder) for decoder in self._decoders.values()] or [0]
        return sum(sizes) // 1024, max(sizes) // 1024

    def _check_stats(self, decoder: StreamDecoder, index: int, item: FuzzInput) -> None:
        """The decoder's stats must count exactly what it handed out."""
        handed = self._handed.pop(id(decoder), Counter())
        stats = decoder.stats
        counted = Counter({str(kind): n for kind, n in stats.errors.items() if n})
        counted["push"] = stats.pushes
        handed_all = +handed
        handed_all["push"] = handed["push"]
        if counted != handed_all:
            self.report.add_finding(
                Finding(
                    "stats",
                    index,
                    item.source,
                    f"stats {dict(counted)} but handed out {dict(handed_all)}",
                    "",
                )
            )

    def _check(
        self, results: list[Push | ErrorEvent], index: int, item: FuzzInput, tally: Counter[str]
    ) -> None:
        """Every oracle on the results of one input."""
        report = self.report
        for result in cast(list[object], results):  # checked, not trusted
            if isinstance(result, Push):
                report.pushes += 1
                tally["push"] += 1
                for reading in result.values.values():
                    value = reading.value
                    if (isinstance(value, float) and not math.isfinite(value)) or (
                        isinstance(value, Decimal) and not value.is_finite()
                    ):
                        report.non_finite += 1
                continue
            if not isinstance(result, ErrorEvent) or not isinstance(result.kind, ErrorKind):
                report.add_finding(
                    Finding("contract", index, item.source, repr(result), item.data[:512].hex())
                )
                continue
            report.events[result.kind.value] += 1
            tally[result.kind.value] += 1
            if result.detail == INTERNAL_ERROR:
                report.add_finding(
                    Finding(
                        "internal-error",
                        index,
                        item.source,
                        "the decoder caught one of its own exceptions (a bug): "
                        f"raw {result.raw[:64].hex()}",
                        item.data[:1024].hex(),
                    )
                )
            if self.guard.find(result.detail):
                report.add_finding(
                    Finding("key-in-detail", index, item.source, result.kind.value, "")
                )

    def feed(self, index: int, item: FuzzInput) -> float:
        """Run one input; returns the seconds it took. Records any broken oracle."""
        decoder = self._decoder(item)
        tally = self._handed.setdefault(id(decoder), Counter())
        data = item.data
        results: list[Push | ErrorEvent] = []
        started = time.process_time()  # CPU time: other processes on the machine don't count
        try:
            pos = 0
            for size in item.chunks:
                results += decoder.feed(data[pos : pos + size])
                pos += size
            if item.flush:
                results += decoder.flush()
        except Exception as err:  # the oracle: feed/flush never raise
            took = time.process_time() - started
            self.report.add_finding(
                Finding(
                    "exception",
                    index,
                    item.source,
                    f"{type(err).__name__}: {err}",
                    data[:2048].hex(),
                )
            )
            if not item.fresh:
                self._decoders.pop((item.key, item.auth_key, item.model), None)
            self._handed.pop(id(decoder), None)
            return took
        took = time.process_time() - started
        self._check(results, index, item, tally)
        if item.fresh:
            self._check_stats(decoder, index, item)
        return took

    def _retime(self) -> None:
        """Re-run the slowest inputs on fresh decoders; keep the best of a few timings.

        Timings are CPU time of this process (other processes don't count), but a single
        one may include a GC pause; a slow path that is real shows up again. Fresh decoders:
        state-dependent slowness would need the whole stream, and shows in the raw figure.
        """
        timing = self.report.timing
        for _, index in (s for heap in timing.suspects.values() for s in heap):
            item = self.input(index)
            best = math.inf
            for _ in range(RETIMES):
                decoder = StreamDecoder(key=item.key, auth_key=item.auth_key, model=item.model)
                started = time.process_time()
                pos = 0
                for size in item.chunks:
                    decoder.feed(item.data[pos : pos + size])
                    pos += size
                if item.flush:
                    decoder.flush()
                best = min(best, time.process_time() - started)
            per_byte = best * 1e6 / len(item.data)
            if per_byte > timing.confirmed_us_per_byte:
                timing.confirmed_us_per_byte = per_byte
                timing.confirmed_index, timing.confirmed_len = index, len(item.data)
                timing.confirmed_source = item.source

    def run(
        self,
        inputs: int,
        *,
        seconds: float | None = None,
        start: int = 0,
        step: int = 1,
        trace_memory: bool = False,
        progress: Callable[[Report], None] | None = None,
    ) -> Report:
        """Run inputs start, start+step, ... until `inputs` ran or `seconds` passed."""
        report = self.report
        deadline = time.monotonic() + seconds if seconds else None
        samples = 20
        every = max(1, inputs // samples)
        if trace_memory:
            tracemalloc.start()
        faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
        began = time.perf_counter()
        try:
            for done, index in enumerate(range(start, start + inputs * step, step)):
                if done % every == 0:
                    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
                    report.rss_kib.append((done, rss_kib()))
                    report.state_kib.append((done, *self.state_kib()))
                    if trace_memory:
                        report.traced_kib.append((done, traced_kib()))
                    if progress is not None and done:
                        report.elapsed = time.perf_counter() - began
                        progress(report)
                    if deadline is not None and time.monotonic() > deadline:
                        break
                item = self.input(index)
                took = self.feed(index, item)
                report.inputs += 1
                report.bytes += len(item.data)
                report.sources[item.source.split("/")[0]] += 1
                report.timing.add(took * 1e6, len(item.data), item.source, index)
            for decoder in list(self._decoders.values()):
                self._check_stats(decoder, -1, END)
            self._retime()
            report.rss_kib.append((report.inputs, rss_kib()))
            report.state_kib.append((report.inputs, *self.state_kib()))
            report.live_decoders = len(self._decoders)
            if trace_memory:
                report.traced_kib.append((report.inputs, traced_kib()))
        finally:
            faulthandler.cancel_dump_traceback_later()
            if trace_memory:
                tracemalloc.stop()
            report.elapsed = time.perf_counter() - began
        return report


def iter_inputs(seed: int, count: int) -> Iterator[FuzzInput]:
    """The first `count` inputs of a seed (for tests of the driver itself)."""
    fuzzer = Fuzzer(seed)
    for index in range(count):
        yield fuzzer.input(index)


def main(argv: Sequence[str] | None = None) -> int:
    """scripts/fuzz."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="scripts/fuzz",
        description="Fuzz the decoder's streaming API; prints the figures, exits 1 on a finding.",
    )
    parser.add_argument("--inputs", type=int, default=100_000, help="inputs to run (100000)")
    parser.add_argument("--seed", type=int, default=1, help="seed (1); inputs depend only on it")
    parser.add_argument("--seconds", type=float, default=None, help="stop after this long")
    parser.add_argument(
        "--jobs", type=int, default=1, help="processes (each runs every n-th input); default 1"
    )
    parser.add_argument(
        "--tracemalloc", action="store_true", help="also trace Python allocations (slower)"
    )
    parser.add_argument("--replay", type=int, default=None, help="print input N as hex and run it")
    args = parser.parse_args(argv)
    if args.replay is not None:
        fuzzer = Fuzzer(args.seed)
        item = fuzzer.input(args.replay)
        print(
            f"input #{args.replay} ({item.source}, {len(item.data):,} bytes in "
            f"{len(item.chunks)} chunks, key {'set' if item.key else 'none'}):"
        )
        shown = item.data[:4096].hex()
        print(shown + (" ..." if len(item.data) > 4096 else ""))
        took = fuzzer.feed(args.replay, item)
        fuzzer.report.inputs, fuzzer.report.elapsed = 1, took
        print(fuzzer.report.summary())
        return 0 if fuzzer.report.ok else 1
    if args.jobs > 1:
        return _parallel(args.inputs, args.seed, args.seconds, args.jobs, args.tracemalloc)
    print(f"fuzz: building the corpus (seed {args.seed}) ...", flush=True)
    fuzzer = Fuzzer(args.seed)

    def progress(report: Report) -> None:
        print(
            f"  {report.inputs:>10,} inputs  {report.elapsed:7.0f} s  "
            f"RSS {report.rss_kib[-1][1] / 1024:6.1f} MiB  "
            f"findings {sum(report.finding_counts.values())}",
            flush=True,
        )

    report = fuzzer.run(
        args.inputs, seconds=args.seconds, trace_memory=args.tracemalloc, progress=progress
    )
    print(report.summary(), flush=True)
    return 0 if report.ok else 1


def _parallel(inputs: int, seed: int, seconds: float | None, jobs: int, trace: bool) -> int:
    """Fork `jobs` workers; worker k runs inputs k, k+jobs, ...; each prints its figures."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    per_job = math.ceil(inputs / jobs)
    with context.Pool(jobs) as pool:
        summaries = pool.starmap(
            _worker, [(seed, per_job, seconds, job, jobs, trace) for job in range(jobs)]
        )
    ok = True
    for job, (summary, worker_ok) in enumerate(summaries):
        print(f"--- worker {job} (inputs {job}, {job + jobs}, ...)\n{summary}")
        ok = ok and worker_ok
    return 0 if ok else 1


def _worker(
    seed: int, inputs: int, seconds: float | None, start: int, step: int, trace: bool
) -> tuple[str, bool]:
    report = Fuzzer(seed).run(inputs, seconds=seconds, start=start, step=step, trace_memory=trace)
    return report.summary(), report.ok


if __name__ == "__main__":
    sys.exit(main())
