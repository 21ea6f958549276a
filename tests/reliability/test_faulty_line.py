"""A faulty line at decoder level: thousands of pushes per profile through every fault mode.

Each profile runs plain, encrypted (SC 0x20/0x21) and authenticated (SC 0x30/0x31) with
garbage between frames, flipped bits, dropped bytes, truncated and repeated pushes (8 % each,
fixed seeds), fed to one StreamDecoder in serial-read-sized chunks as the reader does. The
rules and the matching of decoded pushes to sent ones are in tests/reliability/harness.py.
"""

from __future__ import annotations

import os

import pytest

from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, PROFILES

from .harness import run_line

PUSHES = int(os.environ.get("RELIABILITY_LINE_PUSHES", "1200"))
RATES = {"garbage": 0.08, "flip": 0.08, "drop": 0.08, "truncate": 0.08, "repeat": 0.08}
SECURITY: dict[str, tuple[bytes | None, bytes | None]] = {
    "plain": (None, None),
    "key": (DEFAULT_KEY, None),
    "key+gak": (DEFAULT_KEY, DEFAULT_AUTH_KEY),
}
CASES = [(profile, security) for profile in PROFILES for security in SECURITY]


@pytest.mark.parametrize(("profile", "security"), CASES)
def test_noisy_line(profile: str, security: str) -> None:
    """Every good push exactly once with its exact values; every damaged one reported.

    Also: no push with values the meter never sent, damage never reported as a key or
    layout problem, at most two events per damaged push, one replay per repeated push.
    """
    key, auth = SECURITY[security]
    run = run_line(
        profile,
        key=key,
        auth_key=auth,
        pushes=PUSHES,
        seed=31 + CASES.index((profile, security)),
        rates=RATES,
        security=security,
    )
    faults = run.faults
    assert all(faults[kind] > PUSHES // 25 for kind in (*RATES, "intact")), faults
    problems = run.problems()
    assert not problems, f"{len(problems)} problems:\n" + "\n".join(problems[:5])
    decodable = sum(faults[kind] for kind in ("intact", "garbage", "repeat"))
    assert len(run.matched) >= decodable  # a damaged push may still decode (exactly)
    print(
        f"\n{profile}/{security}: {dict(faults)} -> {len(run.matched)} pushes, errors "
        f"{dict(run.errors)}; damage reported one event per push in "
        f"{run.exactness():.1%} of the cases"
    )
