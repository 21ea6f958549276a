"""The two fast paths (replay.py, skeleton.py) give exactly what the full pipeline gives.

Each test decodes the same bytes twice: once as shipped, once with learning switched off
(`learn` and `compile_skeleton` patched to learn nothing), and compares everything the
caller can see: pushes, error events, counters.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.swiss_meter_cii.decoder import (
    ErrorEvent,
    ErrorKind,
    Push,
    StreamDecoder,
    apdu,
    replay,
    stream,
)
from custom_components.swiss_meter_cii.decoder.apdu import NotificationMemo, parse_data_notification
from custom_components.swiss_meter_cii.decoder.skeleton import compile_skeleton
from simulator.meter import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator

START = datetime(2026, 6, 21, 11, 0, tzinfo=UTC)
METERS: dict[str, dict[str, Any]] = {
    "e450": {"key": DEFAULT_KEY, "auth_key": DEFAULT_AUTH_KEY},
    "kaifa_ma309m": {"key": DEFAULT_KEY},
    "am550": {},
}
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def pushes(profile: str, count: int = 6, seed: int = 3) -> list[bytes]:
    meter = MeterSimulator(profile, seed=seed, start=START, **METERS[profile])
    return [meter.next_push(elapsed=1.0) for _ in range(count)]


@contextlib.contextmanager
def slow_path_only() -> Iterator[None]:
    """Switch both fast paths off (nothing is ever learned)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(stream, "learn", lambda *_: None)
        patch.setattr(apdu, "compile_skeleton", lambda *_: None)
        yield


def run(profile: str, data: bytes, chunk: int) -> tuple[list[Any], Any]:
    decoder = StreamDecoder(**METERS[profile])
    results: list[Push | ErrorEvent] = []
    for start in range(0, len(data), chunk):
        results += decoder.feed(data[start : start + chunk])
    results += decoder.flush()
    return results, decoder.stats


def both(profile: str, data: bytes, chunk: int) -> tuple[list[Any], list[Any]]:
    fast = run(profile, data, chunk)
    with slow_path_only():
        slow = run(profile, data, chunk)
    assert fast[1] == slow[1]  # bytes, garbage, frames, pushes, errors
    return fast[0], slow[0]


@pytest.mark.parametrize("profile", METERS)
@pytest.mark.parametrize("chunk", [1, 64, 100_000])
def test_same_results_on_clean_streams(profile: str, chunk: int) -> None:
    fast, slow = both(profile, b"".join(pushes(profile)), chunk)
    assert fast == slow
    assert len([r for r in fast if isinstance(r, Push)]) == 6


@PROPERTY
@given(
    st.sampled_from(sorted(METERS)),
    st.lists(
        st.tuples(
            st.sampled_from(["flip", "delete", "insert"]),
            st.floats(0, 1),
            st.binary(min_size=1, max_size=4),
        ),
        min_size=1,
        max_size=3,
    ),
    st.sampled_from([7, 64, 100_000]),
)
def test_same_results_on_damaged_streams(
    profile: str, damage: list[tuple[str, float, bytes]], chunk: int
) -> None:
    data = bytearray(b"".join(pushes(profile)))
    for action, where, extra in damage:
        pos = int(where * (len(data) - 1))
        if action == "flip":
            data[pos] ^= extra[0] or 1
        elif action == "delete":
            del data[pos : pos + len(extra)]
        else:
            data[pos:pos] = extra
    fast, slow = both(profile, bytes(data), chunk)
    assert fast == slow


def test_another_list_is_decoded_at_once() -> None:
    """A push of the meter's second list never waits for a push's worth of bytes."""
    meter = MeterSimulator("e450", seed=5, start=START, **METERS["e450"])
    decoder = StreamDecoder(**METERS["e450"])
    for _ in range(3):
        assert isinstance(decoder.feed(meter.next_push(elapsed=1.0))[0], Push)
    second = decoder.feed(meter.next_second_list_push())
    assert [type(r) for r in second] == [Push]
    assert isinstance(second[0], Push)
    assert second[0].push_setup == "0-2:25.9.0.255"


@pytest.mark.parametrize("chunk", [1, 7])
def test_another_list_in_small_reads_is_decoded_with_its_last_byte(chunk: int) -> None:
    """Headers are compared as their bytes arrive: a differing one ends replay at once."""
    meter = MeterSimulator("e450", seed=5, start=START, **METERS["e450"])
    decoder = StreamDecoder(**METERS["e450"])
    for _ in range(3):
        assert isinstance(decoder.feed(meter.next_push(elapsed=1.0))[0], Push)
    second = meter.next_second_list_push()
    results = [decoder.feed(second[i : i + chunk]) for i in range(0, len(second), chunk)]
    assert all(r == [] for r in results[:-1])
    assert [type(r) for r in results[-1]] == [Push]
    push = results[-1][0]
    assert isinstance(push, Push)
    assert push.push_setup == "0-2:25.9.0.255"
    assert decoder.stats.garbage_bytes == 0


