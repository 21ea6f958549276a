"""Property tests: random and mutated input never crashes a layer and costs bounded work."""

from __future__ import annotations

from collections.abc import Callable
import contextlib
import time
from typing import Any
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.swiss_meter_cii.decoder import (
    ErrorEvent,
    Push,
    StreamDecoder,
    decode_capture,
)
from custom_components.swiss_meter_cii.decoder.apdu import parse_data_notification
from custom_components.swiss_meter_cii.decoder.assembly import parse_gbt
from custom_components.swiss_meter_cii.decoder.axdr import parse as parse_axdr
from custom_components.swiss_meter_cii.decoder.crc import crc16_arc, crc16_x25
from custom_components.swiss_meter_cii.decoder.dsmr import parse_telegram, telegram_size
from custom_components.swiss_meter_cii.decoder.errors import DecodeError
from custom_components.swiss_meter_cii.decoder.hdlc import (
    parse_frame as parse_hdlc,
    probe as probe_hdlc,
)
from custom_components.swiss_meter_cii.decoder.keys import parse_key
from custom_components.swiss_meter_cii.decoder.mbus import (
    parse_frame as parse_mbus,
    probe as probe_mbus,
)
from custom_components.swiss_meter_cii.decoder.security import Decryptor, parse_ciphered
from custom_components.swiss_meter_cii.decoder.values import CosemDateTime, datetime_from_bytes

from . import KEY, load_vectors, ref_crc16_arc, ref_crc16_x25

VECTORS = [v for v in load_vectors() if v["id"] != "lg-zmf100-hdlc-cnrd"]
ZURICH = ZoneInfo("Europe/Zurich")
PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Bytes that start the structures the layers look for, to get past the first checks.
_MARKERS = [
    b"\x7e\xa0",
    b"\x68",
    b"\xdb\x08LGZ",
    b"\x0f",
    b"\xe6\xe7\x00",
    b"\xe0\xc0\x00\x01",
    b"/ABC5",
]
_TAGS = st.sampled_from([bytes((t,)) for t in (*range(0x1C), 0xFF)])
structured = st.lists(
    st.one_of(st.binary(max_size=8), st.sampled_from(_MARKERS), _TAGS), max_size=40
).map(b"".join)
anything = st.one_of(st.binary(max_size=600), structured)


def _only_decode_errors(func: Callable[[bytes], Any], data: bytes) -> None:
    with contextlib.suppress(DecodeError):
        func(data)


@PROPERTY
@given(anything)
def test_layers_raise_only_decode_error(data: bytes) -> None:
    _only_decode_errors(lambda d: parse_axdr(d), data)
    _only_decode_errors(lambda d: parse_data_notification(d), b"\x0f" + data)
    _only_decode_errors(lambda d: parse_ciphered(d), b"\xdb" + data)
    _only_decode_errors(lambda d: parse_gbt(d), b"\xe0" + data)
    _only_decode_errors(lambda d: parse_hdlc(d), b"\x7e" + data)
    _only_decode_errors(lambda d: parse_mbus(d), b"\x68" + data)
    _only_decode_errors(lambda d: parse_telegram(d, local_tz=ZURICH), b"/" + data)
    assert probe_hdlc(b"\x7e\xa0" + data, 0) >= -2
    assert probe_mbus(b"\x68" + data, 0) >= -2
    assert telegram_size(b"/ABC5" + data, 0) >= -2


@PROPERTY
@given(st.binary(min_size=10, max_size=300), st.integers(0, 0xFF))
def test_decryptor_only_raises_decode_error(payload: bytes, sc: int) -> None:
    content = bytes((sc,)) + payload
    apdu = b"\xdb\x08LGZgsx\x1f\xd0" + bytes((len(content),)) + content
    try:
        parsed, _ = parse_ciphered(apdu)
        Decryptor(KEY, KEY).decrypt(parsed)
        Decryptor(None, None).decrypt(parsed)
    except DecodeError:
        pass


@PROPERTY
@given(st.binary(max_size=300))
def test_crc_matches_reference(data: bytes) -> None:
    assert crc16_x25(data) == ref_crc16_x25(data)
    assert crc16_arc(data) == ref_crc16_arc(data)


def _key_message(text: str) -> str | None:
    """parse_key's error message for `text`; None when it is a key (16 bytes)."""
    try:
        key = parse_key(text)
    except ValueError as err:
        return str(err)
    assert len(key) == 16
    return None


def _other_key_of_the_same_shape(text: str) -> str:
    """Every hex digit and every other character replaced by another of its kind.

    Separators, whitespace and a leading `0x` stay: they decide the message's shape.
    """
    out = []
    for ch in text:
        if ch.isspace() or ch in ":-0xX":
            out.append(ch)
        elif ch in "123456789abcdefABCDEF":
            out.append("7" if ch != "7" else "8")
        else:
            out.append("z" if ch != "z" else "y")
    return "".join(out)


@PROPERTY
@given(st.text(max_size=60))
def test_parse_key_only_raises_value_error(text: str) -> None:
    """Only ValueError, with a message that never depends on what the key text says.

    The message of another text of the same shape is the same: nothing of the key (not even
    a piece of it that happens to be a word of the message) can be in it.
    """
    assert _key_message(text) == _key_message(_other_key_of_the_same_shape(text))


