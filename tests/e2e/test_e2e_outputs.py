"""The standard outputs on a real Home Assistant: VSE over a real MQTT broker, Annex D over REST.

A mosquitto broker on loopback, Home Assistant's own MQTT integration set up through its wizard,
the VSE output switched on in our options form (as a user does): each push of the simulated
meter must appear on dt/{group}/{meter}/ds in the VSE shape, with the values the simulator
pushed. Then the `get_reading` action over REST returns the Annex D data set.
"""

from __future__ import annotations

from datetime import datetime
import json
from pathlib import Path
import queue
import time
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from custom_components.swiss_meter_cii.services import ANNEX_D

from .home import Home, integration_problems, running_home

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

GROUP = "e2e"


def _subscribe(home: Home, topic: str) -> tuple[mqtt.Client, queue.Queue[tuple[str, bytes]]]:
    """A client of our own on the same broker, collecting what arrives on `topic`."""
    received: queue.Queue[tuple[str, bytes]] = queue.Queue()
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)  # type: ignore[attr-defined]
    client.on_message = lambda _c, _u, msg: received.put((msg.topic, msg.payload))
    assert home.mqtt_port is not None
    client.connect("127.0.0.1", home.mqtt_port)
    client.subscribe(topic)
    client.loop_start()
    return client, received


def _vse_matches(payload: dict[str, Any], values: dict[str, Any]) -> list[str]:
    """Differences between one VSE message and one simulator push ('C.D.E' -> number)."""
    wrong = []
    for code, (value, _unit) in values.items():
        ab, _, rest = code.partition(":")
        key = rest.rsplit(".", 1)[0]  # '1-1:1.8.0.255' -> '1.8.0'
        if ab.startswith("0-") and ab != "0-0":
            key = f"{ab}:{key}"  # a sub-meter keeps its channel: '0-1:24.2.1'
        if isinstance(value, datetime) or code.startswith("0-0:1.0.0") or "/" in code:
            continue  # the clock is `ts`; sub-meter reading times have no VSE key
        sent = payload.get(key)
        if isinstance(value, str):
            if sent != value:
                wrong.append(f"{key}: {sent!r} != {value!r}")
        elif sent is None or abs(float(sent) - float(value)) > 1e-9 * max(1.0, abs(float(value))):
            wrong.append(f"{key}: {sent!r} != {value!r}")
    return wrong


def test_vse_mqtt_and_annex_d(socket_enabled: None, tmp_path: Path) -> None:
    with running_home(tmp_path, mqtt=True) as home:
        client = home.client
        client.run_config_flow(_broker_answers(home.mqtt_port), handler="mqtt", timeout=60)
        meter = home.twin.meter_number
        topic = f"dt/{GROUP}/{meter}/ds"
        subscriber, received = _subscribe(home, "dt/#")
        try:
            client.run_options_flow(
                home.entry_id,
                {
                    "min_interval": 0,
                    "unknown_obis": True,
                    "time_source": "meter",
                    "vse_output": {"vse_mqtt": True, "vse_group": GROUP, "vse_source": ""},
                },
            )
            messages: list[tuple[str, bytes]] = []
            deadline = time.monotonic() + 30
            while len(messages) < 3 and time.monotonic() < deadline:
                try:
                    messages.append(received.get(timeout=1))
                except queue.Empty:
                    continue
        finally:
            subscriber.loop_stop()
            subscriber.disconnect()
        assert len(messages) >= 3, f"fewer than 3 pushes on MQTT within 30 s: {messages}"
        stamps = []
        for got_topic, raw in messages:
            assert got_topic == topic
            document = json.loads(raw)
            assert set(document) == {"meter"}, document
            data = document["meter"]
            stamp = datetime.fromisoformat(data.pop("ts"))
            assert stamp.tzinfo is not None
            stamps.append(stamp)
            # One message is one push: all its values equal one push of the simulator.
            problems = [_vse_matches(data, push) for push in home.twin.pushes]
            assert any(not p for p in problems), min(problems, key=len)
            assert "1.8.0" in data
            assert "0-1:24.2.1" in data  # gas
            assert "0-2:24.2.1" in data  # water
        assert stamps == sorted(stamps)
        assert len(set(stamps)) == len(stamps)  # every push once

        reading = client.call_service(
            "swiss_meter_cii", "get_reading", {"config_entry_id": home.entry_id}, response=True
        )
        assert reading["meter_number"] == meter
        assert datetime.fromisoformat(reading["timestamp"]).tzinfo is not None
        values = reading["values"]
        assert list(values) == list(ANNEX_D)
        states = {s["entity_id"]: s for s in client.states()}
        voltage = next(s for s in states.values() if s["entity_id"].endswith("_voltage_l1"))
        assert values["1-0:32.7.0.255"]["unit"] == "V"
        assert abs(values["1-0:32.7.0.255"]["value"] - float(voltage["state"])) <= 5
        assert values["1-0:1.8.0.255"]["unit"] == "Wh"
        assert values["1-0:1.8.1.255"] is not None  # the E450's 1-1:1.8.1 (channel 1)
        assert values["0-0:96.1.1.255"] == {"value": meter, "unit": None}
        assert values["1-0:15.35.0.255"] is None  # not sent: empty, but present
        assert not integration_problems(home.config_dir)


def _broker_answers(port: int | None) -> Any:
    from scripts.ha_bootstrap.client import FlowAnswers

    assert port is not None
    return FlowAnswers({"broker": {"broker": "127.0.0.1", "port": port}})
