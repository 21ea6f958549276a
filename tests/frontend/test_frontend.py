"""The dashboard module's pure parts, tested under node (tests/frontend/dashboard.test.mjs)."""

from __future__ import annotations

from pathlib import Path
import shutil
import subprocess

HERE = Path(__file__).parent


def test_dashboard_module_under_node() -> None:
    node = shutil.which("node")
    assert node, "node is missing: run scripts/setup --test-tools"
    result = subprocess.run(
        [node, "--test", "--test-reporter=tap", str(HERE / "dashboard.test.mjs")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout, result.stdout[-2000:]
