"""FrameHunter: frames from noisy streams, any chunking, no lost frame after garbage."""

from __future__ import annotations

from collections.abc import Sequence
import itertools
import random

import pytest

from custom_components.swiss_meter_cii.decoder.assembly import RawApdu
from custom_components.swiss_meter_cii.decoder.errors import ErrorKind
from custom_components.swiss_meter_cii.decoder.framing import (
    FRAMINGS,
    GARBAGE_EVENT_BYTES,
    FrameHunter,
)
from custom_components.swiss_meter_cii.decoder.hdlc import HdlcFrame
from custom_components.swiss_meter_cii.decoder.mbus import MbusFrame
from custom_components.swiss_meter_cii.decoder.push import ErrorEvent

from . import (
    glo_ciphering,
    hdlc_frame,
    mbus_frame,
    notification,
    power_body,
    ref_crc16_arc,
    ref_crc16_x25,
)

PLAIN = notification(power_body(), date_time=b"\x00")
FRAME_A = hdlc_frame(b"\xe6\xe7\x00" + PLAIN)
FRAME_B = hdlc_frame(b"\xe6\xe7\x00" + notification(power_body(5)) + b"\x7e\x7e\xa0")
CIPHERED = glo_ciphering(PLAIN, counter=5)


def _hunt(
    data: bytes, chunks: int | None = None, **kwargs: int
) -> tuple[list[object], FrameHunter]:
    hunter = FrameHunter(**kwargs)
    out: list[object] = []
    if chunks is None:
        out += hunter.feed(data)
    else:
        rng = random.Random(chunks)
        pos = 0
        while pos < len(data):
            size = rng.randint(1, chunks)
            out += hunter.feed(data[pos : pos + size])
            pos += size
    out += hunter.flush()
    return out, hunter


def _frames(items: Sequence[object]) -> list[bytes]:
    return [i.raw for i in items if isinstance(i, HdlcFrame | MbusFrame | RawApdu)]


def _errors(items: Sequence[object]) -> list[ErrorKind]:
    return [i.kind for i in items if isinstance(i, ErrorEvent)]


@pytest.mark.parametrize("chunks", [None, 1, 3, 17, 200])
def test_clean_hdlc_stream_any_chunking(chunks: int | None) -> None:
    stream = FRAME_A + FRAME_B + FRAME_A
    out, hunter = _hunt(stream, chunks)
    assert _frames(out) == [FRAME_A, FRAME_B, FRAME_A]
    assert _errors(out) == []
    assert hunter.garbage_bytes == 0
    assert hunter.frames == 3
    assert hunter.bytes_received == len(stream)
    assert hunter.buffered == 0


def test_shared_and_doubled_flags() -> None:
    shared = FRAME_A[:-1] + FRAME_B  # the closing flag of A opens B
    out, hunter = _hunt(shared + b"\x7e" + FRAME_A)
    assert _frames(out) == [FRAME_A[:-1] + b"\x7e", FRAME_B, FRAME_A]
    assert hunter.garbage_bytes == 0


def test_garbage_before_and_between() -> None:
    noise = bytes(random.Random(7).randbytes(300)).replace(b"\x7e", b"\x00")
    out, hunter = _hunt(noise + FRAME_A + b"\x11\x22\x33" + FRAME_B)
    assert _frames(out) == [FRAME_A, FRAME_B]
    assert hunter.garbage_bytes == 303
    framing = [i for i in out if isinstance(i, ErrorEvent)]
    assert [e.kind for e in framing] == [ErrorKind.FRAMING, ErrorKind.FRAMING]
    assert "300 byte" in framing[0].detail


def test_false_hdlc_header_claiming_long_length() -> None:
    # A header with a valid HCS that claims 2000 bytes, then real frames: they must come
    # out as soon as they are complete, not after 2000 bytes.
    header = bytes((0xA7, 0xD0, 0x03, 0x03, 0x13))
    fake = b"\x7e" + header + ref_crc16_x25(header).to_bytes(2, "little") + b"\x01\x02"
    hunter = FrameHunter()
    out = hunter.feed(fake + FRAME_A + FRAME_B)
    assert _frames(out) == [FRAME_A, FRAME_B]
    assert hunter.garbage_bytes == len(fake)


def test_false_mbus_header_does_not_swallow_a_frame() -> None:
    hunter = FrameHunter()
    out = hunter.feed(b"\x68\xfa\xfa\x68\x53" + FRAME_A)
    assert _frames(out) == [FRAME_A]


