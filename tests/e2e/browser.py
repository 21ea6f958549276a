"""A real browser for the end-to-end tests: Debian's chromium through playwright-core.

`browser_driver.mjs` runs under node and answers one JSON command per line; this wrapper
starts it, sends commands and raises on a failed one. Where chromium, node or the npm
package is missing, `missing_browser_tools` says what (scripts/setup --test-tools installs them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
import shutil
import subprocess
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[2]
DRIVER: Final = Path(__file__).with_name("browser_driver.mjs")
OUTPUT: Final = REPO / "test-output" / "browser"  # screenshots, kept after the run


def chromium_path() -> str | None:
    """Debian's chromium (the only browser the tests use)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing_browser_tools() -> list[str]:
    """What the browser test needs and cannot find."""
    missing = []
    if chromium_path() is None:
        missing.append("chromium")
    if shutil.which("node") is None:
        missing.append("node")
    if not (REPO / "node_modules" / "playwright-core" / "package.json").exists():
        missing.append("node_modules/playwright-core (npm ci)")
    return missing


class BrowserError(AssertionError):
    """The driver could not do what it was asked (the message has its stack)."""


class Browser:
    """One headless chromium and one page at a time, driven command by command."""

    def __init__(self) -> None:
        env = dict(os.environ)
        env["CHROMIUM"] = chromium_path() or "/usr/bin/chromium"
        self._proc = subprocess.Popen(
            ["node", str(DRIVER)],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.version = str(self.call("launch")["version"])

    def call(self, op: str, **args: Any) -> dict[str, Any]:
        """Send one command and return its answer; BrowserError if it failed."""
        proc = self._proc
        assert proc.stdin is not None
        assert proc.stdout is not None
        proc.stdin.write(json.dumps({"op": op, **args}) + "\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        if not line:
            stderr = proc.stderr.read() if proc.stderr else ""
            raise BrowserError(f"the browser driver exited during {op!r}:\n{stderr[-3000:]}")
        answer: dict[str, Any] = json.loads(line)
        if not answer.pop("ok"):
            raise BrowserError(f"{op}: {answer.get('error')}")
        return answer

    def screenshot(self, name: str) -> Path:
        """Save a full-page screenshot under test-output/browser/ and return its path."""
        OUTPUT.mkdir(parents=True, exist_ok=True)
        path = OUTPUT / f"{name}.png"
        self.call("screenshot", path=str(path))
        return path

    def close(self) -> None:
        """Close the browser and stop the driver."""
        try:
            self.call("close")
        except (BrowserError, OSError, ValueError):
            pass
        finally:
            if self._proc.stdin:
                self._proc.stdin.close()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
