"""Fixtures shared by the reliability tests (the integration tests' link and entry helpers)."""

from __future__ import annotations

from tests.integration.conftest import fake_link

__all__ = ["fake_link"]
