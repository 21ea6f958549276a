"""The OBIS value type: every accepted spelling read once, keys written one way."""

from __future__ import annotations

from hypothesis import given, strategies as st
import pytest

from custom_components.swiss_meter_cii.decoder.obis import (
    Obis,
    attribute_key,
    is_key,
    key_of,
    read_spelling,
    sort_key,
)

GROUP = st.integers(min_value=0, max_value=255)


@pytest.mark.parametrize(
    ("text", "key", "label"),
    [
        ("1-0:1.8.0.255", "1-0:1.8.0.255", "1-0:1.8.0"),
        ("1-0:1.8.0", "1-0:1.8.0.255", "1-0:1.8.0"),
        (" 1-1:32.7.0 ", "1-1:32.7.0.255", "1-1:32.7.0"),
        ("1.0.1.8.0.255", "1-0:1.8.0.255", "1-0:1.8.0"),
        ("0-0:96.1.0.1", "0-0:96.1.0.1", "0-0:96.1.0.1"),
        ("0-1:24.2.1.255/5", "0-1:24.2.1.255/5", "0-1:24.2.1/5"),
        ("0-1:24.2.1/5", "0-1:24.2.1.255/5", "0-1:24.2.1/5"),
    ],
)
def test_spellings(text: str, key: str, label: str) -> None:
    code = Obis.parse(text)
    assert code.key == key
    assert str(code) == key
    assert code.label == label
    assert Obis.parse(code.key) == code


@pytest.mark.parametrize(
    "text",
    ["", "1.8.0", "1-0:1.8", "1-0:1.8.0.256", "1-0:1.8.0/0", "1-0:1.8.0/300", "x-0:1.8.0",
     "1-0:1.8.0.255.1", "1--0:1.8.0", "net_power"],
)  # fmt: skip
def test_not_codes(text: str) -> None:
    with pytest.raises(ValueError, match=r"OBIS|attribute"):
        Obis.parse(text)
    assert not is_key(text)


def test_short_form_only_as_a_spelling() -> None:
    """'C.D.E' names a code on every channel (scaler corrections), not one code."""
    spelling = read_spelling("31.7.0")
    assert (spelling.a, spelling.b, spelling.c, spelling.d, spelling.e) == (None, None, 31, 7, 0)
    assert spelling.f is None
    assert spelling.attribute is None


def test_bytes_attributes_and_order() -> None:
    raw = bytes((1, 0, 1, 8, 0, 255))
    assert key_of(raw) == "1-0:1.8.0.255"
    code = Obis.from_bytes(raw)
    assert code.to_bytes() == raw
    assert code.short == "1.8.0"
    assert code.with_attribute(5).key == "1-0:1.8.0.255/5"
    assert attribute_key("1-0:1.8.0.255", 2) == "1-0:1.8.0.255"
    assert attribute_key("1-0:1.8.0.255", 5) == "1-0:1.8.0.255/5"
    keys = ["1-0:1.8.10.255", "1-0:1.8.2.255", "0-1:24.2.1.255/5", "0-1:24.2.1.255"]
    assert sorted(keys, key=sort_key) == [
        "0-1:24.2.1.255",
        "0-1:24.2.1.255/5",
        "1-0:1.8.2.255",
        "1-0:1.8.10.255",
    ]
    assert is_key("1-0:1.8.0.255")
    assert not is_key("1-0:1.8.0")  # a spelling, not a key


@given(GROUP, GROUP, GROUP, GROUP, GROUP, GROUP, st.integers(min_value=1, max_value=255))
def test_round_trip(a: int, b: int, c: int, d: int, e: int, f: int, attribute: int) -> None:
    code = Obis(a, b, c, d, e, f, attribute)
    assert Obis.parse(code.key) == code
    assert Obis.parse(code.label) == code
    assert is_key(code.key)
    assert Obis.from_bytes(code.to_bytes()).with_attribute(attribute) == code
