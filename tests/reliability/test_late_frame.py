"""Real time: an E450 whose last block-transfer frame comes about 3 s after the others.

Reported with gPlug adapters (esphome PR 16942: the meter waits about 3 s before it sends
the last HDLC frame of a push). Readers that time a push out after a short silence drop
every push of such a meter. Here the real reader, coordinator and entities get, on a
ser2net-like TCP port, a push every 5 s whose last frame follows 3 s after the first six:
every push must reach the sensors, none may be counted as an error, no sensor may go
unavailable, and the push must be in the sensors right after its last frame (measured).
"""

from __future__ import annotations

import asyncio
from typing import cast

from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
import pytest

from custom_components.swiss_meter_cii.coordinator import SwissMeterCoordinator

from .test_realtime import MeterPeer, add_through_wizard, states, value_sensors, wait_for

pytestmark = [
    pytest.mark.usefixtures("enable_custom_integrations", "socket_enabled"),
    pytest.mark.timeout(180),
]

PERIOD = 5.0  # seconds between pushes (the shortest period reported for these meters)
LATE = 3.0  # the last frame's delay
PUSHES = 4  # measured after the wizard


class LateFramePeer(MeterPeer):
    """Sends each push's frames, then the last one LATE seconds later."""

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        self.last_frame_sent: list[float] = []

    async def _push_loop(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            push = self.sim.next_push(elapsed=PERIOD)
            cut = push.rindex(b"\x7e\x7e") + 1  # frames are flagged on both sides
            self._send(push[:cut])
            await asyncio.sleep(LATE)
            if self._send(push[cut:]):
                self.last_frame_sent.append(loop.time())
            due += PERIOD
            await asyncio.sleep(max(0.0, due - loop.time()))


async def test_a_push_with_a_late_last_frame_is_never_dropped(hass: HomeAssistant) -> None:
    peer = LateFramePeer(seed=41)
    await peer.start()
    try:
        entry = await add_through_wizard(hass, peer)
        coordinator = cast(SwissMeterCoordinator, entry.runtime_data.coordinator)
        assert await wait_for(lambda: coordinator.stats.pushes >= 1, 3 * PERIOD) is not None
        await asyncio.sleep(0.5)
        sensors = value_sensors(hass, entry)
        registry = er.async_get(hass)
        power = next(
            e
            for e in sensors
            if (item := registry.async_get(e)) and item.unique_id.endswith(":1.7.0.255")
        )
        reader = entry.runtime_data.reader
        loop = asyncio.get_running_loop()
        updated: list[float] = []

        @callback
        def _changed(event: Event[EventStateChangedData]) -> None:
            if event.data["entity_id"] == power:
                updated.append(loop.time())

        unsubscribe = hass.bus.async_listen("state_changed", _changed)
        errors_before = dict(reader.decoder_stats.errors)
        pushes_before = coordinator.stats.pushes
        sent_before = len(peer.last_frame_sent)
        unavailable_seen = False
        deadline = loop.time() + PUSHES * PERIOD + 2
        while loop.time() < deadline:
            unavailable_seen |= STATE_UNAVAILABLE in states(hass, sensors)
            await asyncio.sleep(0.2)
        unsubscribe()

        sent = peer.last_frame_sent[sent_before:]
        assert coordinator.stats.pushes - pushes_before == len(sent) >= PUSHES - 1
        assert dict(reader.decoder_stats.errors) == errors_before
        assert not unavailable_seen
        # Each push is in the sensors right after its last frame (not held back, not lost).
        delays = []
        for last in sent:
            after = [t - last for t in updated if t >= last]
            assert after, "a push with a late last frame never reached the sensors"
            delays.append(min(after))
        assert max(delays) < 1.0, delays
        print(f"\nlate last frame: sensors updated {[round(d * 1000) for d in delays]} ms after it")
        assert await hass.config_entries.async_unload(entry.entry_id)
    finally:
        await peer.stop()
