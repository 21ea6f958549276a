"""Outlines of unknown bodies (decoder/explain.py): every type named, bounded in length."""

from __future__ import annotations

from custom_components.swiss_meter_cii.decoder.explain import MAX_LINES, outline, signature
from custom_components.swiss_meter_cii.decoder.values import (
    BitString,
    CosemDate,
    CosemDateTime,
    CosemTime,
    DlmsEnum,
    Long64,
)

STAMP = CosemDateTime.from_bytes(bytes.fromhex("07EA0615070D0000FF800000"))


def test_every_shape_is_named() -> None:
    body = (
        None,
        True,
        DlmsEnum(2),
        Long64(7),
        -5,
        1.5,
        b"\x01\x02",
        "KFM_001",
        STAMP,
        CosemDate.from_bytes(bytes.fromhex("07EA061507")),
        CosemTime.from_bytes(bytes.fromhex("0D000000")),
        BitString(4, b"\xa0"),
        [(b"\x01\x00\x01\x08\x00\xff", 3)],
    )
    assert outline(body) == [
        "structure of 13",
        "1: null-data",
        "2: boolean true",
        "3: enum 2",
        "4: long64 7",
        "5: integer -5",
        "6: float 1.5",
        "7: octet-string(2) 0102",
        "8: visible-string(7) 'KFM_001'",
        "9: date-time 2026-06-21T13:00:00",
        "10: CosemDate 2026-06-21",
        "11: CosemTime 13:00:00",
        "12: bit-string(4) A0",
        "13: array of 1",
        "13.1: structure of 2",
        "13.1.1: octet-string(6) 0100010800FF",
        "13.1.2: integer 3",
    ]
    assert signature(body).startswith("[null-data, boolean, enum, long64, integer, float,")
    assert signature(body).endswith("array(1)]")
    assert signature(42) == "integer"


def test_long_bodies_are_cut() -> None:
    lines = outline(tuple(range(500)))
    assert len(lines) == MAX_LINES + 1
    assert lines[-1] == "..."
    assert signature(tuple(range(30))).endswith(", ...]")
