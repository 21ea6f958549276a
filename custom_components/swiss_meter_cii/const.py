"""Constants shared by the integration's modules (config keys are a public contract)."""

from __future__ import annotations

from typing import Final

DOMAIN: Final = "swiss_meter_cii"

# Config entry data (field keys of the setup wizard; external tests use them).
CONF_PORT: Final = "port"
CONF_SERIAL_FORMAT: Final = "serial_format"
CONF_MODEL: Final = "model"
CONF_ENCRYPTION_KEY: Final = "encryption_key"
CONF_AUTHENTICATION_KEY: Final = "authentication_key"

# Serial formats: "auto" probes the list in order and stores the one that worked.
SERIAL_FORMAT_AUTO: Final = "auto"
SERIAL_FORMATS: Final[tuple[str, ...]] = (
    "2400_8E1",
    "2400_8N1",
    "9600_8N1",
    "9600_8E1",
    "38400_8N1",
    "115200_8N1",
)
# The Austrian adapter concept asks the reader to find the meter's speed by itself.
PROBE_ORDER: Final[tuple[str, ...]] = ("2400_8E1", "9600_8N1", "9600_8E1", "115200_8N1")

# Entry data written by the integration itself: push list -> interval in seconds, measured by
# the wizard's live check and by each run, so availability knows each list's rhythm at once.
CONF_PUSH_INTERVALS: Final = "push_intervals"

# Options.
CONF_MIN_INTERVAL: Final = "min_interval"  # seconds between state writes, 0 = every push
CONF_SCALER_OVERRIDES: Final = "scaler_overrides"  # "1-0:32.7.0=-1, 1-0:31.7.0=-2"
CONF_UNKNOWN_OBIS: Final = "unknown_obis"  # create (disabled) entities for unknown codes
CONF_TIME_SOURCE: Final = "time_source"  # "meter" or "receive"
TIME_SOURCE_METER: Final = "meter"
TIME_SOURCE_RECEIVE: Final = "receive"

DEFAULT_MIN_INTERVAL: Final = 0
DEFAULT_UNKNOWN_OBIS: Final = True
DEFAULT_TIME_SOURCE: Final = TIME_SOURCE_METER

# Runtime.
BACKOFF_MIN: Final = 1.0
BACKOFF_MAX: Final = 60.0
MIN_SILENCE_TIMEOUT: Final = 30.0  # entities go unavailable after 3x push interval, at least this
PROBE_TIMEOUT: Final = 60.0  # live check in the wizard: wait up to this for two pushes
# The reader's watchdog, until two pushes have shown the meter's rhythm, assumes the slowest one
# seen in the field, so that a meter pushing once a minute is not cut off.
SLOWEST_PUSH_INTERVAL: Final = 60.0
# Availability, until a list's interval is known (measured, or stored by the wizard and by
# earlier runs), assumes this: unavailable 30 s after the last push. Assuming the slowest
# (60 s) kept a dead 1 s meter looking live for 180 s; a slow list without any stored
# interval can at worst be unavailable once, until its second push.
ASSUMED_PUSH_INTERVAL: Final = 10.0
