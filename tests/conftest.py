"""Suite-wide guards: no key in any log or diagnostics, no Home Assistant complaint about us.

Every log record of every test, and every diagnostics download a test makes, is checked for
the keys the suite uses (tests/reliability/secrets_guard.py); the test phase during which a
key appeared fails. Tests that use a key of their own register it with the `key_leak_guard`
fixture. Home Assistant reports deprecated or unsafe use (a blocking call in the loop, a
deprecated helper) as a warning naming the integration; on both test legs such a line fails
the test phase that caused it.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
import inspect
import logging
import re
from typing import Any

import pytest

from tests.reliability.secrets_guard import KeyLeakGuard, failure_message, suite_keys

GUARD = KeyLeakGuard(suite_keys())
# The HA test plugin turns SQLAlchemy's statement log on; the recorder's thread writes it while
# a recorder test tears down, outside pytest's capture, as pages of SQL in the test output.
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
_attributed = 0  # leaks already reported by a failing test phase
# How Home Assistant words a report about an integration (frame.report_usage, the blocking
# call detector, deprecated constants and helpers).
_REPORT = re.compile(r"Detected (?:that )?(?:custom integration|blocking call|code)|deprecated")
_OURS = ("swiss_meter_cii",)


class ReportCollector(logging.Handler):
    """Collects Home Assistant's warnings about this integration."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.reports: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("custom_components."):
            return  # our own warnings are behaviour under test, not reports about us
        message = record.getMessage()
        if _REPORT.search(message) and any(name in message for name in _OURS):
            self.reports.append(f"{record.name}: {message}")


REPORTS = ReportCollector()


def pytest_configure(config: pytest.Config) -> None:
    """Watch the root logger from the start (collection and session fixtures included)."""
    logging.getLogger().addHandler(GUARD.handler)
    logging.getLogger().addHandler(REPORTS)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Leaks outside any test (collection, session fixtures) fail the run too."""
    if len(GUARD.leaks) > _attributed:
        stray = GUARD.leaks[_attributed:]
        print("\n" + failure_message(stray, "collection or session fixtures"))
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop watching."""
    logging.getLogger().removeHandler(GUARD.handler)
    logging.getLogger().removeHandler(REPORTS)


def _checked_phase(phase: str) -> Generator[None, object, object]:
    """Run one phase of a test; fail it when a key leaked meanwhile."""
    global _attributed
    start = len(GUARD.leaks)
    reported = len(REPORTS.reports)
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
    if reports := REPORTS.reports[reported:]:
        pytest.fail(f"Home Assistant reported during {phase}:\n" + "\n".join(reports))
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
    # Bound by name: 2026.x added a `data_issues` argument before `filename` and `domain`.
    signature = inspect.signature(original)

    async def checked(hass: Any, data: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        named = signature.bind(hass, data, *args, **kwargs).arguments
        GUARD.check_data(data, f"diagnostics of {named['domain']}", str(named["filename"]))
        return await original(hass, data, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(diagnostics, "_async_get_json_file_response", checked)
        yield


@pytest.fixture
def key_leak_guard() -> KeyLeakGuard:
    """The session's guard: `register(key)` a key of the test's own, `expect_leaks()` a plant."""
    return GUARD
