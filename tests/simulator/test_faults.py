"""FaultInjector: what each fault does to a push, and how often it strikes."""

from __future__ import annotations

import math

import pytest

from simulator import FAULTS, INTACT, FaultInjector, wrong_key
from simulator.faults import DROP, FLIP, GARBAGE, MAX_GARBAGE, REPEAT, TRUNCATE

PUSH = bytes(range(256)) * 2


def test_rates_are_honoured_statistically() -> None:
    rates = {GARBAGE: 0.10, FLIP: 0.05, DROP: 0.04, TRUNCATE: 0.03, REPEAT: 0.02}
    injector = FaultInjector(
        seed=7,
        garbage=rates[GARBAGE],
        flip=rates[FLIP],
        drop=rates[DROP],
        truncate=rates[TRUNCATE],
        repeat=rates[REPEAT],
    )
    n = 20_000
    seen = dict.fromkeys((INTACT, *FAULTS), 0)
    for _ in range(n):
        seen[injector.apply(PUSH).fault] += 1
    assert seen == injector.counts
    rates[INTACT] = 1 - sum(rates.values())
    for kind, rate in rates.items():
        sigma = math.sqrt(n * rate * (1 - rate))
        assert abs(seen[kind] - n * rate) < 4.5 * sigma, (kind, seen[kind])


def test_each_fault_does_what_it_says() -> None:
    def only(kind: str) -> FaultInjector:
        rates = dict.fromkeys(("garbage", "flip", "drop", "truncate", "repeat"), 0.0)
        rates[kind] = 1.0
        return FaultInjector(seed=3, **rates)

    for _ in range(200):
        garbage = only("garbage").apply(PUSH)
        assert garbage.fault == GARBAGE
        assert garbage.data.endswith(PUSH)
        assert 1 <= len(garbage.data) - len(PUSH) <= MAX_GARBAGE

    flips = set()
    injector = only("flip")
    for _ in range(200):
        pushed = injector.apply(PUSH)
        assert len(pushed.data) == len(PUSH)
        diff = [a ^ b for a, b in zip(pushed.data, PUSH, strict=True) if a != b]
        assert len(diff) == 1
        assert bin(diff[0]).count("1") == 1
        flips.add(pushed.data)
    assert len(flips) > 150  # the position varies

    injector = only("drop")
    for _ in range(200):
        data = injector.apply(PUSH).data
        lost = len(PUSH) - len(data)
        assert 1 <= lost <= 3
        assert any(PUSH[:i] + PUSH[i + lost :] == data for i in range(len(data) + 1))

    injector = only("truncate")
    for _ in range(200):
        data = injector.apply(PUSH).data
        assert 1 <= len(data) < len(PUSH)
        assert PUSH.startswith(data)

    repeated = only("repeat").apply(PUSH)
    assert repeated.data == PUSH + PUSH
    assert repeated.push == PUSH
    assert repeated.decodable


def test_no_rates_pass_through_and_decodable_flags() -> None:
    injector = FaultInjector(seed=1)
    assert not injector.active
    pushed = injector.apply(PUSH)
    assert pushed.data == PUSH
    assert pushed.fault == INTACT
    assert pushed.decodable
    assert not FaultInjector(flip=1.0).apply(PUSH).decodable
    assert FaultInjector(truncate=1.0).apply(b"\x7e").fault == INTACT  # nothing to cut


def test_same_seed_same_faults() -> None:
    def run(seed: int) -> list[bytes]:
        injector = FaultInjector(seed=seed, garbage=0.2, flip=0.2, drop=0.2, truncate=0.2)
        return [injector.apply(PUSH).data for _ in range(50)]

    assert run(1) == run(1)
    assert run(1) != run(2)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flip": -0.1}, "between 0 and 1"),
        ({"garbage": 1.5}, "between 0 and 1"),
        ({"drop": 0.6, "truncate": 0.6}, "more than 1"),
    ],
)
def test_rate_validation(kwargs: dict[str, float], message: str) -> None:
    rates = dict.fromkeys(("garbage", "flip", "drop", "truncate", "repeat"), 0.0) | kwargs
    with pytest.raises(ValueError, match=message):
        FaultInjector(seed=0, **rates)


def test_wrong_key_differs_in_every_byte() -> None:
    key = bytes(range(16))
    other = wrong_key(key)
    assert len(other) == 16
    assert all(a != b for a, b in zip(key, other, strict=True))
