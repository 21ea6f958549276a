"""Round trip: simulator -> bytes -> the project's decoder -> exactly `sim.last_values`.

The simulator's encoder was written from the wire-format reference independently of
the decoder, so agreement here cross-checks both. Every variant (plain, SC 0x20/0x21,
SC 0x30/0x31 with GAK; native framing, DLMS/IP wrapper, bare APDU; T210-D M-Bus
overflow) must decode to the very values the simulator says it sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.swiss_meter_cii.decoder import (
    ErrorEvent,
    Push,
    Security,
    StreamDecoder,
    decode_capture,
)
from simulator import (
    DEFAULT_AUTH_KEY,
    DEFAULT_KEY,
    FAULTS,
    PROFILES,
    FaultInjector,
    MeterSimulator,
)
from simulator.meter import Framing

ZURICH = ZoneInfo("Europe/Zurich")
START = datetime(2025, 6, 18, 9, 58, 30, tzinfo=UTC)  # Wednesday, around noon in Zurich
STEPS = (5.0, 5.0, 3600.0, 5.0, 9 * 3600.0)  # includes HT -> NT and day -> night
SECURITY = {
    "plain": (None, None),
    "key": (DEFAULT_KEY, None),
    "key+gak": (DEFAULT_KEY, DEFAULT_AUTH_KEY),
}

type Expected = dict[str, tuple[Any, str | None]]


def _run(sim: MeterSimulator, steps: Sequence[float] = STEPS) -> tuple[bytes, list[Expected]]:
    wire = b""
    expected = []
    for elapsed in steps:
        wire += sim.next_push(elapsed=elapsed)
        expected.append(dict(sim.last_values))
    return wire, expected


def _decode(
    sim: MeterSimulator, wire: bytes, key: bytes | None, auth: bytes | None, model: str
) -> list[Push | ErrorEvent]:
    return decode_capture(wire, key=key, auth_key=auth, model=model, local_tz=ZURICH)


def _differences(push: Push, expected: Expected) -> list[str]:
    """Every way the decoded values differ from the simulator's (value, unit) pairs."""
    got = {code: (reading.value, reading.unit) for code, reading in push.values.items()}
    problems = []
    for code, (value, unit) in expected.items():
        if code not in got:
            problems.append(f"{code}: missing (expected {value!r} {unit})")
            continue
        got_value, got_unit = got[code]
        if isinstance(got_value, bytes) or got_value != value or got_unit != unit:
            problems.append(f"{code}: got {got_value!r} {got_unit!r}, expected {value!r} {unit!r}")
    problems += [f"{code}: unexpected {got[code]!r}" for code in sorted(set(got) - set(expected))]
    return problems


def _check(
    results: Sequence[Push | ErrorEvent],
    expected: Sequence[Expected],
    sim: MeterSimulator,
    security: Security,
) -> None:
    errors = [f"{e.kind}: {e.detail}" for e in results if isinstance(e, ErrorEvent)]
    pushes = [r for r in results if isinstance(r, Push)]
    assert not errors, errors
    assert len(pushes) == len(expected)
    problems = [
        f"push {index}: {problem}"
        for index, (push, values) in enumerate(zip(pushes, expected, strict=True))
        for problem in _differences(push, values)
    ]
    assert not problems, "\n".join(problems)
    last = pushes[-1]
    assert last.security == security
    assert last.meter_number == sim.meter_number
    if security is not Security.NONE:
        assert last.system_title == sim.system_title
        assert last.frame_counter == sim.frame_counter


@pytest.mark.parametrize("variant", list(SECURITY))
@pytest.mark.parametrize("profile", list(PROFILES))
def test_every_profile_and_security_variant(profile: str, variant: str) -> None:
    key, auth = SECURITY[variant]
    sim = MeterSimulator(profile, key=key, auth_key=auth, seed=21, start=START)
    wire, expected = _run(sim)
    security = (
        Security.NONE if key is None else Security.AUTHENTICATED if auth else Security.ENCRYPTED
    )
    _check(_decode(sim, wire, key, auth, sim.model), expected, sim, security)


@pytest.mark.parametrize(
    ("profile", "framing", "variant"),
    [
        ("e450", "wrapper", "key+gak"),
        ("kaifa_ma309m", "wrapper", "key"),
        ("am550", "raw", "key+gak"),
        ("e360", "raw", "key"),
    ],
)
def test_other_framings(profile: str, framing: Framing, variant: str) -> None:
    key, auth = SECURITY[variant]
    sim = MeterSimulator(profile, key=key, auth_key=auth, seed=22, start=START, framing=framing)
    wire, expected = _run(sim)
    security = Security.AUTHENTICATED if auth else Security.ENCRYPTED
    _check(_decode(sim, wire, key, auth, sim.model), expected, sim, security)


