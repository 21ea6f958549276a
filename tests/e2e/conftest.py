"""Register the `e2e` marker so `-m e2e` / `-m "not e2e"` select or skip these tests."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: starts real hass and simulator processes (about 30 s); runs by default"
    )
