"""Suite-wide key-leak guard (tests/reliability/secrets_guard.py): nothing else lives here.

Every log record of every test, and every diagnostics download a test makes, is checked for
the keys the suite uses; the test phase during which a key appeared fails. Tests that use a
key of their own register it with the `key_leak_guard` fixture.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
import logging
from typing import Any

import pytest

from tests.reliability.secrets_guard import KeyLeakGuard, failure_message, suite_keys

GUARD = KeyLeakGuard(suite_keys())
_attributed = 0  # leaks already reported by a failing test phase


def pytest_configure(config: pytest.Config) -> None:
    """Watch the root logger from the start (collection and session fixtures included)."""
    logging.getLogger().addHandler(GUARD.handler)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leaks outside any test (collection, session fixtures) fail the run too."""
    if len(GUARD.leaks) > _attributed:
        stray = GUARD.leaks[_attributed:]
        print("\n" + failure_message(stray, "collection or session fixtures"))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop watching."""
    logging.getLogger().removeHandler(GUARD.handler)


def _checked_phase(phase: str) -> Generator[None, object, object]:
    """Run one phase of a test; fail it when a key leaked meanwhile."""
    global _attributed
    start = len(GUARD.leaks)
    try:
        result = yield
    except BaseException as err:  # failed anyway: the leak is added to its report
        if leaks := GUARD.new_leaks(start):
            _attributed += len(leaks)
            err.add_note(failure_message(leaks, phase))
        raise
    if leaks := GUARD.new_leaks(start):
        _attributed += len(leaks)
        pytest.fail(failure_message(leaks, phase), pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Fixtures' set-up."""
    return (yield from _checked_phase("set-up"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """The test itself."""
    return (yield from _checked_phase("the test"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, object, object]:
    """Fixtures' tear-down (Home Assistant stopping, entries unloading)."""
    return (yield from _checked_phase("tear-down"))


@pytest.fixture(scope="session", autouse=True)
def _diagnostics_checked() -> Iterator[None]:
    """Check every diagnostics download Home Assistant serves during the session."""
    try:
        from homeassistant.components import diagnostics
    except ImportError:  # pragma: no cover - Home Assistant is always installed here
        yield
        return
    original = diagnostics._async_get_json_file_response

    async def checked(
        hass: Any, data: Mapping[str, Any], filename: str, domain: str, *args: Any
    ) -> Any:
        GUARD.check_data(data, f"diagnostics of {domain}", filename)
        return await original(hass, data, filename, domain, *args)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diagnostics, "_async_get_json_file_response", checked)
        yield


@pytest.fixture
def key_leak_guard() -> KeyLeakGuard:
    """The session's guard: `register(key)` a key of the test's own, `expect_leaks()` a plant."""
    return GUARD
