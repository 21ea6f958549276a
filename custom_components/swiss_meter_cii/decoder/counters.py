"""The security context of a push being decoded, and the frame-counter rule that checks it.

docs/architecture.md, "Frame-counter rule (replays)"; docs/protocol.md, "Frame counter".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .push import Security

RESYNC_REFUSALS = 3  # strictly rising refused counters that re-synchronise (architecture.md)
_MAX_TITLES = 64  # system titles tracked per connection (bounded against hostile input)


@dataclass(slots=True)
class Context:
    """What the security layer learned about the push being decoded."""

    system_title: bytes | None = None
    frame_counter: int | None = None
    security: Security = Security.NONE
    counter_reset: bool = False
    inside: bool = False  # decoding the plaintext of a ciphered APDU


# Context of frames outside any ciphering. Never changed: only a ciphered push gets (and
# changes) a context of its own, so one instance serves every plain frame.
OUTER = Context()


@dataclass(slots=True)
class _Counter:
    """Frame-counter tracking for one system title."""

    last: int
    refused: list[int] = field(default_factory=list)


class FrameCounters:
    """The highest accepted invocation counter per system title, for one connection."""

    __slots__ = ("_counters",)

    def __init__(self) -> None:
        """Track no title yet."""
        self._counters: dict[bytes, _Counter] = {}

    def check(self, ctx: Context) -> str | None:
        """Frame-counter rule of architecture.md; returns why a push is refused, or None.

        A counter above the highest accepted one passes. Three consecutive refusals with
        strictly rising counters mean the meter restarted its counter: the third passes
        with `counter_reset`. Single replays or out-of-order old frames never pass.
        """
        title, counter = ctx.system_title, ctx.frame_counter
        if counter is None:
            return None
        key = title or b""
        state = self._counters.get(key)
        if state is None:
            if len(self._counters) >= _MAX_TITLES:
                del self._counters[next(iter(self._counters))]
            self._counters[key] = _Counter(counter)
            return None
        if counter > state.last:
            state.last = counter
            state.refused.clear()
            return None
        refused = state.refused
        if refused and counter > refused[-1]:
            refused.append(counter)
        else:
            refused[:] = [counter]
        if len(refused) >= RESYNC_REFUSALS:
            state.last = counter
            refused.clear()
            ctx.counter_reset = True
            return None
        return f"frame counter {counter} is not above {state.last}"