def test_fcs_error_reported_once_and_next_frame_kept() -> None:
    bad = bytearray(hdlc_frame(b"\xe6\xe7\x00" + CIPHERED))
    bad[-5] ^= 0xFF
    out, hunter = _hunt(bytes(bad) + FRAME_A)
    assert _errors(out) == [ErrorKind.CHECKSUM]
    assert _frames(out) == [FRAME_A]  # the DB APDU inside the bad frame is not decoded
    assert hunter.garbage_bytes == len(bad)


def test_mbus_frames_and_ci_error() -> None:
    first, last = mbus_frame(CIPHERED[:30], 0x00), mbus_frame(CIPHERED[30:], 0x11)
    not_dlms = mbus_frame(b"\x00" * 8, 0xFF)
    out, _ = _hunt(not_dlms + first + last, 5)
    assert _errors(out) == [ErrorKind.FRAMING]
    assert _frames(out) == [first, last]


def test_mbus_checksum_error() -> None:
    bad = bytearray(mbus_frame(CIPHERED, 0x10))
    bad[-2] ^= 0x01
    out, _ = _hunt(bytes(bad) + FRAME_A)
    assert _errors(out) == [ErrorKind.CHECKSUM]
    assert _frames(out) == [FRAME_A]


def test_sagemcom_overflow_frame_in_stream() -> None:
    big = mbus_frame(bytes(range(252)), 0x00)
    tail = mbus_frame(b"\x00" * 3, 0x11)
    out, _ = _hunt(big + tail, 11)
    assert _frames(out) == [big, tail]


def test_bare_ciphered_apdus() -> None:
    other = glo_ciphering(PLAIN, counter=6)
    out, hunter = _hunt(CIPHERED + other, 9)
    assert _frames(out) == [CIPHERED, other]
    assert all(isinstance(i, RawApdu) and i.kind == "bare" for i in out)
    assert hunter.garbage_bytes == 0


def test_bare_apdu_then_hdlc_and_garbage() -> None:
    out, _ = _hunt(b"\x00\x17" + CIPHERED + b"\x55" + FRAME_A, 4)
    assert _frames(out) == [CIPHERED, FRAME_A]


def test_bare_data_notification() -> None:
    apdu = notification(power_body(), date_time=b"\x0c" + bytes.fromhex("07E7031C02130B14FF800000"))
    out, _ = _hunt(apdu + apdu, 2)
    assert _frames(out) == [apdu, apdu]


def test_llc_only_frame() -> None:
    llc = b"\xe6\xe7\x00" + PLAIN
    out, _ = _hunt(llc + FRAME_A)
    assert _frames(out) == [llc, FRAME_A]
    first = out[0]
    assert isinstance(first, RawApdu)
    assert (first.kind, first.data) == ("llc", PLAIN)


def test_ip_wrapper() -> None:
    wrapped = b"\x00\x01\x00\x01\x00\x67" + len(CIPHERED).to_bytes(2, "big") + CIPHERED
    out, _ = _hunt(wrapped + wrapped, 7)
    assert _frames(out) == [wrapped, wrapped]
    first = out[0]
    assert isinstance(first, RawApdu)
    assert (first.kind, first.data) == ("ip", CIPHERED)


def test_ip_wrapper_length_must_agree() -> None:
    wrapped = b"\x00\x01\x00\x01\x00\x67" + (len(CIPHERED) + 3).to_bytes(2, "big") + CIPHERED
    out, _ = _hunt(wrapped + b"\x00\x00\x00" + FRAME_A)
    assert _frames(out) == [CIPHERED, FRAME_A]  # the wrapper is refused, its APDU is not


def test_dsmr_telegram_in_stream() -> None:
    body = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000123.456*kWh)\r\n!"
    text = body + f"{ref_crc16_arc(body):04X}".encode() + b"\r\n"
    out, hunter = _hunt(text + FRAME_A + text, 5)
    assert _frames(out) == [text[:-2], FRAME_A, text[:-2]]
    assert hunter.garbage_bytes == 0


def test_incomplete_frame_at_flush() -> None:
    out, _ = _hunt(FRAME_A + FRAME_B[:40])
    assert _frames(out) == [FRAME_A]
    assert _errors(out) == [ErrorKind.INCOMPLETE]
    incomplete = out[-1]
    assert isinstance(incomplete, ErrorEvent)
    assert incomplete.raw == FRAME_B[:40]


def test_trailing_flag_is_not_incomplete() -> None:
    out, _ = _hunt(FRAME_A + b"\x7e")
    assert _errors(out) == []


