"""Reassembly: GBT blocks, HDLC S-bit segments, M-Bus CI segments, LLC handling."""

from __future__ import annotations

import pytest

from custom_components.swiss_meter_cii.decoder.assembly import (
    BlockAssembler,
    LinkAssembler,
    Message,
    RawApdu,
    parse_gbt,
    strip_llc,
)
from custom_components.swiss_meter_cii.decoder.axdr import TruncatedError
from custom_components.swiss_meter_cii.decoder.errors import DecodeError, ErrorKind
from custom_components.swiss_meter_cii.decoder.hdlc import parse_frame as parse_hdlc
from custom_components.swiss_meter_cii.decoder.mbus import parse_frame as parse_mbus
from custom_components.swiss_meter_cii.decoder.push import ErrorEvent

from . import gbt_block, gbt_blocks, hdlc_frame, mbus_frame

APDU = bytes(range(200))


def _blocks(numbers: list[int], last: int) -> list[bytes]:
    return [gbt_block(n, bytes((n,)) * 3, last=n == last) for n in numbers]


def _feed_blocks(assembler: BlockAssembler, blocks: list[bytes]) -> list[Message | ErrorEvent]:
    out: list[Message | ErrorEvent] = []
    for raw in blocks:
        block, end = parse_gbt(raw)
        assert end == len(raw)
        out += assembler.push(block, raw)
    return out


def test_parse_gbt() -> None:
    raw = gbt_block(3, b"abc", last=True)
    block, end = parse_gbt(raw)
    assert (block.number, block.last, block.acknowledged, block.data) == (3, True, 0, b"abc")
    assert end == len(raw)
    with pytest.raises(TruncatedError):
        parse_gbt(raw[:-1])
    with pytest.raises(DecodeError):
        parse_gbt(b"\x0f" + raw[1:])


def test_gbt_in_order() -> None:
    out = _feed_blocks(BlockAssembler(), gbt_blocks(APDU, 64))
    assert out == [Message(APDU, b"".join(gbt_blocks(APDU, 64)))]


def test_gbt_single_block() -> None:
    out = _feed_blocks(BlockAssembler(), gbt_blocks(APDU, 500))
    assert len(out) == 1
    assert isinstance(out[0], Message)
    assert out[0].data == APDU


def test_gbt_restart_discards_partial() -> None:
    # The SCS E450 capture: blocks 1, 2 of an aborted push, then 1..3 of a complete one.
    assembler = BlockAssembler()
    out = _feed_blocks(assembler, _blocks([1, 2], last=0) + _blocks([1, 2, 3], last=3))
    assert [type(o) for o in out] == [ErrorEvent, Message]
    assert isinstance(out[0], ErrorEvent)
    assert out[0].kind is ErrorKind.FRAMING
    assert "restarted" in out[0].detail
    assert isinstance(out[1], Message)
    assert out[1].data == b"\x01" * 3 + b"\x02" * 3 + b"\x03" * 3
    assert not assembler.pending


@pytest.mark.parametrize("numbers", [[1, 2, 2, 3], [1, 3], [1, 2, 4]])
def test_gbt_gap_or_duplicate_drops_the_push(numbers: list[int]) -> None:
    assembler = BlockAssembler()
    out = _feed_blocks(assembler, _blocks(numbers, last=numbers[-1]))
    assert not any(isinstance(o, Message) for o in out)
    assert [o.kind for o in out if isinstance(o, ErrorEvent)] == [ErrorKind.FRAMING]
    assert not assembler.pending


def test_gbt_orphan_block() -> None:
    out = _feed_blocks(BlockAssembler(), _blocks([2, 3], last=3))
    assert [o.kind for o in out if isinstance(o, ErrorEvent)] == [ErrorKind.FRAMING] * 2


def test_gbt_flush_reports_incomplete() -> None:
    assembler = BlockAssembler()
    _feed_blocks(assembler, _blocks([1, 2], last=0))
    events = assembler.flush()
    assert [e.kind for e in events] == [ErrorKind.INCOMPLETE]
    assert assembler.flush() == []


def test_strip_llc() -> None:
    assert strip_llc(b"\xe6\xe7\x00\x0f") == b"\x0f"
    assert strip_llc(b"\xe6\xe6\x00\x0f") == b"\x0f"
    assert strip_llc(b"\x0f\xe6\xe7\x00") == b"\x0f\xe6\xe7\x00"


