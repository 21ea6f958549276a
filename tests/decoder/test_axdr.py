"""A-XDR parser: every tag, compact-array, bounds and hostile input.

The tags: docs/protocol.md, "A-XDR types".
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from custom_components.swiss_meter_cii.decoder.axdr import (
    MAX_DEPTH,
    TruncatedError,
    parse,
    read_length,
)
from custom_components.swiss_meter_cii.decoder.axdr_sizer import ValueSizer
from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.values import (
    BitString,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DlmsEnum,
    Long64,
)

DT = bytes.fromhex("07E5070602 0E3A12FF 8000 81".replace(" ", ""))


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("00", None),
        ("0300", False),
        ("0301", True),
        ("05FFFFFFFE", -2),
        ("0600000462", 1122),
        ("06FFFFFFFF", 0xFFFFFFFF),
        ("0D25", 25),
        ("0DFA", 0xFA),  # not BCD: the raw byte
        ("0FFE", -2),
        ("10FF38", -200),
        ("11C8", 200),
        ("120921", 2337),
        ("14FFFFFFFFFFFFFFFF", Long64(-1)),
        ("15000000000000ABCD", Long64(0xABCD)),
        ("1623", DlmsEnum(0x23)),
        ("173FC00000", 1.5),
        ("18C004000000000000", -2.5),
        ("0906" + "0100010800FF", bytes.fromhex("0100010800FF")),
        ("0A0B" + b"EMBRIQ_V1_1".hex(), "EMBRIQ_V1_1"),
        ("0C03" + "c3a46d", "äm"),
        ("0400", BitString(0, b"")),
        ("040A" + "FFC0", BitString(10, b"\xff\xc0")),
    ],
)
def test_scalars(data: str, expected: Any) -> None:
    value, end = parse(bytes.fromhex(data))
    assert value == expected
    assert type(value) is type(expected)
    assert end == len(data) // 2


def test_enum_is_distinguishable_int() -> None:
    value, _ = parse(b"\x16\x1e")
    assert isinstance(value, DlmsEnum)
    assert value == 30


def test_dates_and_times() -> None:
    value, end = parse(b"\x19" + DT)
    assert isinstance(value, CosemDateTime)
    assert end == 13
    assert value.date == CosemDate(2021, 7, 6, 2)
    assert value.time == CosemTime(14, 58, 18, None)
    assert value.deviation is None
    assert value.status == 0x81
    assert parse(b"\x1a" + DT[:5])[0] == CosemDate(2021, 7, 6, 2)
    assert parse(b"\x1b" + DT[5:9])[0] == CosemTime(14, 58, 18, None)


def test_structure_and_array_shapes() -> None:
    data = bytes.fromhex("0203 0101 1100 02 02 0FFF 1623 0A 02 4142")
    assert parse(data) == (([0], (-1, DlmsEnum(0x23)), "AB"), len(data))
    assert parse(bytes.fromhex("0100")) == ([], 2)


def test_long_form_lengths() -> None:
    payload = bytes(300)
    value, end = parse(b"\x09\x82\x01\x2c" + payload)
    assert value == payload
    assert end == 304
    value, _ = parse(b"\x09\x81\x80" + bytes(128))
    assert len(value) == 128
    assert read_length(b"\x84\x00\x00\x01\x00", 0) == (256, 5)


def test_offset() -> None:
    assert parse(b"\xff\xff\x11\x05", 2) == (5, 4)


def test_compact_array_of_unsigned() -> None:
    data = bytes.fromhex("13 11 03 010203".replace(" ", ""))
    assert parse(data) == ([1, 2, 3], len(data))


def test_compact_array_of_structures() -> None:
    # Element description: structure{long-unsigned, octet-string}; two elements follow.
    desc = bytes.fromhex("020212 09".replace(" ", ""))
    contents = bytes.fromhex("0001 02AABB 0002 01CC".replace(" ", ""))
    data = b"\x13" + desc + bytes((len(contents),)) + contents
    assert parse(data) == ([(1, b"\xaa\xbb"), (2, b"\xcc")], len(data))


def test_compact_array_with_inner_array() -> None:
    desc = bytes.fromhex("01000211")  # array of 2 unsigned
    contents = b"\x01\x02\x03\x04"
    data = b"\x13" + desc + b"\x04" + contents
    assert parse(data)[0] == [[1, 2], [3, 4]]


@pytest.mark.parametrize(
    "data",
    [
        "130004" + "00000000",  # null-data elements take no bytes
        "13010000" + "00" + "0411223344",  # inner array of zero-size elements
        "1311" + "03" + "0102",  # contents cut short
        "1313" + "00",  # compact-array inside a type description
    ],
)
def test_compact_array_rejects_bad_input(data: str) -> None:
    with pytest.raises(DecodeError) as err:
        parse(bytes.fromhex(data))
    assert err.value.kind is ErrorKind.MALFORMED


@pytest.mark.parametrize(
    ("data", "needed"),
    [
        ("", 1),
        ("06000004", 5),
        ("0906010001", 8),
        ("0203110111", 6),
        ("01840000FFFF", 6 + 0xFFFF),  # a hostile count: no allocation, just a bound
        ("0982", 4),
        ("19" + "07E5", 13),
    ],
)
def test_truncated(data: str, needed: int) -> None:
    with pytest.raises(TruncatedError) as err:
        parse(bytes.fromhex(data))
    assert err.value.kind is ErrorKind.MALFORMED
    assert err.value.needed == needed


@pytest.mark.parametrize("data", ["07", "08", "0B", "0E", "1C", "FF", "0985", "0980"])
def test_unknown_tags_and_lengths(data: str) -> None:
    with pytest.raises(DecodeError) as err:
        parse(bytes.fromhex(data) + b"\x00" * 8)
    assert err.value.kind is ErrorKind.MALFORMED
    assert not isinstance(err.value, TruncatedError)


def test_depth_limit() -> None:
    deep = b"\x02\x01" * (MAX_DEPTH + 1) + b"\x00"
    with pytest.raises(DecodeError, match="too deep"):
        parse(deep)
    ok = b"\x02\x01" * (MAX_DEPTH - 1) + b"\x00"
    assert parse(ok)[1] == len(ok)


def test_hostile_counts_are_cheap() -> None:
    start = time.perf_counter()
    hostile = (
        b"\x01\x84\xff\xff\xff\xff",
        b"\x09\x84\x7f\xff\xff\xff",
        b"\x13\x01\xff\xff\x11\x02\x01\x02",
    )
    for data in hostile:
        with pytest.raises(DecodeError):
            parse(data)
    assert time.perf_counter() - start < 0.1


def test_accepts_bytearray() -> None:
    assert parse(bytearray(b"\x12\x00\xec")) == (236, 3)


@pytest.mark.parametrize(
    "data",
    [
        "0600000001",
        "020309064C475A3130330A03414243" + "0102" + "1200FF" + "0402C0",
        "0102020209060100010800FF0600000064020209060100020800FF0600000000",
        "1302021212" + "08" + "0001000200030004",  # compact array: two {u16, u16}
    ],
)
def test_value_sizer_finds_the_end_byte_by_byte(data: str) -> None:
    raw = bytes.fromhex(data)
    _, end = parse(raw + b"\xff\xff")  # trailing bytes are not part of the value
    sizer = ValueSizer()
    sizes = [sizer.scan(raw[:cut], 0) for cut in range(len(raw) + 1)]
    assert sizes[:-1] == [None] * len(raw)
    assert sizes[-1] == end == len(raw)


def test_value_sizer_rejects_what_is_not_a_value() -> None:
    with pytest.raises(DecodeError):
        ValueSizer().scan(bytes.fromhex("020107"), 0)  # tag 0x07 is reserved
