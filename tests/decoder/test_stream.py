"""StreamDecoder: the whole pipeline, key errors, frame-counter rule, robustness."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.swiss_meter_cii.decoder import (
    DecodeError,
    DecoderStats,
    ErrorEvent,
    ErrorKind,
    Push,
    Reading,
    Security,
    StreamDecoder,
    decode_capture,
)

from . import (
    AUTH_KEY,
    KEY,
    SYSTEM_TITLE,
    gbt_blocks,
    glo_ciphering,
    hdlc_frame,
    mbus_frame,
    notification,
    power_body,
    ref_crc16_arc,
    vector,
)

DT = bytes.fromhex("07E7031C02130B14FF800000")  # 2023-03-28 19:11:20, deviation unspecified


def _pushes(results: list[Push | ErrorEvent]) -> list[Push]:
    return [r for r in results if isinstance(r, Push)]


def _errors(results: list[Push | ErrorEvent]) -> list[ErrorKind]:
    return [r.kind for r in results if isinstance(r, ErrorEvent)]


def _push_frame(counter: int, *, watts: int = 1122, sc: int = 0x20, **kwargs: Any) -> bytes:
    apdu = glo_ciphering(
        notification(power_body(watts), invoke=counter, date_time=b"\x0c" + DT),
        counter=counter,
        sc=sc,
        **kwargs,
    )
    return hdlc_frame(b"\xe6\xe7\x00" + apdu)


def test_encrypted_hdlc_push() -> None:
    decoder = StreamDecoder(key=KEY.hex(" "))
    results = decoder.feed(_push_frame(41))
    assert _errors(results) == []
    (push,) = _pushes(results)
    assert push.values["1-0:1.7.0.255"] == Reading(1122, "W")
    assert push.values["1-0:1.8.0.255"] == Reading(256, "Wh")
    assert push.system_title == SYSTEM_TITLE
    assert push.manufacturer == "LGZ"
    assert push.frame_counter == 41
    assert push.invoke_id == 41
    assert push.security is Security.ENCRYPTED
    assert push.timestamp == datetime(2023, 3, 28, 19, 11, 20, tzinfo=ZoneInfo("Europe/Zurich"))
    assert push.layout == "obis_structures"
    assert push.raw == _push_frame(41)
    assert not push.counter_reset


def test_authenticated_push() -> None:
    frame = _push_frame(7, sc=0x30, auth_key=AUTH_KEY)
    (push,) = _pushes(decode_capture(frame, key=KEY, auth_key=AUTH_KEY.hex()))
    assert push.security is Security.AUTHENTICATED


def test_key_errors_are_events() -> None:
    frame = _push_frame(7, sc=0x30, auth_key=AUTH_KEY)
    assert _errors(decode_capture(frame)) == [ErrorKind.MISSING_KEY]
    assert _errors(decode_capture(frame, key=bytes(16))) == [ErrorKind.WRONG_KEY]
    assert _errors(decode_capture(frame, key=KEY, auth_key=bytes(16))) == [ErrorKind.AUTH_FAILED]
    assert _errors(decode_capture(frame, key=bytes(16), auth_key=AUTH_KEY)) == [ErrorKind.WRONG_KEY]
    event = decode_capture(frame)[0]
    assert isinstance(event, ErrorEvent)
    assert event.system_title == SYSTEM_TITLE
    assert event.raw == frame


def test_wrong_key_on_many_pushes_never_yields_data() -> None:
    decoder = StreamDecoder(key=bytes(range(16)))
    results: list[Push | ErrorEvent] = []
    for counter in range(1, 200):
        results += decoder.feed(_push_frame(counter, watts=counter))
    assert _pushes(results) == []
    assert set(_errors(results)) == {ErrorKind.WRONG_KEY}


def test_broken_body_with_right_key_is_malformed_not_wrong_key() -> None:
    apdu = glo_ciphering(
        notification(b"\x02\x02\x06\x00", date_time=b"\x0c" + DT), counter=3, sc=0x20
    )
    assert _errors(decode_capture(hdlc_frame(apdu), key=KEY)) == [ErrorKind.MALFORMED]


def test_frame_counter_rule() -> None:
    decoder = StreamDecoder(key=KEY)

    def run(counter: int) -> list[Push | ErrorEvent]:
        return decoder.feed(_push_frame(counter, watts=counter))

    assert _pushes(run(100))
    assert _pushes(run(101))
    assert _errors(run(101)) == [ErrorKind.REPLAY]  # replayed frame
    assert _errors(run(99)) == [ErrorKind.REPLAY]  # old frame
    assert _pushes(run(102))
    # Old frames replayed out of order never pass ...
    for counter in (50, 40, 45, 30):
        assert _errors(run(counter)) == [ErrorKind.REPLAY]
    assert _pushes(run(103))
    # ... but three refused pushes with strictly rising counters re-synchronise (meter reset).
    assert _errors(run(1)) == [ErrorKind.REPLAY]
    assert _errors(run(2)) == [ErrorKind.REPLAY]
    (push,) = _pushes(run(3))
    assert push.counter_reset
    (push,) = _pushes(run(4))
    assert not push.counter_reset
    assert _errors(run(3)) == [ErrorKind.REPLAY]
    stats = decoder.stats
    assert stats.errors[ErrorKind.REPLAY] == 9
    assert stats.pushes == 6


def test_counters_are_per_system_title() -> None:
    decoder = StreamDecoder(key=KEY)
    assert _pushes(decoder.feed(_push_frame(10)))
    other = _push_frame(5, system_title=b"KFMgP\x00\x00\x09")
    assert _pushes(decoder.feed(other))


def test_plain_duplicate_is_replay() -> None:
    frame = hdlc_frame(b"\xe6\xe7\x00" + notification(power_body(), date_time=b"\x0c" + DT))
    decoder = StreamDecoder()
    assert _pushes(decoder.feed(frame))
    assert _errors(decoder.feed(frame)) == [ErrorKind.REPLAY]
    other = hdlc_frame(b"\xe6\xe7\x00" + notification(power_body(9), date_time=b"\x0c" + DT))
    assert _pushes(decoder.feed(other))
    assert _pushes(decoder.feed(frame))  # not identical to the previous one


def test_several_apdus_in_one_hdlc_frame() -> None:
    # E450 in TG/CH at 9600 baud: three Data-Notifications in one frame
    # (docs/protocol.md, "Several APDUs in one frame").
    apdus = [notification(power_body(w), invoke=w, date_time=b"\x0c" + DT) for w in (1, 2, 3)]
    frame = hdlc_frame(b"\xe6\xe7\x00" + apdus[0] + b"\xe6\xe7\x00" + apdus[1] + apdus[2])
    pushes = _pushes(decode_capture(frame))
    assert [p.values["1-0:1.7.0.255"].value for p in pushes] == [1, 2, 3]
    assert all(p.raw == frame for p in pushes)


def test_garbage_after_apdu_in_frame_is_malformed() -> None:
    frame = hdlc_frame(b"\xe6\xe7\x00" + notification(power_body()) + b"\x42\x42")
    results = decode_capture(frame)
    assert len(_pushes(results)) == 1
    assert _errors(results) == [ErrorKind.MALFORMED]


def test_gbt_over_hdlc_with_ciphering() -> None:
    apdu = glo_ciphering(notification(power_body(), date_time=b"\x0c" + DT), counter=9)
    blocks = gbt_blocks(apdu, 40)
    frames = [hdlc_frame((b"\xe6\xe7\x00" if i == 0 else b"") + b) for i, b in enumerate(blocks)]
    (push,) = _pushes(decode_capture(b"".join(frames), key=KEY))
    assert push.raw == b"".join(frames)
    assert push.frame_counter == 9


def test_gbt_inside_ciphertext() -> None:
    plain = notification(power_body(), date_time=b"\x0c" + DT)
    blocks = gbt_blocks(plain, 30)
    frames = b"".join(
        hdlc_frame(b"\xe6\xe7\x00" + glo_ciphering(block, counter=20 + i))
        for i, block in enumerate(blocks)
    )
    results = decode_capture(frames, key=KEY)
    assert _errors(results) == []
    (push,) = _pushes(results)
    assert push.values["1-0:1.7.0.255"].value == 1122


def test_mbus_segments_pipeline() -> None:
    apdu = glo_ciphering(notification(power_body(), date_time=b"\x0c" + DT), counter=77)
    stream = mbus_frame(apdu[:50], 0x00) + mbus_frame(apdu[50:], 0x11)
    (push,) = _pushes(decode_capture(stream, key=KEY))
    assert push.frame_counter == 77


def test_plain_dsmr_telegram() -> None:
    body = b"/ISk5\\2MT382-1000\r\n\r\n0-0:1.0.0(230328191120S)\r\n1-0:1.8.1(000123.456*kWh)\r\n!"
    text = body + f"{ref_crc16_arc(body):04X}".encode() + b"\r\n"
    (push,) = _pushes(decode_capture(text))
    assert push.layout == "dsmr"
    assert push.values["1-0:1.8.1.255"] == Reading(Decimal("123.456"), "kWh")
    assert push.timestamp is not None
    assert push.security is Security.NONE


def test_timestamp_falls_back_to_body_clock() -> None:
    raw = bytes.fromhex(vector("aidon-se-tekniskaverken-doc-hdlc-3ph")["hex"])
    (push,) = _pushes(decode_capture(raw))
    assert push.timestamp is not None
    assert push.timestamp == push.values["0-0:1.0.0.255"].value


def test_unsupported_layout_carries_the_structure() -> None:
    frame = hdlc_frame(b"\xe6\xe7\x00" + notification(b"\x02\x01\x03\x01"))
    (event,) = decode_capture(frame)
    assert isinstance(event, ErrorEvent)
    assert event.kind is ErrorKind.UNSUPPORTED_LAYOUT
    assert event.structure == (True,)


def test_unexpected_exception_becomes_malformed_and_stream_continues() -> None:
    decoder = StreamDecoder(key=KEY)
    calls = {"n": 0}
    real = decoder._layout.decode

    def flaky(body: object, *, system_title: bytes | None) -> Any:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("bug")
        return real(body, system_title=system_title)

    decoder._layout.decode = flaky  # type: ignore[method-assign]
    results = decoder.feed(_push_frame(1) + _push_frame(2))
    assert _errors(results) == [ErrorKind.MALFORMED]
    assert [p.frame_counter for p in _pushes(results)] == [2]
    assert "bug" not in str(results[0])


def test_layout_decode_error_passes_through() -> None:
    decoder = StreamDecoder()

    def broken(body: object, *, system_title: bytes | None) -> Any:
        raise DecodeError(ErrorKind.MALFORMED, "contradicting list")

    decoder._layout.decode = broken  # type: ignore[method-assign]
    frame = hdlc_frame(b"\xe6\xe7\x00" + notification(power_body()))
    (event,) = decoder.feed(frame)
    assert isinstance(event, ErrorEvent)
    assert (event.kind, event.detail) == (ErrorKind.MALFORMED, "contradicting list")


def test_flush_reports_pending_pieces() -> None:
    apdu = glo_ciphering(notification(power_body()), counter=9)
    first_block = gbt_blocks(apdu, 40)[0]
    decoder = StreamDecoder(key=KEY)
    assert decoder.feed(hdlc_frame(b"\xe6\xe7\x00" + first_block)) == []
    assert _errors(decoder.flush()) == [ErrorKind.INCOMPLETE]
    segment = mbus_frame(apdu[:30], 0x00)
    assert decoder.feed(segment) == []
    assert _errors(decoder.flush()) == [ErrorKind.INCOMPLETE]


def test_stats() -> None:
    decoder = StreamDecoder(key=KEY)
    decoder.feed(b"\x01\x02\x03" + _push_frame(1) + _push_frame(1))
    decoder.flush()
    stats = decoder.stats
    assert isinstance(stats, DecoderStats)
    assert stats.bytes_received == 3 + 2 * len(_push_frame(1))
    assert stats.garbage_bytes == 3
    assert stats.frames == 2
    assert stats.pushes == 1
    assert stats.errors == {ErrorKind.FRAMING: 1, ErrorKind.REPLAY: 1}
    stats.errors.clear()  # a snapshot: the decoder's own counters are untouched
    assert decoder.stats.errors


def test_bad_keys_are_value_errors_without_the_key() -> None:
    secret = "36C66639E48A8CA4D6BC8B282A793BBB"
    with pytest.raises(ValueError, match="encryption key") as err:
        StreamDecoder(key=secret + "00")
    assert secret not in str(err.value)
    with pytest.raises(ValueError, match="authentication key"):
        StreamDecoder(key=KEY, auth_key=b"\x00" * 15)


def test_repr_hides_keys() -> None:
    decoder = StreamDecoder(key=KEY, auth_key=AUTH_KEY)
    text = repr(decoder) + repr(decoder.__dict__ if hasattr(decoder, "__dict__") else "")
    assert KEY.hex() not in text.lower()
    assert AUTH_KEY.hex() not in text.lower()


def test_unknown_model_rejected() -> None:
    with pytest.raises(ValueError, match="model"):
        StreamDecoder(model="nope")


def test_events_never_contain_key_material() -> None:
    frame = _push_frame(7, sc=0x30, auth_key=AUTH_KEY)
    for kwargs in ({}, {"key": bytes(16)}, {"key": KEY, "auth_key": bytes(16)}):
        for result in decode_capture(frame, **kwargs):
            text = repr(result)
            assert KEY.hex() not in text.lower()
            assert repr(KEY)[2:-1] not in text
            assert AUTH_KEY.hex() not in text.lower()
