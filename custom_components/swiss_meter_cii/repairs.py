"""Repairs the user confirms: a meter replaced by the utility."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult
from homeassistant.helpers import device_registry as dr
import voluptuous as vol

from .entity import meter_device


class MeterReplacedFlow(RepairsFlow):
    """Remove the old meter's device (and its entities); the entry follows the new meter."""

    def __init__(self, entry_id: str, old: str, new: str) -> None:
        """Remember which entry and which meters."""
        self._entry_id = entry_id
        self._old = old
        self._new = new

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Start at the confirmation (the repairs manager passes the issue as input here)."""
        return await self.async_step_confirm()

    async def async_step_confirm(self, user_input: dict[str, Any] | None = None) -> FlowResult:
        """Ask before removing the old meter's device and sensors."""
        entry = self.hass.config_entries.async_get_entry(self._entry_id)
        if entry is None:
            return self.async_abort(reason="entry_removed")
        if user_input is not None:
            device = meter_device(self.hass, entry.entry_id, self._old)
            if device is not None:
                # The device is this entry's alone; removing it removes its entities too
                # (2026.x deprecates removing it through async_update_device).
                dr.async_get(self.hass).async_remove_device(device.id)
            self.hass.config_entries.async_update_entry(
                entry, unique_id=self._new, title=entry.title.replace(self._old, self._new)
            )
            # The link diagnostics belong to the entry's meter: reload to put them on the new one.
            self.hass.config_entries.async_schedule_reload(entry.entry_id)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            data_schema=vol.Schema({}),
            description_placeholders={"old": self._old, "new": self._new, "meter": entry.title},
        )


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, str | int | float | None] | None
) -> RepairsFlow:
    """Create the flow of a fixable issue raised by the coordinator."""
    assert data is not None
    return MeterReplacedFlow(str(data["entry_id"]), str(data["old"]), str(data["new"]))
