"""Diagnostics download: what a maintainer needs to read a bug report, never a key."""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.core import HomeAssistant

from .const import CONF_AUTHENTICATION_KEY, CONF_ENCRYPTION_KEY, CONF_PORT
from .coordinator import SwissMeterCoordinator
from .decoder import DecoderStats
from .decoder.explain import outline
from .decoder.push import ErrorEvent, Push, Reading
from .link import redact_port
from .runtime_data import SwissMeterConfigEntry

TO_REDACT = {CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY, "key", "password", "noise_psk"}
MAX_STRUCTURE = 2000  # characters of an unknown layout's structure


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: SwissMeterConfigEntry
) -> dict[str, Any]:
    """Return settings (redacted), link statistics, recent frames and the last push."""
    coordinator = entry.runtime_data.coordinator
    data = dict(entry.data)
    if CONF_PORT in data:
        data[CONF_PORT] = redact_port(str(data[CONF_PORT]))
    stats = coordinator.stats
    state = coordinator.data
    result = {
        "entry": {
            "title": entry.title,
            "data": async_redact_data(data, TO_REDACT),
            "options": async_redact_data(dict(entry.options), TO_REDACT),
        },
        "link": {
            "state": stats.state,
            "serial_format": stats.serial_format,
            "last_link_error": stats.last_link_error,
            "connects": stats.connects,
            "reconnects": stats.reconnects,
            "bytes_received": stats.bytes_received,
            "pushes": stats.pushes,
            "last_push": stats.last_push.isoformat() if stats.last_push else None,
            "push_interval": coordinator.push_interval,
            "silence_timeout": coordinator.silence_timeout,
            "processing_delay_ms": coordinator.processing_delay,
            "push_lists": {
                name: {
                    "interval": clock.interval,
                    "on_time": clock.on_time,
                    "values": len(clock.codes),
                }
                for name, clock in coordinator.lists.items()
            },
            "frame_counter": stats.frame_counter,
            "security": stats.security,
        },
        "errors": {kind.value: count for kind, count in stats.errors.items()},
        "decoder": _decoder(entry.runtime_data.reader.decoder_stats),
        "meter": {
            "available": coordinator.available,
            "identity": dataclasses.asdict(state.meter) if state.meter else None,
            "timestamp": state.timestamp.isoformat() if state.timestamp else None,
            "values": _readings(state.values),
        },
        "energy_guard": {"rejected": dict(coordinator.guard.rejected)},
        "raw_frames": [frame.hex() for frame in stats.raw_frames],
        "refused_frames": [_refusal(event) for event in stats.error_frames],
        "last_push": _push(coordinator.last_push),
    }
    scrubbed: dict[str, Any] = _scrub(result, _secrets(coordinator))
    return scrubbed


def _readings(values: Mapping[str, Reading]) -> dict[str, dict[str, str | None]]:
    return {obis: {"value": str(r.value), "unit": r.unit} for obis, r in values.items()}


def _push(push: Push | None) -> dict[str, Any] | None:
    if push is None:
        return None
    return {
        "system_title": push.system_title.hex() if push.system_title else None,
        "manufacturer": push.manufacturer,
        "meter_number": push.meter_number,
        "frame_counter": push.frame_counter,
        "security": push.security,
        "timestamp": push.timestamp.isoformat() if push.timestamp else None,
        "invoke_id": push.invoke_id,
        "push_setup": push.push_setup,
        "layout": push.layout,
        "model": push.model,
        "counter_reset": push.counter_reset,
        "values": _readings(push.values),
    }


def _refusal(event: ErrorEvent) -> dict[str, Any]:
    structure = None if event.structure is None else repr(event.structure)[:MAX_STRUCTURE]
    return {
        "kind": event.kind,
        "detail": event.detail,
        "system_title": event.system_title.hex() if event.system_title else None,
        "raw": event.raw.hex(),
        "structure": structure,
        # Types and positions, the way templates count them (decoder/explain.py).
        "outline": None if event.structure is None else outline(event.structure),
    }


def _decoder(decoder_stats: DecoderStats) -> dict[str, Any]:
    """Bytes, garbage, frames and errors as the decoder counted them."""
    stats = dataclasses.asdict(decoder_stats)
    stats["errors"] = {str(kind): count for kind, count in stats["errors"].items()}
    return stats


def _secrets(coordinator: SwissMeterCoordinator) -> list[str]:
    """Every spelling of the configured keys: as typed and as hex in either case."""
    secrets: list[str] = []
    for field in (CONF_ENCRYPTION_KEY, CONF_AUTHENTICATION_KEY):
        text = str(coordinator.config_entry.data.get(field) or "")
        if not text:
            continue
        secrets.append(text)
        digits = "".join(ch for ch in text if ch in "0123456789abcdefABCDEF")
        if len(digits) >= 16:
            secrets.extend((digits.lower(), digits.upper()))
    return [secret for secret in secrets if len(secret) >= 8]


def _scrub(data: Any, secrets: list[str]) -> Any:
    """Belt and braces: no string anywhere in the download may contain a key."""
    if isinstance(data, Mapping):
        return {key: _scrub(value, secrets) for key, value in data.items()}
    if isinstance(data, list):
        return [_scrub(item, secrets) for item in data]
    if isinstance(data, str):
        lowered = data.lower()
        for secret in secrets:
            if secret.lower() in lowered:
                data = _replace_ci(data, secret, "**REDACTED**")
                lowered = data.lower()
    return data


def _replace_ci(text: str, old: str, new: str) -> str:
    result, lowered, target, start = [], text.lower(), old.lower(), 0
    while (index := lowered.find(target, start)) >= 0:
        result.append(text[start:index])
        result.append(new)
        start = index + len(old)
    result.append(text[start:])
    return "".join(result)
