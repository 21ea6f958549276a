"""HDLC type-3 frames: length-delimited, 1/2/4-byte addresses, HCS/FCS, S bit."""

from __future__ import annotations

import pytest

from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.hdlc import parse_frame, probe

from . import hdlc_frame, ref_crc16_x25

INFO = b"\xe6\xe7\x00\x0f\x00\x00\x00\x01\x00\x11\x7e\x7e\x05"  # 0x7E inside the payload


@pytest.mark.parametrize(
    ("dest", "src", "dest_value", "src_value"),
    [
        (b"\xcf", b"\x03", 0x67, 0x01),
        (b"\xce\xff", b"\x03", (0x67 << 7) | 0x7F, 0x01),
        (b"\xcf", b"\x02\x23", 0x67, (0x01 << 7) | 0x11),
        (b"\xcf", b"\x00\x02\x00\x23", 0x67, (0x01 << 14) | 0x11),
    ],
)
def test_addresses(dest: bytes, src: bytes, dest_value: int, src_value: int) -> None:
    raw = hdlc_frame(INFO, dest=dest, src=src)
    assert probe(raw, 0) == len(raw)
    frame = parse_frame(raw)
    assert frame.info == INFO
    assert frame.destination == dest_value
    assert frame.source == src_value
    assert frame.control == 0x13
    assert not frame.segmented
    assert frame.raw == raw


def test_segmentation_bit_and_control() -> None:
    raw = hdlc_frame(INFO, dest=b"\xcf", src=b"\x02\x23", control=0x03, segmented=True)
    assert raw[1] & 0xF8 == 0xA8
    frame = parse_frame(raw)
    assert frame.segmented
    assert frame.control == 0x03


def test_length_above_255() -> None:
    info = bytes(range(256)) * 2
    raw = hdlc_frame(info)
    assert raw[1] == 0xA2  # the 11-bit length spills into the format byte
    assert probe(raw, 0) == len(raw)
    assert parse_frame(raw).info == info


def test_frame_without_information_field() -> None:
    raw = hdlc_frame(b"", dest=b"\xcf")
    assert probe(raw, 0) == len(raw) == 9
    assert parse_frame(raw).info == b""


def test_probe_needs_more_bytes() -> None:
    raw = hdlc_frame(INFO)
    for cut in range(1, 8):
        assert probe(raw[:cut], 0) == -1
    # Header complete (HCS checked): the full size is known before the frame is.
    assert probe(raw[:12], 0) == len(raw)


def test_probe_rejects_bad_hcs_early() -> None:
    raw = bytearray(hdlc_frame(INFO))
    raw[8] ^= 0x01  # inside the HCS
    assert probe(raw[:10], 0) == -2


def test_probe_rejects_unterminated_address() -> None:
    raw = b"\x7e\xa0\x20\x02\x04\x06\x08\x0a\x0c"
    assert probe(raw, 0) == -2


def test_probe_rejects_tiny_length() -> None:
    assert probe(b"\x7e\xa0\x03\x03\x03", 0) == -2


def test_fcs_error_is_checksum() -> None:
    raw = bytearray(hdlc_frame(INFO))
    raw[-5] ^= 0x40  # last info byte
    with pytest.raises(DecodeError) as err:
        parse_frame(bytes(raw))
    assert err.value.kind is ErrorKind.CHECKSUM


def test_hcs_error_is_checksum() -> None:
    raw = bytearray(hdlc_frame(INFO))
    raw[7] ^= 0x01  # HCS low byte (dest 2 bytes, src 1 byte, control at 6)
    # Recompute the FCS so only the HCS is wrong.
    raw[-3:-1] = ref_crc16_x25(bytes(raw[1:-3])).to_bytes(2, "little")
    with pytest.raises(DecodeError) as err:
        parse_frame(bytes(raw))
    assert err.value.kind is ErrorKind.CHECKSUM


def test_missing_closing_flag_is_framing() -> None:
    raw = hdlc_frame(INFO)[:-1] + b"\x00"
    with pytest.raises(DecodeError) as err:
        parse_frame(raw)
    assert err.value.kind is ErrorKind.FRAMING


def test_length_mismatch_is_framing() -> None:
    raw = hdlc_frame(INFO) + b"\x7e"
    with pytest.raises(DecodeError) as err:
        parse_frame(raw)
    assert err.value.kind is ErrorKind.FRAMING


def test_not_hdlc_is_framing() -> None:
    with pytest.raises(DecodeError) as err:
        parse_frame(b"\x68\x05\x05\x68\x53\xff\x10\x01\x67\x00\x16")
    assert err.value.kind is ErrorKind.FRAMING
