"""The repair issues a running meter raises: another meter on the port, keys that stopped working.

README "Sensors" (meter replaced) and "Setup wizard" (re-keyed meter): the user gets one issue
and, for keys, one re-authentication dialog; a noisy line never raises the key issue because
only a run of refused pushes without any good one between them counts.
"""

from __future__ import annotations

import logging

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .const import DOMAIN
from .decoder.errors import ErrorKind

_LOGGER = logging.getLogger(__package__)

KEY_ERRORS: frozenset[ErrorKind] = frozenset(
    {ErrorKind.WRONG_KEY, ErrorKind.AUTH_FAILED, ErrorKind.MISSING_KEY}
)
KEY_FAILURE_LIMIT = 3  # refused pushes in a row (no good one between) before asking for a key


@callback
def async_check_meter_swap(hass: HomeAssistant, entry: ConfigEntry, name: str, number: str) -> None:
    """Another meter than the one set up sends: the utility replaced it (repair issue).

    The new meter gets its own device and sensors (its registers start at its own values,
    so the statistics show no negative step); the old meter's stay, unavailable, until
    the user removes them through the repair (repairs.py).
    """
    configured = entry.unique_id
    issue_id = f"meter_replaced_{entry.entry_id}"
    if configured is None or number == configured:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    _LOGGER.warning(
        "%s: meter %s sends on this port instead of meter %s (replaced by the utility?)",
        name,
        number,
        configured,
    )
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        severity=ir.IssueSeverity.WARNING,
        translation_key="meter_replaced",
        translation_placeholders={"meter": entry.title, "old": configured, "new": number},
        data={"entry_id": entry.entry_id, "old": configured, "new": number},
    )


class KeyProblem:
    """Asks for a new key when the meter's pushes keep being refused for their keys."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, name: str) -> None:
        """Nothing refused yet; the first good push clears an issue left by an earlier run."""
        self._hass = hass
        self._entry = entry
        self._name = name
        self._failures = 0
        self._raised = False
        self._checked = False

    @callback
    def refused(self, kind: ErrorKind) -> None:
        """Count a refused push; the third key error in a row raises the issue (once)."""
        if kind not in KEY_ERRORS:
            return
        self._failures += 1
        if self._failures >= KEY_FAILURE_LIMIT and not self._raised:
            self._raise(kind)

    @callback
    def accepted(self) -> None:
        """Note a decoded push: the keys work (again)."""
        self._failures = 0
        if self._raised or not self._checked:
            self._clear()

    @callback
    def _raise(self, kind: ErrorKind) -> None:
        """Once per run: a repair issue and the re-authentication dialog."""
        self._raised = True
        self._checked = True
        _LOGGER.warning(
            "%s: the meter's pushes are refused (%s); asking for a new key", self._name, kind
        )
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"key_rejected_{self._entry.entry_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key="key_rejected",
            translation_placeholders={"meter": self._entry.title},
        )
        self._entry.async_start_reauth(self._hass)

    @callback
    def _clear(self) -> None:
        """Good pushes are back (or were never a problem): the issue goes away."""
        if self._raised:
            _LOGGER.info("%s: the key works again", self._name)
        self._raised = False
        self._checked = True
        ir.async_delete_issue(self._hass, DOMAIN, f"key_rejected_{self._entry.entry_id}")
