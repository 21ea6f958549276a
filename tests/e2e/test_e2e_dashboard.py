"""The integration's dashboard in a real browser, on a real Home Assistant and simulated meter.

Debian's chromium (headless) through playwright-core (browser.py) opens the dashboard that
scripts/develop adds, at a phone's and a desktop's width: the live net power graph and the
table of every value must show what Home Assistant has, the graph must leave a gap where the
meter was silent (the simulator is paused with SIGSTOP, a real silence on a real socket), and
on Home Assistant 2026.5+ the "Add dashboard" dialog must offer the strategy. Screenshots go to
test-output/browser/.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
import os
from pathlib import Path
import re
import signal
import time
from typing import Any

import pytest

from .browser import OUTPUT, Browser, missing_browser_tools
from .home import running_home

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]

WIDTHS = ((1280, 900, "desktop"), (390, 844, "phone"))  # an iPhone 12-15 is 390 px wide
PAUSE = 4.0  # seconds the meter is silent: more than 1.5 push intervals (1 s), a gap
LISTED_FROM = (2026, 5)  # the release whose "Add dashboard" lists custom strategies


@pytest.fixture
def browser() -> Iterator[Browser]:
    missing = missing_browser_tools()
    assert not missing, f"missing {missing}: run scripts/setup --test-tools"
    browser = Browser()
    try:
        yield browser
    finally:
        browser.close()


def _wait(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something true; fail naming `what`."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.5)
    raise AssertionError(f"after {timeout:g} s: {what} (last: {last!r})")


def _number(text: str) -> Decimal | None:
    """A number as the frontend formats it in English (1,234.5), else None."""
    cleaned = re.sub(r"[,\u202f\u00a0 ]", "", text)
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None


def _check_rows_show_the_states(rows: list[dict[str, Any]], states: dict[str, Any]) -> None:
    """Every row shows its entity's state (rounded for display) and unit."""
    for row in rows:
        state = states[row["entity_id"]]
        where = f"{row['obis']} ({row['entity_id']}): row {row}, state {state['state']}"
        unit = state["attributes"].get("unit_of_measurement") or ""
        assert row["unit"] == unit, where
        shown = _number(row["value"])
        expected = _number(state["state"])
        if state["attributes"].get("device_class") == "timestamp":
            assert row["value"] not in ("", "—"), where  # a date the front end formats
            continue
        if expected is None:
            assert row["value"] == state["state"], where  # text exactly as the state
            continue
        assert shown is not None, where
        exponent = shown.as_tuple().exponent
        decimals = -exponent if isinstance(exponent, int) else 0
        assert abs(shown - expected) <= Decimal(5).scaleb(-decimals - 1), where


def test_dashboard_in_a_browser(socket_enabled: None, tmp_path: Path, browser: Browser) -> None:
    with running_home(tmp_path) as home:
        client = home.client
        path = client.ensure_dashboard()
        _wait(
            lambda: (m := client.ws({"type": "swiss_meter_cii/dashboard"})[0]["meters"])
            and len([v for v in m[0]["values"] if v["live"]]) >= len(home.twin.pushes[0]),
            "every value has an entity",
        )
        (layout,) = client.ws({"type": "swiss_meter_cii/dashboard"})
        (meter,) = layout["meters"]
        values = {v["obis"]: v for v in meter["values"]}
        assert set(home.twin.pushes[0]) <= set(values)
        tokens = client.browser_tokens()
        pid = home.sim.proc.pid if home.sim.proc else None
        assert pid is not None

        for width, height, name in WIDTHS:
            url = home.base_url + path
            browser.call(
                "open",
                url=url,
                width=width,
                height=height,
                tokens=tokens,
                element="ll-strategy-dashboard-swiss-meter-cii",
            )
            browser.call(
                "wait",
                selector="swiss-meter-values-card >> tr[data-obis]",
                count=len(values),
                failure=str(OUTPUT / f"failure-{name}.png"),
            )
            _wait(
                lambda: (g := browser.call("dashboard")["graphs"]) and g[0]["points"] >= 5,
                "five pushes in the graph",
            )
            # The meter falls silent: the graph must stop, the table ages, nothing invented.
            os.kill(pid, signal.SIGSTOP)
            try:
                time.sleep(PAUSE)
                shown = browser.call("dashboard")
                states = {s["entity_id"]: s for s in client.states()}
                paused = browser.screenshot(f"dashboard-{name}-meter-silent")
            finally:
                os.kill(pid, signal.SIGCONT)
            (graph,) = shown["graphs"]
            assert graph["silent"] is True, graph
            assert graph["now"] == "—", graph  # no current value while no push arrives
            rows = shown["rows"]
            assert {row["obis"] for row in rows} == set(values), rows
            _check_rows_show_the_states(rows, states)
            ages = [row["age"] for row in rows if row["obis"] in home.twin.pushes[0]]
            assert all(re.fullmatch(r"\d+ s ago", age) for age in ages), ages
            assert all(int(age.split()[0]) >= PAUSE - 1 for age in ages), ages
            # The meter is back: a gap where it was silent, new pushes after it.
            after = _wait(
                lambda: (g := browser.call("dashboard")["graphs"][0])["gaps"] >= 1
                and not g["silent"]
                and g,
                "a gap in the graph, then new pushes",
            )
            assert after["runs"] >= 2, after  # the line breaks at the gap, never joins it
            assert after["dots"] == after["points"], after  # one dot per push, no more
            final = browser.call("dashboard")
            assert final["scroll_width"] <= final["inner_width"] + 1, final  # no sideways scroll
            assert all(card["right"] <= final["inner_width"] + 1 for card in final["cards"]), final
            assert not final["console_errors"], final["console_errors"]
            shot = browser.screenshot(f"dashboard-{name}")
            assert paused.stat().st_size > 10_000
            assert shot.stat().st_size > 10_000
            headers = [h for h in final["entity_cards"] if h]
            assert "Energy totals per tariff" in headers, headers
            assert "Gas, water and heat meters" in headers, headers
            assert "Link diagnostics" in headers, headers

        browser.call("open", url=home.base_url, width=1280, height=900, tokens=tokens)
        dialog = browser.call(
            "add_dashboard_dialog",
            base=home.base_url,
            name="Swiss Meter CII",
            path=str(OUTPUT / "add-dashboard.png"),
        )
        assert "Swiss Meter CII" in dialog["custom_strategies"], dialog  # the module loaded
        if home.client.version() >= LISTED_FROM:
            assert dialog["offered"], dialog
