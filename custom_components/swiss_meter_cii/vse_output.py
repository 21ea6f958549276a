"""Publish every accepted push in the Swiss VSE format through Home Assistant's MQTT.

Topic `dt/{group}/{source}/ds`, payload `{"meter": {"ts": <ISO 8601>, "<C.D.E>": value}}`, as
described in docs/protocol.md "Standard outputs" (VSE RL-DSP CH2024 as implemented by
https://github.com/scs/smartmeter-datacollector, MqttSinkRlDsp). We own no MQTT client: the
user's MQTT integration carries the messages, so broker settings live in one place.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
import json
import logging
import re

from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.util import dt as dt_util

from .decoder.layouts import CLOCK_OBIS
from .decoder.obis import VALUE_ATTRIBUTE, Obis
from .decoder.push import Push, Reading
from .meter_state import MeterIdentity
from .options import MeterOptions
from .runtime_data import SwissMeterConfigEntry

_LOGGER = logging.getLogger(__name__)

# One topic level: no separators or wildcards (MQTT 3.1.1 section 4.7), no spaces.
_TOPIC_LEVEL = re.compile(r"^[^/#+\s\x00]+$")


def valid_topic_level(text: str) -> bool:
    """Whether `text` can be one level of an MQTT topic we publish on."""
    return bool(_TOPIC_LEVEL.match(text))


def vse_topic(group: str, source: str) -> str:
    """Build the VSE data-set topic of one meter."""
    return f"dt/{group}/{source}/ds"


def short_obis(code: str) -> str | None:
    """'1-0:1.8.0.255' -> '1.8.0', the VSE key; None for keys that are no code's value.

    The VSE keys drop value groups A, B and F. A sub-meter relayed on M-Bus channel n keeps
    them ('0-1:24.2.1'): otherwise the gas and the water reading would share one key.
    """
    try:
        obis = Obis.parse(code)
    except ValueError:
        return None
    if obis.attribute != VALUE_ATTRIBUTE:
        return None  # a capture time has no VSE key
    if obis.a == 0 and obis.b != 0:
        return f"{obis.a}-{obis.b}:{obis.short}"
    return obis.short


def vse_value(reading: Reading) -> float | int | str | None:
    """Convert a reading to JSON: numbers stay numbers (Decimal -> float), text stays text."""
    value = reading.value
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str):
        return value
    return None  # dates and raw bytes have no VSE key


def vse_payload(push: Push, timestamp: datetime) -> str:
    """Build the JSON payload of one push (the clock register becomes `ts`)."""
    meter: dict[str, float | int | str] = {"ts": timestamp.isoformat()}
    for code, reading in push.values.items():
        key = short_obis(code)
        if key is None or code == CLOCK_OBIS:
            continue
        value = vse_value(reading)
        if value is not None:
            meter[key] = value
    return json.dumps({"meter": meter})


class VseMqttOutput:
    """Forwards each push of one entry to MQTT; warns once while MQTT is unavailable."""

    def __init__(self, hass: HomeAssistant, entry: SwissMeterConfigEntry) -> None:
        """Keep the entry (its options and coordinator) for the pushes to come."""
        self.hass = hass
        self.entry = entry
        self.options: MeterOptions = entry.runtime_data.options
        self.unavailable_logged = False

    @callback
    def handle_push(self, push: Push, meter: MeterIdentity, timestamp: datetime | None) -> None:
        """Publish in a task: the coordinator's push path stays synchronous."""
        source = self.options.vse_source or meter.number
        topic = vse_topic(self.options.vse_group, source)
        payload = vse_payload(push, timestamp or push.timestamp or dt_util.now())
        self.entry.async_create_background_task(
            self.hass, self._publish(topic, payload), f"VSE publish {topic}"
        )

    async def _publish(self, topic: str, payload: str) -> None:
        """QoS 0, not retained (as the reference sink): a push is stale by the next one."""
        try:
            # Imported here: without the MQTT integration its client library may be absent.
            from homeassistant.components import mqtt

            await mqtt.async_publish(self.hass, topic, payload, qos=0, retain=False)
        except (HomeAssistantError, ImportError) as err:
            if not self.unavailable_logged:
                self.unavailable_logged = True
                _LOGGER.warning(
                    "%s: the VSE MQTT output is on but MQTT cannot publish (%s); set up the "
                    "MQTT integration, publishing resumes by itself",
                    self.entry.title,
                    err,
                )
            return
        if self.unavailable_logged:
            self.unavailable_logged = False
            _LOGGER.info("%s: the VSE MQTT output publishes again", self.entry.title)


@callback
def async_setup_vse_output(hass: HomeAssistant, entry: SwissMeterConfigEntry) -> None:
    """Subscribe the output to the entry's pushes when the option is on (removed on unload)."""
    if not entry.runtime_data.options.vse_mqtt:
        return
    output = VseMqttOutput(hass, entry)
    coordinator = entry.runtime_data.coordinator
    remove: CALLBACK_TYPE = coordinator.async_add_push_listener(output.handle_push)
    entry.async_on_unload(remove)