@pytest.mark.parametrize("profile", METERS)
def test_a_first_header_that_differs_while_it_arrives(profile: str) -> None:
    """A push whose first frame header differs in a byte seen before the rest of it."""
    data = pushes(profile)
    broken = bytearray(data[3])
    broken[2] ^= 0x01  # HDLC frame length / M-Bus L field: compared while the header arrives
    data[3] = bytes(broken)
    fast, slow = both(profile, b"".join(data), 7)
    assert fast == slow
    assert len([r for r in fast if isinstance(r, Push)]) == 5


def test_a_late_last_frame_completes_the_push() -> None:
    """E450 behind a gPlug: the last frame of the block transfer comes seconds later."""
    data = pushes("e450", 4)
    decoder = StreamDecoder(**METERS["e450"])
    for push in data[:3]:
        assert isinstance(decoder.feed(push)[0], Push)
    last_frame = data[3].rindex(b"\x7e\x7e") + 1
    assert decoder.feed(data[3][:last_frame]) == []  # nothing is timed out or reported
    completed = decoder.feed(data[3][last_frame:])
    assert [type(r) for r in completed] == [Push]


def test_a_bad_checksum_under_replay_is_reported_once() -> None:
    data = pushes("e450", 5)
    broken = bytearray(data[3])
    broken[100] ^= 0xFF
    fast, slow = both("e450", b"".join([*data[:3], bytes(broken), data[4]]), 100_000)
    assert fast == slow
    assert [r.kind for r in fast if isinstance(r, ErrorEvent)][:1] == [ErrorKind.CHECKSUM]
    assert len([r for r in fast if isinstance(r, Push)]) == 4


def test_learn_refuses_what_it_cannot_replay() -> None:
    push = pushes("e450", 1)[0]
    assert replay.learn(push, b"not the message") is None
    assert replay.learn(b"\x00" + push, b"") is None  # no frame at the start


def test_skeleton_rebuilds_the_parsed_tree_and_refuses_other_layouts() -> None:
    body = bytes.fromhex("020206000004570906") + b"\x01\x00\x01\x08\x00\xff"
    first = bytes.fromhex("0F0000000100") + body
    skeleton = compile_skeleton(first, len(first))
    assert skeleton is not None
    second = bytes.fromhex("0F0000000200020206000004580906") + b"\x01\x00\x02\x08\x00\xff"
    assert skeleton.apply(second, 0) == (2, None, (1112, b"\x01\x00\x02\x08\x00\xff"))
    other = bytes.fromhex("0F0000000200020212000004580906") + b"\x01\x00\x02\x08\x00\xff"
    assert skeleton.apply(other, 0) is None  # a type tag differs: parse in full
    assert skeleton.apply(second[:-1], 0) is None  # cut short


def test_notification_memo_stops_learning_a_layout_that_keeps_changing() -> None:
    memo = NotificationMemo()
    for n in range(apdu.SKELETON_MISSES + 2):
        body = bytes.fromhex("0202") + b"\x06\x00\x00\x00\x01" + b"\x09" + bytes([n]) + b"x" * n
        data = bytes.fromhex("0F0000000100") + body
        notification, _ = parse_data_notification(data, 0, memo)
        assert notification.body == (1, b"x" * n)
    assert memo.skeleton is None


@pytest.mark.parametrize("chunk", [1, 64, 100_000])
def test_a_flag_shared_between_pushes(chunk: int) -> None:
    """One 7E closing a push and opening the next (seen on lines that drop a byte)."""
    data = pushes("am550", 6)
    stream = data[0] + b"".join(push[1:] for push in data[1:])
    fast, slow = both("am550", stream, chunk)
    assert fast == slow
    assert len([r for r in fast if isinstance(r, Push)]) == 6


@pytest.mark.parametrize("profile", METERS)
@pytest.mark.parametrize("chunk", [64, 100_000])
def test_a_push_cut_off_at_the_end_is_reported_as_incomplete(profile: str, chunk: int) -> None:
    """Bytes replay holds when the input ends go to the hunter: nothing is lost at flush."""
    data = pushes(profile, 5)
    fast, slow = both(profile, b"".join(data[:4]) + data[4][: len(data[4]) // 2], chunk)
    assert fast == slow
    assert [r.kind for r in fast if isinstance(r, ErrorEvent)] == [ErrorKind.INCOMPLETE]