def test_long_garbage_is_reported_in_pieces_and_buffer_stays_bounded() -> None:
    rng = random.Random(99)
    hunter = FrameHunter(max_buffer=4096)
    events: list[object] = []
    for _ in range(200):
        events += hunter.feed(rng.randbytes(500))
        assert hunter.buffered <= 4096 + 500
    events += hunter.feed(FRAME_A)
    assert _frames(events) == [FRAME_A]
    reports = [e for e in events if isinstance(e, ErrorEvent)]
    assert len(reports) >= 100_000 // (GARBAGE_EVENT_BYTES + 500)
    assert all(e.kind is ErrorKind.FRAMING for e in reports)
    assert all(len(e.raw) <= 64 for e in reports)


def test_max_buffer_minimum() -> None:
    with pytest.raises(ValueError, match="max_buffer"):
        FrameHunter(max_buffer=100)


def test_frame_with_lost_bytes_does_not_cost_the_next_frame() -> None:
    damaged = FRAME_B[:30] + FRAME_B[36:]  # six bytes lost on the line
    for chunk in (None, 16, 1):
        # The damaged frame "completes" with bytes of the next one and fails its FCS.
        out, _ = _hunt(damaged + FRAME_A, chunk)
        assert _errors(out) == [ErrorKind.CHECKSUM]
        assert _frames(out) == [FRAME_A]


def test_frame_cut_short_by_a_complete_shorter_frame() -> None:
    damaged = FRAME_B[:20]  # the rest of B lost; a short frame follows at once
    short = hdlc_frame(b"\xe6\xe7\x00\x0f\x00\x00\x00\x01\x00\x01\x00")
    hunter = FrameHunter()
    events: list[object] = []
    for byte in damaged + short + FRAME_A:
        events += hunter.feed(bytes((byte,)))
    assert _errors(events) == [ErrorKind.INCOMPLETE]
    assert _frames(events) == [short, FRAME_A]
    assert isinstance(events[0], ErrorEvent)
    assert events[0].raw == damaged


@pytest.mark.parametrize(
    "date_time",
    [
        b"\x00",
        b"\x09\x00",
        b"\x0c" + bytes.fromhex("07E7031C02130B14FF800000"),
        b"\x19" + bytes(12),
    ],
)
def test_bare_notification_date_time_forms(date_time: bytes) -> None:
    apdu = notification(power_body(), date_time=date_time)
    if date_time.startswith(b"\x19"):
        # A date of all zeros (month 0) is no plausible push header: not a candidate.
        out, _ = _hunt(apdu)
        assert _frames(out) == []
    else:
        out, _ = _hunt(apdu + apdu, 3)
        assert _frames(out) == [apdu, apdu]


def test_every_marker_byte_belongs_to_one_framing() -> None:
    markers = [marker for framing in FRAMINGS for marker in framing.markers]
    assert len(markers) == len(set(markers))
    assert {framing.kind for framing in FRAMINGS} == {"hdlc", "mbus", "ip", "llc", "bare", "dsmr"}


def test_telegram_with_a_false_mbus_header_in_any_chunking() -> None:
    # `hAAh` reads as an M-Bus header `68 41 41 68` whose frame would end past the telegram:
    # the hunter waits for it, then must still find the telegram's end it had already seen.
    body = b"/ISk5\\2MT382-1000\r\n\r\n1-0:1.8.1(000123.456*kWh)\r\n0-0:96.13.0(hAAh)\r\n!"
    text = body + f"{ref_crc16_arc(body):04X}".encode() + b"\r\n"
    tail = b"...."
    for cuts in ((), (10,), (10, len(text) + 2), (len(text) - 1,)):
        hunter = FrameHunter()
        out: list[object] = []
        edges = [0, *cuts, len(text) + len(tail)]
        for start, stop in itertools.pairwise(edges):
            out += hunter.feed((text + tail)[start:stop])
        out += hunter.flush()
        assert _frames(out) == [text[:-2]], cuts
        assert _errors(out) == [ErrorKind.FRAMING]  # the tail


@pytest.mark.parametrize("framing", [b"", b"\xe6\xe7\x00"])
def test_failed_notification_header_is_no_frame_whatever_was_walked_before(
    framing: bytes,
) -> None:
    # A bare Data-Notification longer than the buffer is given up while its body is being
    # walked; a later LLC candidate whose date-time cannot be one must not be sized as if it
    # had the given-up push's header (here `01 00` would pass for an empty descriptor list).
    endless = framing + b"\x0f\x00\x00\x00\x01\x00\x01\x82\xff\xff" + b"\x11\x05" * 2100
    false_llc = b"\xe6\xe7\x00\x0f\x00\x00\x00\x02\x07\x01\x00" + bytes(8)
    for pieces in ((endless + false_llc,), (endless, false_llc)):
        hunter = FrameHunter(max_buffer=4096)
        out: list[object] = []
        for piece in pieces:
            out += hunter.feed(piece)
        out += hunter.flush()
        assert _frames(out) == []