@pytest.mark.parametrize("variant", ["plain", "key"])
def test_kaifa_t210d_length_overflow(variant: str) -> None:
    key, auth = SECURITY[variant]
    sim = MeterSimulator("kaifa_ma309m", key=key, seed=23, start=START, mbus_overflow=True)
    wire, expected = _run(sim)
    assert wire[:4] == b"\x68\x01\x01\x68"
    security = Security.ENCRYPTED if key else Security.NONE
    _check(_decode(sim, wire, key, auth, sim.model), expected, sim, security)


@pytest.mark.parametrize("profile", ["e450", "kaifa_ma309m"])
def test_auto_model_when_the_push_identifies_itself(profile: str) -> None:
    """Kaifa pushes carry their scalers; the E450's list and LGZ title name the meter."""
    sim = MeterSimulator(profile, key=DEFAULT_KEY, seed=24, start=START)
    wire, expected = _run(sim)
    _check(_decode(sim, wire, DEFAULT_KEY, None, "auto"), expected, sim, Security.ENCRYPTED)


@pytest.mark.parametrize("profile", list(PROFILES))
def test_any_chunking_gives_the_same_pushes(profile: str) -> None:
    """Serial reads and TCP segments end anywhere: feed odd-sized chunks."""
    sim = MeterSimulator(profile, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=27, start=START)
    wire, expected = _run(sim)
    decoder = StreamDecoder(key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, model=sim.model)
    results: list[Push | ErrorEvent] = []
    sizes = (1, 7, 64, 3, 255, 2, 1000)
    pos = index = 0
    while pos < len(wire):
        size = sizes[index % len(sizes)]
        results += decoder.feed(wire[pos : pos + size])
        pos += size
        index += 1
    results += decoder.flush()
    _check(results, expected, sim, Security.AUTHENTICATED)


def test_wrong_key_yields_no_values() -> None:
    sim = MeterSimulator("e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=25, start=START)
    wire, _ = _run(sim, (5.0, 5.0))
    for key, auth in ((bytes(16), DEFAULT_AUTH_KEY), (DEFAULT_KEY, bytes(16))):
        results = _decode(sim, wire, key, auth, sim.model)
        assert not [r for r in results if isinstance(r, Push)]
        assert len([r for r in results if isinstance(r, ErrorEvent)]) >= 2


@pytest.mark.parametrize("seed", [0, 26])
@pytest.mark.parametrize("variant", ["plain", "key+gak"])
@pytest.mark.parametrize("profile", list(PROFILES))
def test_faulted_stream_loses_only_the_damaged_pushes(
    profile: str, variant: str, seed: int
) -> None:
    """A noisy line: every push a correct decoder can recover comes out, nothing false.

    Strict: no decoded push may carry values the meter never sent, none may come out
    twice, and every intact, garbage-preceded or repeated push must come out. Lenient:
    a damaged push may still decode if the damage spared its APDU (a decoder that also
    hunts unframed LLC/DB APDUs recovers it) - but then its values must be exact.
    """
    key, auth = SECURITY[variant]
    sim = MeterSimulator(profile, key=key, auth_key=auth, seed=seed, start=START)
    faults = FaultInjector(seed=seed, garbage=0.15, flip=0.1, drop=0.1, truncate=0.1, repeat=0.1)
    wire = b""
    sent: list[tuple[str, Expected]] = []
    for _ in range(60):
        faulted = faults.apply(sim.next_push(elapsed=5.0))
        wire += faulted.data
        sent.append((faulted.fault, dict(sim.last_values)))
    assert {fault for fault, _ in sent} == {"intact", *FAULTS}
    decoded = [r for r in _decode(sim, wire, key, auth, sim.model) if isinstance(r, Push)]
    damaged = {"flip", "drop", "truncate"}
    must = [i for i, (fault, _) in enumerate(sent) if fault not in damaged]
    # HDLC S-bit segments carry no sequence number: a push cut short may take the
    # next AM550 push with it (docs/protocol.md, "HDLC segmentation"); GBT blocks and
    # M-Bus CI are numbered.
    if profile == "am550":
        must = [i for i in must if i == 0 or sent[i - 1][0] not in damaged]
    position = 0
    matched: list[int] = []
    for push in decoded:
        while position < len(sent) and _differences(push, sent[position][1]):
            position += 1
        assert position < len(sent), (
            f"push {len(matched)} carries values the meter never sent "
            f"(after sent push {matched[-1] if matched else None}): {push.values}"
        )
        matched.append(position)
        position += 1
    assert set(must) <= set(matched), f"lost pushes {sorted(set(must) - set(matched))}"
