"""Wired M-Bus long frames: checksum, CI segments, the T210-D length overflow."""

from __future__ import annotations

import pytest

from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.mbus import parse_frame, probe

from . import mbus_frame


def test_single_segment() -> None:
    raw = mbus_frame(b"\xdb\x08KFM", 0x10)
    assert probe(raw, 0) == len(raw)
    frame = parse_frame(raw)
    assert frame.data == b"\xdb\x08KFM"
    assert frame.segment == 0
    assert frame.last
    assert (frame.control, frame.address, frame.stsap, frame.dtsap) == (0x53, 0xFF, 0x01, 0x67)
    assert frame.raw == raw


def test_segment_numbers() -> None:
    first = parse_frame(mbus_frame(b"\x01" * 245, 0x00))
    last = parse_frame(mbus_frame(b"\x02" * 15, 0x11))
    assert (first.segment, first.last) == (0, False)
    assert (last.segment, last.last) == (1, True)
    assert len(first.raw) == 0xFA + 6


def test_sagemcom_length_overflow() -> None:
    data = bytes(range(252)) + b"\x00" * 0  # 5 header bytes + 252 = 257 -> L = 0x01
    raw = mbus_frame(data, 0x00)
    assert raw[1] == raw[2] == 0x01
    assert len(raw) == 263
    assert probe(raw, 0) == 263
    assert parse_frame(raw).data == data


def test_probe_needs_header() -> None:
    raw = mbus_frame(b"\x00" * 10, 0x10)
    assert probe(raw[:3], 0) == -1
    assert probe(raw[:4], 0) == len(raw)


def test_probe_rejects_mismatched_lengths() -> None:
    assert probe(b"\x68\x10\x11\x68", 0) == -2
    assert probe(b"\x68\x10\x10\x67", 0) == -2


def test_checksum_error() -> None:
    raw = bytearray(mbus_frame(b"\x00" * 10, 0x10))
    raw[-2] ^= 0xFF
    with pytest.raises(DecodeError) as err:
        parse_frame(bytes(raw))
    assert err.value.kind is ErrorKind.CHECKSUM


def test_missing_stop_byte_is_framing() -> None:
    raw = mbus_frame(b"\x00" * 10, 0x10)[:-1] + b"\x00"
    with pytest.raises(DecodeError) as err:
        parse_frame(raw)
    assert err.value.kind is ErrorKind.FRAMING


def test_ci_outside_dlms_range_is_framing() -> None:
    # EVN meters with corrupted configuration send CI 0xFF (docs/protocol.md, "Field pitfalls").
    with pytest.raises(DecodeError) as err:
        parse_frame(mbus_frame(b"\x00" * 10, 0xFF))
    assert err.value.kind is ErrorKind.FRAMING
    assert "CI 0xFF" in err.value.detail
