"""Field frames, round 2 (tests/fixtures/field_frames.json): real captures of lists that
meters in the field send, each with its public source.

Expected values come in three strengths, kept apart in the fixture:
* `published`: the source itself prints the value (a decoded table, a test assertion);
* `derived`: the source labels the raw bytes or documents the scaler, and the value was
  worked out by hand from those bytes (never by running this decoder);
* `cross_check`: what another open-source reader (amsreader's regression output) makes
  of the same frame, for the positions both map.
Lists without any of these are still checked by their internal sums (tariff registers
add up to the total, phase powers to the total power).
"""

from __future__ import annotations

from decimal import Decimal
import json
from typing import Any

import pytest

from custom_components.swiss_meter_cii.decoder import (
    ErrorEvent,
    Push,
    StreamDecoder,
    decode_capture,
)

from . import FIXTURES

FRAMES: list[dict[str, Any]] = json.loads(
    (FIXTURES / "field_frames.json").read_text(encoding="utf-8")
)
DECODED = [f for f in FRAMES if "layout" in f]
REFUSED = [f for f in FRAMES if "refused" in f]


def _data(frame: dict[str, Any]) -> bytes:
    if "hex" in frame:
        return bytes.fromhex(frame["hex"])
    return str(frame["text"]).encode("latin-1")


def _kwargs(frame: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = dict(frame["settings"])
    if frame.get("key_hex"):
        kwargs["key"] = frame["key_hex"]
    if frame.get("auth_key_hex"):
        kwargs["auth_key"] = frame["auth_key_hex"]
    return kwargs


def _same(actual: object, expected: object) -> bool:
    if isinstance(expected, str) and not _is_number_text(expected):
        return actual == expected
    if isinstance(actual, bool) or not isinstance(actual, int | Decimal | float):
        return False
    return Decimal(str(actual)) == Decimal(str(expected))


def _is_number_text(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return text.strip() == text and any(c.isdigit() for c in text) and "." in text


def _push(frame: dict[str, Any]) -> Push:
    results = decode_capture(_data(frame), **_kwargs(frame))
    pushes = [r for r in results if isinstance(r, Push)]
    errors = [r.kind.value for r in results if isinstance(r, ErrorEvent)]
    assert errors == frame["extra_errors"], [str(r) for r in results]
    assert len(pushes) == 1
    return pushes[0]


def test_every_frame_names_its_source() -> None:
    assert len(FRAMES) >= 40
    for frame in FRAMES:
        assert frame["source"], frame["id"]
        assert frame["notes"], frame["id"]
        assert ("layout" in frame) != ("refused" in frame), frame["id"]


@pytest.mark.parametrize("frame", DECODED, ids=lambda f: f["id"])
def test_frame_decodes_to_its_layout(frame: dict[str, Any]) -> None:
    push = _push(frame)
    assert push.layout == frame["layout"]
    assert push.values


@pytest.mark.parametrize(
    "frame",
    [f for f in DECODED if f["published"] or f["derived"] or f["cross_check"]],
    ids=lambda f: f["id"],
)
def test_values_match_the_source(frame: dict[str, Any]) -> None:
    push = _push(frame)
    for group in ("published", "derived", "cross_check"):
        for key, (value, unit) in frame[group].items():
            reading = push.values.get(key)
            assert reading is not None, f"{group} {key} missing"
            assert _same(reading.value, value), f"{group} {key}: {reading.value!r} != {value!r}"
            assert reading.unit == unit, f"{group} {key}: unit {reading.unit!r} != {unit!r}"
    if "published_timestamp" in frame:
        assert push.timestamp is not None
        assert push.timestamp.strftime("%Y-%m-%d %H:%M:%S") == frame["published_timestamp"]


def _value(push: Push, key: str) -> Decimal | None:
    reading = push.values.get(key)
    if reading is None or not isinstance(reading.value, int | Decimal):
        return None
    return Decimal(reading.value)


@pytest.mark.parametrize("frame", DECODED, ids=lambda f: f["id"])
def test_registers_add_up(frame: dict[str, Any]) -> None:
    """Tariff registers sum to the total; phase powers to the total (within rounding)."""
    push = _push(frame)
    for c in (1, 2):
        total = _value(push, f"1-0:{c}.8.0.255")
        tariffs = [_value(push, f"1-0:{c}.8.{t}.255") for t in (1, 2)]
        if total is not None and None not in tariffs:
            assert abs(total - sum(t for t in tariffs if t is not None)) <= 1  # meter rounding
    for c, phases in ((1, (21, 41, 61)), (2, (22, 42, 62))):
        total = _value(push, f"1-0:{c}.7.0.255")
        parts = [_value(push, f"1-0:{p}.7.0.255") for p in phases]
        if total is not None and None not in parts:
            assert abs(total - sum(p for p in parts if p is not None)) <= 3


@pytest.mark.parametrize("frame", REFUSED, ids=lambda f: f["id"])
def test_refused_frames_say_why(frame: dict[str, Any]) -> None:
    results = decode_capture(_data(frame), **_kwargs(frame))
    assert not [r for r in results if isinstance(r, Push)]
    assert frame["refused"] in {r.kind.value for r in results if isinstance(r, ErrorEvent)}


@pytest.mark.parametrize("frame", DECODED, ids=lambda f: f["id"])
def test_small_reads_give_the_same_push(frame: dict[str, Any]) -> None:
    """Fed 7 bytes at a time (a slow serial port), twice in a row on one connection."""
    data = _data(frame)
    decoder = StreamDecoder(**_kwargs(frame))
    results: list[Push | ErrorEvent] = []
    for start in range(0, len(data), 7):
        results += decoder.feed(data[start : start + 7])
    results += decoder.flush()
    pushes = [r for r in results if isinstance(r, Push)]
    assert len(pushes) == 1
    whole = _push(frame)
    assert pushes[0].values == whole.values
    assert pushes[0].layout == whole.layout


def test_kamstrup_energy_resolution_follows_the_country() -> None:
    """Norway: 10 Wh per count (Kamstrup HAN-NVE rev 3.1); Sweden and elsewhere: Wh."""
    frame = next(f for f in FRAMES if f["id"] == "C3-kamstrup-1p-list2-hourly")
    norway = decode_capture(_data(frame), country="NO")[0]
    sweden = decode_capture(_data(frame), country="SE")[0]
    assert isinstance(norway, Push)
    assert isinstance(sweden, Push)
    assert norway.values["1-1:1.8.0.255"].value == 12327870
    assert sweden.values["1-1:1.8.0.255"].value == 1232787
    assert norway.values["1-1:1.7.0.255"] == sweden.values["1-1:1.7.0.255"]


def test_kaifa_list1_needs_a_kaifa_meter() -> None:
    """A lone power value is a Kaifa list 1 only on a meter configured (or seen) as Kaifa."""
    frame = next(f for f in FRAMES if f["id"] == "B1-kaifa-list1-ams-gh493")
    results = decode_capture(_data(frame))
    assert [r.kind.value for r in results if isinstance(r, ErrorEvent)] == ["unsupported_layout"]
