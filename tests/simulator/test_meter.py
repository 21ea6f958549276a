"""MeterSimulator: wire shape per profile, what the bytes carry, determinism, counters.

The bytes are read back with the minimal readers in tests/simulator/__init__.py (not the
project's decoder and not the encoder), so these tests check that `last_values` is what
the wire actually says, and that the wire looks like the real meter's.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
import json
from typing import Any
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidTag
import pytest

from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, PROFILES, MeterSimulator

from . import (
    apdu_from_hdlc,
    apdu_from_mbus,
    hdlc_fields,
    obis_text,
    open_glo,
    parse_notification,
    split_hdlc,
    split_mbus,
)

SUMMER_NOON = datetime(2025, 6, 18, 10, 0, tzinfo=UTC)  # Wednesday 12:00 in Zurich
WINTER_EVENING = datetime(2025, 1, 15, 21, 0, tzinfo=UTC)  # Wednesday 22:00 in Zurich
ZURICH = ZoneInfo("Europe/Zurich")
UNITS = {27: "W", 29: "var", 30: "Wh", 32: "varh", 33: "A", 35: "V", 255: None}
VARIANTS = [(None, None), (DEFAULT_KEY, None), (DEFAULT_KEY, DEFAULT_AUTH_KEY)]


def _apdu(sim: MeterSimulator, wire: bytes) -> bytes:
    return apdu_from_mbus(wire) if sim.profile == "kaifa_ma309m" else apdu_from_hdlc(wire)


def _scaled(raw: int, scaler: int) -> int | Decimal:
    return raw if scaler == 0 else Decimal(raw).scaleb(scaler)


def _wall_clock(raw: bytes) -> datetime:
    """COSEM date-time with deviation 0x8000 -> aware Zurich wall time (test-side)."""
    year = int.from_bytes(raw[0:2], "big")
    hundredths = 0 if raw[8] == 0xFF else raw[8]
    naive = datetime(year, raw[2], raw[3], raw[5], raw[6], raw[7], hundredths * 10_000)
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    if deviation == -0x8000:
        return naive.replace(tzinfo=ZURICH, fold=0 if raw[11] & 0x80 else 1)
    return naive.replace(tzinfo=UTC) + timedelta(minutes=deviation)


# The object lists as the issue specifies them: OBIS, class, A-XDR tag, scaler (None = text).
E450_LIST: list[tuple[str, int, int, int | None]] = [
    ("0-0:42.0.0.255", 1, 0x09, None),
    ("0-0:96.1.1.255", 1, 0x09, None),
    ("0-0:1.0.0.255", 8, 0x09, None),
    *((f"1-1:{c}.255", 3, 0x06, 0) for c in ("1.8.0", "1.8.1", "1.8.2", "2.8.0", "3.8.0", "4.8.0")),
    *((f"1-0:{c}.7.0.255", 3, 0x06, 0) for c in (1, 2, 3, 4, 21, 41, 61, 22, 42, 62)),
    *((f"1-0:{c}.7.0.255", 3, 0x12, 0) for c in (32, 52, 72)),
    *((f"1-0:{c}.7.0.255", 3, 0x12, -2) for c in (31, 51, 71)),
    ("1-0:13.7.0.255", 3, 0x12, -3),
    ("0-0:96.14.0.255", 1, 0x09, None),
    ("0-0:96.13.0.255", 1, 0x09, None),
]
E360_LIST: list[tuple[str, int, int, int | None]] = [
    ("0-0:42.0.0.255", 1, 0x09, None),
    *((f"1-1:{c}.8.0.255", 3, 0x06, 0) for c in (1, 2, 3, 4)),
    *((f"1-0:{c}.7.0.255", 3, 0x06, 0) for c in (1, 2)),
    *((f"1-0:{c}.7.0.255", 3, 0x12, -1) for c in (32, 72, 52)),
    *((f"1-0:{c}.7.0.255", 3, 0x12, -2) for c in (31, 51, 71)),
]
AM550_LIST = [
    *E360_LIST[:5],
    ("1-1:1.7.0.255", 3, 0x06, 0),
    ("1-1:2.7.0.255", 3, 0x06, 0),
    *((f"1-0:{c}.7.0.255", 3, 0x12, -1) for c in (32, 52, 72)),
    *E360_LIST[-3:],
]


def _check_cip(
    sim: MeterSimulator, spec: list[tuple[str, int, int, int | None]], setup: str, setup_ln: bool
) -> None:
    """The body is self-describing and every value equals last_values (test-side reading)."""
    _, _, body = parse_notification(sim.last_apdu)
    assert isinstance(body, tuple)
    capture = body[0]
    head = 2 if setup_ln else 1
    assert len(capture) == len(body) == len(spec) + head
    entries = [(c.value, obis_text(ln.value), a.value, i.value) for c, ln, a, i in capture]
    assert entries[0] == (40, setup, 2, 0)
    if setup_ln:
        assert entries[1] == (40, setup, 1, 0)
        assert obis_text(body[1].value) == setup
    decoded: dict[str, tuple[Any, str | None]] = {}
    for (obis, cls, tag, scaler), entry, value in zip(
        spec, entries[head:], body[head:], strict=True
    ):
        assert entry == (cls, obis, 2, 0)
        assert value.tag == tag, obis
        if obis == "0-0:1.0.0.255":
            decoded[obis] = (_wall_clock(value.value), None)
        elif scaler is None:
            decoded[obis] = (value.value.decode("ascii"), None)
        else:
            decoded[obis] = (_scaled(value.value, scaler), sim.last_values[obis][1])
    assert decoded == sim.last_values


# --------------------------------------------------------------------------- wire shape


def test_e450_hdlc_gbt_shape_and_values() -> None:
    sim = MeterSimulator("e450", seed=3, start=SUMMER_NOON)
    wire = sim.next_push()
    frames = split_hdlc(wire)
    assert len(frames) > 4  # ~720-byte APDU in 129-byte info fields
    numbers = []
    for index, frame in enumerate(frames):
        fmt, dst, src, control, info = hdlc_fields(frame)
        assert fmt & 0xF800 == 0xA000  # type 3, no S bit: GBT does the segmenting
        assert len(dst) == 2
        assert dst[0] == 0xCE
        assert src == b"\x03"
        assert control == 0x13
        assert len(info) <= 129
        if index == 0:
            assert info[:3] == b"\xe6\xe7\x00"
            info = info[3:]
        assert info[0] == 0xE0
        assert info[1] == (0xC0 if index == len(frames) - 1 else 0x40)
        numbers.append(int.from_bytes(info[2:4], "big"))
        assert info[4:6] == b"\x00\x00"
    assert numbers == list(range(1, len(frames) + 1))
    assert apdu_from_hdlc(wire) == sim.last_apdu
    assert len(sim.last_values) == 28
    _check_cip(sim, E450_LIST, "0-8:25.9.0.255", setup_ln=True)


def test_e450_clock_object_and_header_stamp() -> None:
    for start, status in ((SUMMER_NOON, 0x81), (WINTER_EVENING, 0x01)):
        sim = MeterSimulator("e450", seed=1, start=start)
        sim.next_push(elapsed=5.25)
        _, stamp, body = parse_notification(sim.last_apdu)
        clock = body[2 + 2].value
        assert clock[8] == 0xFF  # hundredths not specified
        assert clock[9:11] == b"\x80\x00"  # deviation not specified
        assert clock[11] == status
        assert stamp is not None
        assert stamp[9:] == b"\x80\x00\x00"  # header: status 0x00
        expected = (start + timedelta(seconds=5)).astimezone(ZURICH)
        assert sim.last_values["0-0:1.0.0.255"] == (expected, None)
        assert sim.clock == start + timedelta(seconds=5.25)


def test_e360_single_big_frame() -> None:
    sim = MeterSimulator("e360", seed=2, start=SUMMER_NOON)
    wire = sim.next_push()
    frames = split_hdlc(wire)
    assert len(frames) == 1
    fmt, dst, src, control, info = hdlc_fields(frames[0])
    assert fmt >> 8 == 0xA1  # > 255 bytes, no S bit
    assert (dst, src, control) == (b"\xcf", b"\x03", 0x13)
    assert info[:3] == b"\xe6\xe7\x00"
    _, stamp, _ = parse_notification(sim.last_apdu)
    assert stamp is not None
    assert stamp[9:] == b"\xff\x88\x80"  # deviation -120 min, DST
    _check_cip(sim, E360_LIST, "0-6:25.9.0.255", setup_ln=False)
    volts = sim.last_values["1-0:32.7.0.255"][0]
    assert isinstance(volts, Decimal)
    assert volts.as_tuple().exponent == -1  # 0.1 V resolution
    assert 207 <= volts <= 253


def test_am550_hdlc_segments() -> None:
    sim = MeterSimulator("am550", seed=2, start=WINTER_EVENING)
    wire = sim.next_push()
    frames = split_hdlc(wire)
    assert len(frames) >= 3
    for index, frame in enumerate(frames):
        fmt, dst, src, control, _ = hdlc_fields(frame)
        last = index == len(frames) - 1
        assert bool(fmt & 0x800) is not last
        assert control == (0x13 if last else 0x03)
        assert (dst, src) == (b"\xcf", b"\x02\x23")
    assert hdlc_fields(frames[1])[4][:3] != b"\xe6\xe7\x00"
    _, stamp, _ = parse_notification(sim.last_apdu)
    assert stamp is not None
    assert stamp[8:] == b"\x00\xff\xc4\x00"  # hundredths 0, -60 min, winter
    _check_cip(sim, AM550_LIST, "0-6:25.9.0.255", setup_ln=False)


@pytest.mark.parametrize("overflow", [False, True])
def test_kaifa_mbus_telegrams_and_structures(overflow: bool) -> None:
    sim = MeterSimulator(
        "kaifa_ma309m", key=DEFAULT_KEY, seed=5, start=SUMMER_NOON, mbus_overflow=overflow
    )
    wire = sim.next_push()
    frames = split_mbus(wire)
    assert len(frames) == 2
    first, last = frames
    if overflow:
        assert first[:9] == bytes.fromhex("6801016853FF000167")
        assert len(first) == 263  # 252 data bytes, L = 257 mod 256
    else:
        assert first[:9] == bytes.fromhex("68FAFA6853FF000167")
        assert len(first) == 6 + 250  # 245 data bytes
    assert last[4:9] == bytes.fromhex("53FF110167")
    for frame in frames:
        assert frame[-2] == sum(frame[4:-2]) & 0xFF
    apdu = apdu_from_mbus(wire)
    assert apdu[:5] == b"\xdb\x08KFM"
    assert apdu[2:10] == sim.system_title
    sc_pos = 13 if apdu[10] == 0x82 else 12
    assert apdu[sc_pos] == 0x21
    assert int.from_bytes(apdu[sc_pos + 1 : sc_pos + 5], "big") == sim.frame_counter
    assert open_glo(apdu, DEFAULT_KEY, None) == sim.last_apdu

    _, stamp, body = parse_notification(sim.last_apdu)
    assert obis_text(body[0].value) == "0-0:1.0.0.255"
    assert body[1].value == stamp
    decoded: dict[str, tuple[Any, str | None]] = {
        "0-0:1.0.0.255": (_wall_clock(body[1].value), None)
    }
    for element in body[2:4]:
        decoded[obis_text(element[0].value)] = (element[1].value.decode(), None)
    for ln, value, (scaler, unit) in body[4:]:
        decoded[obis_text(ln.value)] = (_scaled(value.value, scaler.value), UNITS[unit.value])
    assert decoded == sim.last_values
    assert [obis_text(e[0].value)[4:] for e in body[4:]] == [
        f"{c}.255" for c in ("32.7.0", "52.7.0", "72.7.0", "31.7.0", "51.7.0", "71.7.0")
    ] + [f"{c}.255" for c in ("1.7.0", "2.7.0", "1.8.0", "2.8.0", "3.8.0", "4.8.0")]
    assert sim.meter_number == decoded["0-0:96.1.0.255"][0]


@pytest.mark.parametrize("profile", ["e450", "e360", "am550"])
@pytest.mark.parametrize(("key", "auth_key"), VARIANTS[1:], ids=["sc20", "sc30"])
def test_glo_ciphering_per_profile(profile: str, key: bytes, auth_key: bytes | None) -> None:
    sim = MeterSimulator(profile, key=key, auth_key=auth_key, seed=9, start=SUMMER_NOON)
    for _ in range(2):
        apdu = apdu_from_hdlc(sim.next_push())
        assert apdu[2:10] == sim.system_title
        assert sim.system_title[:3] in (b"LGZ", b"ISK")
        assert sim.system_title[3] == 103  # IDIS: IP polyphase
        pos = 13 if apdu[10] == 0x82 else 12
        assert apdu[pos] == (0x30 if auth_key else 0x20)
        assert int.from_bytes(apdu[pos + 1 : pos + 5], "big") == sim.frame_counter
        assert len(apdu) - pos == 5 + len(sim.last_apdu) + (12 if auth_key else 0)
        assert open_glo(apdu, key, auth_key) == sim.last_apdu
    if auth_key:
        with pytest.raises(InvalidTag):
            open_glo(apdu, key, bytes(16))


def test_framing_overrides() -> None:
    wrapped = MeterSimulator("e450", framing="wrapper", seed=1, start=SUMMER_NOON)
    wire = wrapped.next_push()
    assert wire[:6] == bytes.fromhex("000100010067")
    assert int.from_bytes(wire[6:8], "big") == len(wire) - 8
    assert wire[8:] == wrapped.last_apdu
    raw = MeterSimulator("am550", key=DEFAULT_KEY, framing="raw", seed=1, start=SUMMER_NOON)
    wire = raw.next_push()
    assert wire[:2] == b"\xdb\x08"
    assert open_glo(wire, DEFAULT_KEY, None) == raw.last_apdu


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("profile", list(PROFILES))
def test_same_seed_same_bytes_other_seed_other_meter(profile: str) -> None:
    def run(seed: int) -> tuple[list[bytes], bytes]:
        sim = MeterSimulator(
            profile, key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=seed, start=SUMMER_NOON
        )
        return [sim.next_push(elapsed=7.5) for _ in range(12)], sim.system_title

    first, title = run(4)
    again, title_again = run(4)
    other, other_title = run(5)
    assert first == again
    assert title == title_again
    assert other_title != title
    assert not set(first) & set(other)


def test_counters_and_identity() -> None:
    sim = MeterSimulator("e450", key=DEFAULT_KEY, seed=8, start=SUMMER_NOON)
    sim.next_push()
    ic, invoke = sim.frame_counter, sim.invoke_id
    for step in range(1, 6):
        sim.next_push()
        assert sim.frame_counter == ic + step
        assert sim.invoke_id == invoke + step
        assert parse_notification(sim.last_apdu)[0] == sim.invoke_id
    assert sim.pushes == 6
    assert sim.model == "lg_e450"
    assert sim.meter_number == sim.last_values["0-0:96.1.1.255"][0]
    assert sim.meter_number.isdigit()
    assert sim.logical_device_name.startswith("LGZ1030")
    assert len(sim.logical_device_name) == 16


def test_argument_checks() -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        MeterSimulator("e999")
    with pytest.raises(ValueError, match="16 bytes"):
        MeterSimulator(key=bytes(15))
    with pytest.raises(ValueError, match="needs a key"):
        MeterSimulator(auth_key=DEFAULT_AUTH_KEY)
    with pytest.raises(ValueError, match="M-Bus"):
        MeterSimulator("e450", mbus_overflow=True)
    with pytest.raises(ValueError, match="framing"):
        MeterSimulator(framing="tcp")  # type: ignore[arg-type]
    sim = MeterSimulator(start=SUMMER_NOON)
    with pytest.raises(ValueError, match="elapsed"):
        sim.next_push(elapsed=-1)
    with pytest.raises(ValueError, match="timezone-aware"):
        MeterSimulator(start=datetime(2025, 1, 1))


REGISTERS = ("1-1:1.8.0.255", "1-1:2.8.0.255", "1-1:3.8.0.255", "1-1:4.8.0.255")


def _registers(sim: MeterSimulator) -> list[Decimal]:
    return [Decimal(str(sim.last_values[obis][0])) for obis in REGISTERS]


def test_state_lets_a_restarted_meter_go_on_where_it_stopped() -> None:
    first = MeterSimulator("e450", key=DEFAULT_KEY, seed=4, start=SUMMER_NOON)
    for _ in range(20):
        first.next_push(elapsed=60.0)
    saved = json.loads(json.dumps(first.state()))  # what --state writes and reads
    before = _registers(first)
    counter = first.frame_counter

    # Same seed (same meter), started again: without the state it starts from scratch.
    again = MeterSimulator("e450", key=DEFAULT_KEY, seed=4, start=SUMMER_NOON)
    again.next_push(elapsed=5.0)
    assert any(a < b for a, b in zip(_registers(again), before, strict=True))
    assert again.frame_counter <= counter

    restored = MeterSimulator("e450", key=DEFAULT_KEY, seed=4, start=SUMMER_NOON)
    restored.restore(saved)
    restored.next_push(elapsed=5.0)
    assert all(a >= b for a, b in zip(_registers(restored), before, strict=True))
    assert restored.frame_counter > counter
