"""CRC-16/X.25 (HDLC) and CRC-16/ARC (DSMR) against check values and a bit-by-bit reference."""

from __future__ import annotations

import random

from custom_components.swiss_meter_cii.decoder.crc import crc16_arc, crc16_x25

from . import ref_crc16_arc, ref_crc16_x25


def test_x25_check_value() -> None:
    assert crc16_x25(b"123456789") == 0x906E


def test_x25_green_book_example() -> None:
    # Green Book: frame 7E 03 3F 5B EC 7E, the CRC over 03 3F is sent as 5B EC.
    assert crc16_x25(b"\x03\x3f") == 0xEC5B


def test_x25_empty() -> None:
    assert crc16_x25(b"") == ref_crc16_x25(b"") == 0x0000


def test_arc_check_value() -> None:
    assert crc16_arc(b"123456789") == 0xBB3D


def test_against_reference_on_random_data() -> None:
    rng = random.Random(1234)
    for size in (1, 2, 7, 64, 255, 1000):
        data = rng.randbytes(size)
        assert crc16_x25(data) == ref_crc16_x25(data)
        assert crc16_arc(data) == ref_crc16_arc(data)


def test_accepts_bytearray_and_memoryview() -> None:
    data = bytearray(b"\x01\x02\x7e\xff")
    assert crc16_x25(data) == crc16_x25(memoryview(data)) == ref_crc16_x25(bytes(data))


def test_residue_of_data_plus_fcs() -> None:
    # Appending the FCS (low byte first) makes the raw register the RFC 1662 "good FCS".
    data = b"\xa0\x1b\xce\xff\x03\x13"
    framed = data + crc16_x25(data).to_bytes(2, "little")
    assert crc16_x25(framed) ^ 0xFFFF == 0xF0B8
