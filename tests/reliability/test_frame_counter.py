"""Frame counters and replays (docs/architecture.md "Frame-counter rule").

See also docs/protocol.md, "Frame counter".

The decoder keeps the highest accepted invocation counter per system title: a push whose
counter is not above it is refused as `replay` and counted; three refused pushes with strictly
rising counters re-synchronise (meter reset or replaced), the third is accepted with
`counter_reset=True`. Checked here on real simulator pushes of every profile, encrypted and
authenticated, with generated replay patterns, forged frames and in a running Home Assistant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import logging

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from hypothesis import HealthCheck, assume, given, settings, strategies as st
import pytest

from custom_components.swiss_meter_cii.decoder import (
    ErrorEvent,
    ErrorKind,
    Push,
    StreamDecoder,
)
from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, PROFILES, MeterSimulator, encoder as enc
from simulator.profiles import Identity
from tests.integration.conftest import FakeLink, entity_id, entry_for, settle, setup_entry

from .harness import START, ZURICH, values_of

SECURITIES = {"key": (DEFAULT_KEY, None), "key+gak": (DEFAULT_KEY, DEFAULT_AUTH_KEY)}


@dataclass(frozen=True, slots=True)
class Frame:
    """One push on the wire with the counter it carries and the values inside."""

    counter: int
    wire: bytes
    values: dict[str, object]


class Meter:
    """A simulated meter whose invocation counter the test chooses for every push."""

    def __init__(self, profile: str, security: str, seed: int = 1) -> None:
        key, auth = SECURITIES[security]
        self.sim = MeterSimulator(profile, key=key, auth_key=auth, seed=seed, start=START)
        self.key, self.auth = key, auth
        self.identity = Identity(self.sim.system_title, "", "")

    def push(self, counter: int, system_title: bytes | None = None) -> Frame:
        """The next push, ciphered with invocation counter `counter`."""
        self.sim.next_push(elapsed=5.0)
        return self.cipher(self.sim.last_apdu, counter, system_title)

    def cipher(self, apdu: bytes, counter: int, system_title: bytes | None = None) -> Frame:
        """`apdu` ciphered with `counter` and framed as this meter frames its pushes."""
        assert self.key is not None
        assert self.sim.security_control is not None
        title = system_title or self.sim.system_title
        ciphered = enc.general_glo_ciphering(
            apdu,
            key=self.key,
            system_title=title,
            frame_counter=counter,
            security_control=self.sim.security_control,
            auth_key=self.auth,
        )
        identity = Identity(title, "", "")
        wire = PROFILES[self.sim.profile].frame(ciphered, identity, mbus_overflow=False)
        return Frame(counter, wire, dict(self.sim.last_values))

    def decoder(self) -> StreamDecoder:
        """A decoder configured like the integration for this meter."""
        return StreamDecoder(
            key=self.key, auth_key=self.auth, model=self.sim.model, local_tz=ZURICH
        )


def outcome(results: Sequence[Push | ErrorEvent]) -> Push | ErrorKind:
    """The single push or error kind one frame produced."""
    assert len(results) == 1, results
    (result,) = results
    return result if isinstance(result, Push) else result.kind


CASES = [(profile, security) for profile in PROFILES for security in SECURITIES]


@pytest.mark.parametrize(("profile", "security"), CASES)
def test_replays_are_refused_and_counted(profile: str, security: str) -> None:
    meter = Meter(profile, security)
    decoder = meter.decoder()
    first, second = meter.push(1000), meter.push(1001)
    assert isinstance(outcome(decoder.feed(first.wire)), Push)
    assert isinstance(outcome(decoder.feed(second.wire)), Push)
    assert outcome(decoder.feed(second.wire)) is ErrorKind.REPLAY  # the same frame again
    assert outcome(decoder.feed(first.wire)) is ErrorKind.REPLAY  # an older one
    same_counter = meter.push(1001)  # new values, reused counter: still not above 1001
    assert outcome(decoder.feed(same_counter.wire)) is ErrorKind.REPLAY
    pushed = outcome(decoder.feed(meter.push(1002).wire))
    assert isinstance(pushed, Push)
    assert not pushed.counter_reset
    assert decoder.stats.errors[ErrorKind.REPLAY] == 3
    assert decoder.stats.pushes == 3


@pytest.mark.parametrize(("profile", "security"), CASES)
def test_a_meter_reset_costs_two_pushes_then_tracking_restarts(profile: str, security: str) -> None:
    """The documented re-sync: the user is never blinded for more than two pushes."""
    meter = Meter(profile, security)
    decoder = meter.decoder()
    for counter in (70_000, 70_001):
        assert isinstance(outcome(decoder.feed(meter.push(counter).wire)), Push)
    reset = [meter.push(counter) for counter in (1, 2, 3, 4)]
    assert outcome(decoder.feed(reset[0].wire)) is ErrorKind.REPLAY
    assert outcome(decoder.feed(reset[1].wire)) is ErrorKind.REPLAY
    third = outcome(decoder.feed(reset[2].wire))
    assert isinstance(third, Push)
    assert third.counter_reset
    assert third.frame_counter == 3
    assert values_of(third) == reset[2].values
    fourth = outcome(decoder.feed(reset[3].wire))
    assert isinstance(fourth, Push)
    assert not fourth.counter_reset
    # Tracking restarted at the new counters: the reset pushes themselves are now replays.
    assert outcome(decoder.feed(reset[2].wire)) is ErrorKind.REPLAY


def test_forged_frames_cannot_force_a_resync() -> None:
    """Without the key, rising counters in forged frames count for nothing."""
    meter = Meter("e360", "key+gak")
    decoder = meter.decoder()
    assert isinstance(outcome(decoder.feed(meter.push(5000).wire)), Push)
    stranger = Meter("e360", "key+gak")
    stranger.key = bytes(range(100, 116))  # ciphered with another key, the meter's title
    for counter in (1, 2, 3, 4):
        forged = stranger.cipher(meter.sim.last_apdu, counter, meter.sim.system_title)
        assert outcome(decoder.feed(forged.wire)) in (ErrorKind.WRONG_KEY, ErrorKind.AUTH_FAILED)
    # The refusals above did not count towards a re-sync; an old frame is still a replay.
    assert outcome(decoder.feed(meter.push(4999).wire)) is ErrorKind.REPLAY
    pushed = outcome(decoder.feed(meter.push(5001).wire))
    assert isinstance(pushed, Push)
    assert not pushed.counter_reset
    assert decoder.stats.errors.get(ErrorKind.REPLAY) == 1


def test_two_meters_on_one_bus_keep_their_own_counters() -> None:
    one, two = Meter("kaifa_ma309m", "key", seed=1), Meter("kaifa_ma309m", "key", seed=2)
    assert one.sim.system_title != two.sim.system_title
    decoder = StreamDecoder(key=DEFAULT_KEY, model="kaifa_ma309m", local_tz=ZURICH)
    results: list[Push | ErrorEvent] = []
    for step in range(20):
        results += decoder.feed(one.push(10_000 + step).wire)
        results += decoder.feed(two.push(50 + step).wire)  # far below meter one's counters
    assert all(isinstance(r, Push) and not r.counter_reset for r in results)


# A stream of genuine pushes (rising counters) with copies of earlier frames replayed
# in between: ("push",) or ("replay", which earlier frame).
OPERATIONS = st.lists(
    st.one_of(
        st.just(("push", 0)),
        st.tuples(st.just("replay"), st.integers(min_value=0, max_value=1000)),
    ),
    min_size=1,
    max_size=40,
)


def _resync_possible(counters: Sequence[int | None]) -> bool:
    """Whether three consecutive replays have strictly rising counters (the documented
    exception: indistinguishable from a meter that restarted its counter)."""
    run: list[int] = []
    for counter in counters:
        if counter is None:
            run = []
            continue
        run = [*run, counter] if run and counter > run[-1] else [counter]
        if len(run) >= 3:
            return True
    return False


@pytest.mark.parametrize("security", list(SECURITIES))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(operations=OPERATIONS, gaps=st.lists(st.integers(1, 1000), min_size=40, max_size=40))
def test_single_replays_never_pass(
    security: str, operations: list[tuple[str, int]], gaps: list[int]
) -> None:
    """Any mix of genuine pushes and replayed old frames: every replay refused, once.

    Counters jump by random gaps (meters skip counters). Replays are copies of frames sent
    before, in any order; only three rising replays in a row may re-synchronise.
    """
    meter = Meter("e360", security)
    decoder = meter.decoder()
    sent: list[Frame] = []
    stream: list[tuple[Frame, bool]] = []  # frame, genuine
    counter = 100
    for number, (kind, which) in enumerate(operations):
        if kind == "push" or not sent:
            counter += gaps[number]
            frame = meter.push(counter)
            sent.append(frame)
            stream.append((frame, True))
        else:
            stream.append((sent[which % len(sent)], False))
    assume(not _resync_possible([None if genuine else f.counter for f, genuine in stream]))
    replays = 0
    for frame, genuine in stream:
        result = outcome(decoder.feed(frame.wire))
        if genuine:
            assert isinstance(result, Push), result
            assert not result.counter_reset
            assert values_of(result) == frame.values
        else:
            replays += 1
            assert result is ErrorKind.REPLAY
    assert decoder.stats.errors.get(ErrorKind.REPLAY, 0) == replays


async def test_a_meter_reset_in_home_assistant(
    hass: HomeAssistant,
    enable_custom_integrations: None,
    fake_link: FakeLink,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """After a reset the sensors keep updating (two pushes refused), one log line says why."""
    caplog.set_level(logging.INFO)
    meter = Meter("e450", "key")
    entry = entry_for(meter.sim)
    coordinator = await setup_entry(hass, entry)
    counters = [900_000, 900_001, 1, 2, 3, 4, 5]
    for counter in counters:
        fake_link.send(meter.push(counter).wire)
        await settle(hass)
    stats = coordinator.stats
    assert stats.pushes == len(counters) - 2
    assert stats.errors[ErrorKind.REPLAY] == 2
    assert stats.frame_counter == 5
    power = hass.states.get(entity_of(hass, meter.sim.meter_number, "1-0:1.7.0.255"))
    assert power is not None
    assert power.state != STATE_UNAVAILABLE
    assert float(power.state) == float(str(meter.sim.last_values["1-0:1.7.0.255"][0]))
    restarts = [r for r in caplog.records if "restarted its frame counter" in r.getMessage()]
    assert len(restarts) == 1
    assert await hass.config_entries.async_unload(entry.entry_id)


def entity_of(hass: HomeAssistant, meter_number: str, obis: str) -> str:
    """Entity id of a meter value sensor."""
    return entity_id(hass, f"{meter_number}_{obis}")
