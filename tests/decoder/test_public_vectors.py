"""Every public vector (tests/fixtures/public_vectors.json) through decode_capture."""

from __future__ import annotations

from decimal import Decimal
import random
from typing import Any

import pytest

from custom_components.swiss_meter_cii.decoder import (
    ErrorEvent,
    ErrorKind,
    Push,
    Security,
    StreamDecoder,
    decode_capture,
)

from . import load_vectors

VECTORS = load_vectors()
BY_ID = {v["id"]: v for v in VECTORS}
NEGATIVE = {"lg-zmf100-hdlc-cnrd"}
# The captured stream starts with the last segment of a push whose first one is missing.
LEADING_ORPHAN = {"evn-sagemcom-t210d-mbus-stream"}


def _kwargs(vec: dict[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if vec.get("key_hex"):
        kwargs["key"] = vec["key_hex"]
    if vec.get("auth_key_hex"):
        kwargs["auth_key"] = vec["auth_key_hex"]
    return kwargs


def _decode(vec: dict[str, Any]) -> list[Push | ErrorEvent]:
    return decode_capture(bytes.fromhex(vec["hex"]), **_kwargs(vec))


def _obis(key: str) -> str:
    a, b, rest = key.split(".", 2)
    return f"{a}-{b}:{rest}"


def _same(actual: object, expected: object) -> bool:
    if isinstance(expected, str):
        return actual == expected
    if isinstance(actual, bool) or not isinstance(actual, int | Decimal | float):
        return False
    return Decimal(str(actual)) == Decimal(str(expected))


def test_fixture_is_a_faithful_copy() -> None:
    assert len(VECTORS) == 20
    for vec in VECTORS:
        assert vec["source"]
        assert vec["notes"]
        bytes.fromhex(vec["hex"])


@pytest.mark.parametrize(
    "vec",
    [v for v in VECTORS if v["id"] not in NEGATIVE and (v["key_hex"] or not v["encrypted"])],
    ids=lambda v: v["id"],
)
def test_decodes_without_errors(vec: dict[str, Any]) -> None:
    results = _decode(vec)
    errors = [r for r in results if isinstance(r, ErrorEvent)]
    pushes = [r for r in results if isinstance(r, Push)]
    expected_errors = 1 if vec["id"] == "lg-e450-ch-gbt-plain-scs-a" else 0  # aborted GBT
    assert [e.kind for e in errors] == [ErrorKind.FRAMING] * expected_errors, errors
    assert len(pushes) >= 1
    for push in pushes:
        assert push.values
        assert push.raw
        if vec["encrypted"]:
            assert push.security in (Security.ENCRYPTED, Security.AUTHENTICATED)
            assert push.system_title is not None
            assert push.frame_counter is not None
        else:
            assert push.security is Security.NONE
        if vec.get("auth_key_hex") and "SC=0x30" in vec["notes"]:
            assert push.security is Security.AUTHENTICATED  # tag verified with the GAK


@pytest.mark.parametrize(
    "vec", [v for v in VECTORS if v["expected"] and v["id"] not in NEGATIVE], ids=lambda v: v["id"]
)
def test_published_values(vec: dict[str, Any]) -> None:
    pushes = [r for r in _decode(vec) if isinstance(r, Push)]
    assert len(pushes) == 1
    values = pushes[0].values
    mismatches: dict[str, tuple[object, object, object]] = {}
    for key, (value, unit) in vec["expected"].items():
        obis = _obis(key)
        reading = values.get(obis)
        if reading is None:
            mismatches[obis] = ("missing", value, unit)
        elif not _same(reading.value, value) or reading.unit != (unit or None):
            mismatches[obis] = ((reading.value, reading.unit), value, unit or None)
    assert mismatches == {}


@pytest.mark.parametrize(
    "vec", [v for v in VECTORS if v["encrypted"] and not v["key_hex"]], ids=lambda v: v["id"]
)
def test_without_key_frames_and_reassembles(vec: dict[str, Any]) -> None:
    results = _decode(vec)
    kinds = [r.kind for r in results if isinstance(r, ErrorEvent)]
    if vec["id"] in LEADING_ORPHAN:
        assert kinds[0] is ErrorKind.FRAMING
        kinds = kinds[1:]
    assert kinds
    assert set(kinds) == {ErrorKind.MISSING_KEY}
    for event in results[-len(kinds) :]:
        assert isinstance(event, ErrorEvent)
        assert event.system_title is not None


def test_sagemcom_stream_pushes_count() -> None:
    # ~9 pushes, each a 257-byte first segment with L = 0x01 plus a last segment.
    results = _decode(BY_ID["evn-sagemcom-t210d-mbus-stream"])
    assert [r.kind for r in results if isinstance(r, ErrorEvent)].count(ErrorKind.MISSING_KEY) == 9


def test_zmf100_wrong_fcs_is_reported_and_skipped() -> None:
    # cnrd recomputed this frame's FCS after a transcription error; it does not match.
    results = _decode(BY_ID["lg-zmf100-hdlc-cnrd"])
    assert [(r.kind, len(r.raw)) for r in results if isinstance(r, ErrorEvent)] == [
        (ErrorKind.CHECKSUM, 396)
    ]
    assert not any(isinstance(r, Push) for r in results)


@pytest.mark.parametrize("vec", VECTORS, ids=lambda v: v["id"])
def test_random_chunks_give_identical_results(vec: dict[str, Any]) -> None:
    data = bytes.fromhex(vec["hex"])
    whole = _decode(vec)
    rng = random.Random(vec["id"])
    for max_chunk in (1, 7, 64):
        decoder = StreamDecoder(**_kwargs(vec))
        results: list[Push | ErrorEvent] = []
        pos = 0
        while pos < len(data):
            size = rng.randint(1, max_chunk)
            results += decoder.feed(data[pos : pos + size])
            pos += size
        results += decoder.flush()
        assert results == whole


CHECKSUMMED_FRAMINGS = ("hdlc", "mbus")


@pytest.mark.parametrize("checksummed", [True, False], ids=["hdlc-mbus", "unframed"])
def test_vectors_back_to_back_in_one_stream(checksummed: bool) -> None:
    # Plain vectors of one kind of link concatenated, with noise between them. (A link
    # carries either checksummed frames or bare APDUs; see the next test.)
    rng = random.Random(5)
    plain = [
        v
        for v in VECTORS
        if not v["encrypted"]
        and v["id"] not in NEGATIVE
        and (v["framing"] in CHECKSUMMED_FRAMINGS) == checksummed
    ]
    assert plain
    stream = b""
    for vec in plain:
        stream += bytes(rng.randbytes(11)).replace(b"\x7e", b"\x00") + bytes.fromhex(vec["hex"])
    results = decode_capture(stream)
    expected = sum(len([r for r in _decode(v) if isinstance(r, Push)]) for v in plain)
    assert len([r for r in results if isinstance(r, Push)]) == expected


def test_no_unchecked_apdus_on_a_link_with_checksummed_frames() -> None:
    # Once HDLC frames were seen, a bare APDU can only be the payload of a frame whose
    # header was damaged: it must not be decoded without its FCS.
    frame = bytearray(bytes.fromhex(BY_ID["lg-e360-ch-hdlc-plain-vse2026-scs"]["hex"]))
    damaged = bytearray(frame)
    damaged[1] = 0x00  # format byte no longer A0..AF: the hunter sees no HDLC header
    damaged[-4] ^= 0x01  # and a value inside (the last current) is corrupt too
    alone = [r for r in decode_capture(bytes(damaged)) if isinstance(r, Push)]
    assert len(alone) == 1  # an unframed link: the APDU inside is all there is
    results = decode_capture(bytes(frame + damaged))
    assert len([r for r in results if isinstance(r, Push)]) == 1
