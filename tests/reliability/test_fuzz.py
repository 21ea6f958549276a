"""A short run of scripts/fuzz (tests/reliability/fuzzer.py) with every oracle, plus its parts.

The long run (>= 1,000,000 inputs, README "Reliability") uses the same engine; here a few
thousand inputs with a fixed seed must break no oracle, the long-lived decoders' state must
stay bounded, and the driver's own machinery (checksum repair, determinism, the oracles
themselves) must work, or the long run would prove nothing.
"""

from __future__ import annotations

import os
import random
from unittest.mock import patch

import pytest

from custom_components.swiss_meter_cii.decoder import (
    ErrorEvent,
    ErrorKind,
    Push,
    StreamDecoder,
    framing_apdus,
)
from custom_components.swiss_meter_cii.decoder.axdr_sizer import ValueSizer
from custom_components.swiss_meter_cii.decoder.layouts import push_list, walker
from simulator import encoder as enc

from .fuzzer import (
    Corpus,
    Fuzzer,
    FuzzInput,
    deep_size,
    iter_inputs,
    mutate_behind_checksum,
)

INPUTS = int(os.environ.get("RELIABILITY_FUZZ_INPUTS", "4000"))
STATE_BOUND_KIB = 256  # one decoder: 32 KiB buffer, 64 frame counters, the capped caches


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus.build()


def test_short_run_breaks_no_oracle(corpus: Corpus) -> None:
    fuzzer = Fuzzer(seed=20250, corpus=corpus)
    # Tiny layout caches: their (bounded) filling would hide a real leak in a short run.
    with (
        patch.object(walker, "_SLOT_CACHE_MAX", 8),
        patch.object(push_list, "_PLAN_CACHE_MAX", 2),
    ):
        report = fuzzer.run(INPUTS)
    print("\n" + report.summary())
    assert report.ok, report.summary()
    assert report.inputs == INPUTS
    # The run reached every layer, not just the checksum check.
    assert report.pushes > INPUTS // 20
    for kind in ("checksum", "framing", "malformed", "wrong_key", "replay"):
        assert report.events[kind] > 0, kind
    assert set(report.sources) >= {"vector", "vector-fixed", "apdu", "wire", "random", "dsmr"}
    # Memory: what a long-lived decoder keeps is bounded (buffer, counters, small caches).
    assert report.live_decoders >= 10
    largest = max(one for _, _, one in report.state_kib)
    assert largest < STATE_BOUND_KIB, report.state_kib


def test_inputs_depend_only_on_seed_and_index(corpus: Corpus) -> None:
    first = [(i.data, i.chunks, i.key) for i in iter_inputs(7, 50)]
    again = [(i.data, i.chunks, i.key) for i in iter_inputs(7, 50)]
    other = [(i.data, i.chunks, i.key) for i in iter_inputs(8, 50)]
    assert first == again
    assert first != other
    assert all(sum(chunks) == len(data) for data, chunks, _ in first)


def test_mutation_behind_the_checksum_passes_the_checksum(corpus: Corpus) -> None:
    """Repaired frames must reach the layers behind the FCS, or that source is useless."""
    rng = random.Random(3)
    plain = [s for s in corpus.sim_wire if ":plain:native" in s.source and s.spans]
    checksum_errors = pushes = 0
    for _ in range(300):
        seed = rng.choice(plain)
        results = StreamDecoder(model=seed.model).feed(mutate_behind_checksum(rng, seed))
        checksum_errors += sum(
            1 for r in results if isinstance(r, ErrorEvent) and r.kind is ErrorKind.CHECKSUM
        )
        pushes += sum(1 for r in results if isinstance(r, Push))
    assert checksum_errors == 0
    assert pushes > 0  # some damage (e.g. a value byte) still decodes: deep enough


def test_a_raising_decoder_is_a_finding(corpus: Corpus) -> None:
    fuzzer = Fuzzer(seed=1, corpus=corpus)
    item = FuzzInput(b"\x7e\xa0", (2,), None, None, "auto", "planted", fresh=True, flush=False)
    with patch.object(StreamDecoder, "feed", side_effect=RuntimeError("planted")):
        fuzzer.feed(0, item)
    assert fuzzer.report.finding_counts == {"exception": 1}


def test_an_internal_error_event_is_a_finding(corpus: Corpus) -> None:
    """The decoder turns its own exceptions into events; the fuzzer must still see them."""
    fuzzer = Fuzzer(seed=1, corpus=corpus)
    wire = corpus.sim_wire[0]
    item = FuzzInput(wire.data, (len(wire.data),), None, None, "auto", "planted", True, False)
    with patch.object(
        StreamDecoder, "_on_frame", side_effect=ZeroDivisionError("planted"), autospec=True
    ):
        fuzzer.feed(0, item)
    assert fuzzer.report.finding_counts["internal-error"] >= 1


def test_a_key_in_an_event_is_a_finding(corpus: Corpus) -> None:
    fuzzer = Fuzzer(seed=1, corpus=corpus)
    leaky = ErrorEvent(ErrorKind.WRONG_KEY, f"key {bytes(range(16)).hex()} is wrong")
    item = FuzzInput(b"x", (1,), None, None, "auto", "planted", fresh=True, flush=False)
    with patch.object(StreamDecoder, "feed", return_value=[leaky]):
        fuzzer.feed(0, item)
    assert "key-in-detail" in fuzzer.report.finding_counts


def test_deep_size_sees_a_growing_decoder() -> None:
    decoder = StreamDecoder()
    before = deep_size(decoder)
    # The first 20,000 bytes of a 30 KB bare Data-Notification: the hunter keeps them.
    entries = [
        enc.structure([enc.octet_string(bytes(6)), enc.long_unsigned(i)]) for i in range(2000)
    ]
    decoder.feed(enc.data_notification(1, enc.array(entries), None)[:20000])
    assert deep_size(decoder) > before + 10_000


def test_bare_apdu_in_small_chunks_is_parsed_in_linear_time() -> None:
    """Count the bytes the frame hunter walks, not the time: no timing in unit tests.

    A bare Data-Notification has no length field: the hunter sizes it with an A-XDR walk
    that keeps its place between reads (framing_apdus.ApduSizer). A walk that started over
    with every 16-byte read would look at about len(apdu)**2 / 32 bytes.
    """
    body = enc.array(
        [
            enc.structure([enc.octet_string(bytes(6)), enc.double_long_unsigned(i)])
            for i in range(300)
        ]
    )
    apdu = enc.data_notification(1, body, None)
    walked = 0

    class CountingSizer(ValueSizer):
        def scan(self, buf: bytes | bytearray, start: int) -> int | None:
            nonlocal walked
            before = self.offset
            size = super().scan(buf, start)
            walked += self.offset - before
            return size

    decoder = StreamDecoder()
    with patch.object(framing_apdus, "ValueSizer", CountingSizer):
        pushes = []
        for offset in range(0, len(apdu), 16):
            pushes += [r for r in decoder.feed(apdu[offset : offset + 16]) if isinstance(r, Push)]
    assert len(pushes) == 1  # the walk found the end: the push decoded
    assert len(apdu) // 2 < walked <= 2 * len(apdu), f"walked {walked:,} bytes of {len(apdu):,}"