def test_hdlc_single_frame_strips_llc() -> None:
    frame = parse_hdlc(hdlc_frame(b"\xe6\xe7\x00\x0f\x01"))
    assert LinkAssembler().push(frame) == [Message(b"\x0f\x01", frame.raw)]


def test_hdlc_segments_llc_only_in_first() -> None:
    apdu = b"\x0f" + bytes(range(1, 100))
    # A later segment that happens to start with E6 E7 00 keeps those bytes.
    infos = [b"\xe6\xe7\x00" + apdu[:40], b"\xe6\xe7\x00" + apdu[40:70], apdu[70:]]
    frames = [
        parse_hdlc(hdlc_frame(info, segmented=i < 2, control=0x03 if i < 2 else 0x13))
        for i, info in enumerate(infos)
    ]
    assembler = LinkAssembler()
    out: list[Message | ErrorEvent] = []
    for frame in frames:
        out += assembler.push(frame)
    assert len(out) == 1
    assert isinstance(out[0], Message)
    assert out[0].data == apdu[:40] + b"\xe6\xe7\x00" + apdu[40:70] + apdu[70:]
    assert out[0].raw == b"".join(f.raw for f in frames)


def test_hdlc_lost_last_segment_is_detected_at_next_apdu() -> None:
    first = parse_hdlc(hdlc_frame(b"\xe6\xe7\x00\x0f\x00\x00", segmented=True))
    new_first = parse_hdlc(hdlc_frame(b"\xe6\xe7\x00\x0f\x11\x11", segmented=True))
    last = parse_hdlc(hdlc_frame(b"\x22"))
    assembler = LinkAssembler()
    out = assembler.push(first) + assembler.push(new_first) + assembler.push(last)
    assert isinstance(out[0], ErrorEvent)
    assert out[0].kind is ErrorKind.FRAMING
    assert out[1] == Message(b"\x0f\x11\x11\x22", new_first.raw + last.raw)


def test_hdlc_flush_incomplete() -> None:
    assembler = LinkAssembler()
    assembler.push(parse_hdlc(hdlc_frame(b"\xe6\xe7\x00\x0f", segmented=True)))
    assert [e.kind for e in assembler.flush()] == [ErrorKind.INCOMPLETE]


def test_mbus_segments() -> None:
    frames = [parse_mbus(mbus_frame(b"A" * 10, 0x00)), parse_mbus(mbus_frame(b"B" * 5, 0x11))]
    assembler = LinkAssembler()
    assert assembler.push(frames[0]) == []
    assert assembler.push(frames[1]) == [
        Message(b"A" * 10 + b"B" * 5, frames[0].raw + frames[1].raw)
    ]


def test_mbus_single_segment() -> None:
    frame = parse_mbus(mbus_frame(b"\x0f\x01", 0x10))
    assert LinkAssembler().push(frame) == [Message(b"\x0f\x01", frame.raw)]


def test_mbus_orphan_and_gap() -> None:
    assembler = LinkAssembler()
    orphan = assembler.push(parse_mbus(mbus_frame(b"x", 0x11)))
    assert [e.kind for e in orphan if isinstance(e, ErrorEvent)] == [ErrorKind.FRAMING]
    assembler.push(parse_mbus(mbus_frame(b"a", 0x00)))
    gap = assembler.push(parse_mbus(mbus_frame(b"c", 0x12)))
    assert [e.kind for e in gap if isinstance(e, ErrorEvent)] == [ErrorKind.FRAMING]
    # A new first segment while one is pending: the old one is dropped, the new one kept.
    assembler.push(parse_mbus(mbus_frame(b"a", 0x00)))
    restart = assembler.push(parse_mbus(mbus_frame(b"b", 0x00)))
    assert [e.kind for e in restart if isinstance(e, ErrorEvent)] == [ErrorKind.FRAMING]
    done = assembler.push(parse_mbus(mbus_frame(b"c", 0x11)))
    assert [m.data for m in done if isinstance(m, Message)] == [b"bc"]


def test_raw_apdu_passes_through() -> None:
    frame = RawApdu("bare", b"\xdb\x08", b"\xdb\x08")
    assert LinkAssembler().push(frame) == [Message(b"\xdb\x08", b"\xdb\x08")]