def _feed_in_chunks(
    decoder: StreamDecoder, data: bytes, cuts: list[int]
) -> list[Push | ErrorEvent]:
    out: list[Push | ErrorEvent] = []
    pos = 0
    for cut in sorted(cuts):
        out += decoder.feed(data[pos:cut])
        pos = cut
    out += decoder.feed(data[pos:])
    return out + decoder.flush()


@PROPERTY
@given(anything, st.lists(st.integers(0, 600), max_size=8))
def test_feed_never_raises_on_random_input(data: bytes, cuts: list[int]) -> None:
    results = _feed_in_chunks(StreamDecoder(key=KEY, auth_key=KEY), data, cuts)
    assert all(isinstance(r, Push | ErrorEvent) for r in results)


@st.composite
def mutated_vector(draw: st.DrawFn) -> tuple[dict[str, Any], bytes]:
    vec = draw(st.sampled_from(VECTORS))
    data = bytearray(bytes.fromhex(vec["hex"]))
    for _ in range(draw(st.integers(1, 6))):
        action = draw(st.sampled_from(["flip", "delete", "insert", "truncate", "duplicate"]))
        pos = draw(st.integers(0, max(0, len(data) - 1)))
        if action == "flip" and data:
            data[pos] ^= draw(st.integers(1, 255))
        elif action == "delete" and data:
            del data[pos : pos + draw(st.integers(1, 8))]
        elif action == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif action == "truncate":
            del data[pos:]
        else:
            data[pos:pos] = data[pos : pos + draw(st.integers(1, 40))]
    return vec, bytes(data)


@PROPERTY
@given(mutated_vector(), st.lists(st.integers(0, 3000), max_size=6))
def test_feed_never_raises_on_mutated_vectors(
    sample: tuple[dict[str, Any], bytes], cuts: list[int]
) -> None:
    vec, data = sample
    kwargs = {k: vec[f"{k}_hex"] for k in ("key", "auth_key") if vec.get(f"{k}_hex")}
    results = _feed_in_chunks(StreamDecoder(**kwargs), data, cuts)
    assert all(isinstance(r, Push | ErrorEvent) for r in results)


def test_work_per_byte_is_bounded() -> None:
    # Worst-case inputs for the hunter: nothing but candidate headers.
    patterns = [
        b"\x7e\xa7\xff" * 2000,
        b"\x68\xfa\xfa\x68" * 1500,
        b"\x0f\x00\x00\x00\x00\x00\x01\x84\x00\x00\x0f\xff" * 500,
        b"\x00\x01\x00\x01\x00\x67\x7f\xff\xdb" * 700,
        b"\xdb\x08LGZ" * 1200,
        b"/ABC5" * 1200,
        b"\xe6\xe7\x00\x0f" * 1500,
    ]
    for pattern in patterns:
        start = time.perf_counter()
        decoder = StreamDecoder()
        for i in range(0, len(pattern), 64):
            decoder.feed(pattern[i : i + 64])
        decoder.flush()
        elapsed = time.perf_counter() - start
        assert elapsed < 2.0, (pattern[:8], elapsed)


@PROPERTY
@given(mutated_vector())
def test_decode_capture_equals_bytewise_feeding_for_mutations(
    sample: tuple[dict[str, Any], bytes],
) -> None:
    vec, data = sample
    kwargs = {k: vec[f"{k}_hex"] for k in ("key", "auth_key") if vec.get(f"{k}_hex")}
    decoder = StreamDecoder(**kwargs)
    results: list[Push | ErrorEvent] = []
    for i in range(0, len(data), 13):
        results += decoder.feed(data[i : i + 13])
    results += decoder.flush()
    assert [r for r in results if isinstance(r, Push)] == [
        r for r in decode_capture(data, **kwargs) if isinstance(r, Push)
    ]


_DATE_TIME_BYTES = st.one_of(
    st.binary(min_size=12, max_size=12),
    st.builds(
        lambda year, month, day, hour, minute, second, deviation, status: (
            year.to_bytes(2, "big")
            + bytes((month, day, 0xFF, hour, minute, second, 0xFF))
            + deviation.to_bytes(2, "big", signed=True)
            + bytes((status,))
        ),
        st.sampled_from([2026, 0xFFFF, 0]),
        st.sampled_from([1, 3, 10, 12, 13, 0xFD, 0xFF]),
        st.sampled_from([1, 25, 31, 32, 0xFE, 0xFF]),
        st.sampled_from([0, 2, 23, 24, 0xFF]),
        st.sampled_from([0, 30, 59, 60, 0xFF]),
        st.sampled_from([0, 59, 0xFF]),
        st.sampled_from([-0x8000, -120, -60, 0, 60, 721, -721]),
        st.sampled_from([0x00, 0x80, 0xFF, 0x08]),
    ),
)


@settings(max_examples=1500, deadline=None)
@given(_DATE_TIME_BYTES)
def test_datetime_from_bytes_equals_the_object_path(raw: bytes) -> None:
    """The short path a clock value takes gives what CosemDateTime gives, fold included."""
    expected = CosemDateTime.from_bytes(raw).to_datetime(ZURICH)
    got = datetime_from_bytes(raw, ZURICH)
    assert got == expected
    if got is not None and expected is not None:
        assert (got.fold, got.utcoffset()) == (expected.fold, expected.utcoffset())
