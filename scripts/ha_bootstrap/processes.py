"""Child processes: `hass`, the meter simulator, and the ports they listen on."""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
import ctypes
from dataclasses import dataclass
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Final

from .config import REPO
from .errors import BootstrapError

SIMULATOR_SCRIPT: Final = REPO / "scripts" / "simulate_meter"


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _die_with_parent() -> None:
    """Child side of fork: get SIGTERM when the parent dies, so no orphan survives a kill -9."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass(slots=True)
class Managed:
    """A child process with its log file."""

    name: str
    argv: list[str]
    log_path: Path
    cwd: Path = REPO
    env: dict[str, str] | None = None
    proc: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None
    _log_start: int = 0  # where this run's output begins in the (appended) log

    def start(self) -> None:
        """Start in its own session: Ctrl-C reaches only us, and we stop children in order."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        self._log_start = self._log.tell()
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    def poll(self) -> int | None:
        """Exit code, or None while running (or never started)."""
        return self.proc.poll() if self.proc else None

    def stop(self, timeout: float = 20.0) -> int | None:
        """SIGTERM, wait, then SIGKILL; a second Ctrl-C while waiting kills at once."""
        proc = self.proc
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(5)
        except KeyboardInterrupt:
            proc.kill()
            proc.wait(5)
        finally:
            if self._log:
                self._log.close()
                self._log = None
        return proc.returncode

    def output(self) -> str:
        """Return what this run has written so far."""
        try:
            with self.log_path.open("rb") as log:
                log.seek(self._log_start)
                return log.read().decode("utf-8", errors="replace")
        except OSError:
            return ""

    def wait_for_output(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str]:
        """Wait for a line of this run's output to match; fail fast if the process exits."""
        deadline = time.monotonic() + timeout
        while True:
            if match := pattern.search(self.output()):
                return match
            if (code := self.poll()) is not None:
                raise BootstrapError(f"{self.name} exited with {code}:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise BootstrapError(f"{self.name} printed no {pattern.pattern!r} in {timeout:g} s")
            time.sleep(0.1)

    def tail(self, lines: int = 30) -> str:
        """Last lines of the log, for error messages."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def simulator_process(
    port: int,
    log_path: Path,
    *,
    interval: float | None = None,
    profile: str = "e450",
    extra_args: Sequence[str] = (),
) -> Managed:
    """scripts/simulate_meter serving the profile on 127.0.0.1:port (0: any), demo keys."""
    argv = [sys.executable, str(SIMULATOR_SCRIPT), "--profile", profile, "--port", str(port)]
    if interval is not None:
        argv += ["--interval", f"{interval:g}"]
    return Managed("meter simulator", [*argv, *extra_args], log_path)


def hass_process(config_dir: Path, log_path: Path) -> Managed:
    """`hass -c config_dir --skip-pip` from this venv (see missing_requirements)."""
    hass = Path(sys.executable).with_name("hass")
    argv = [str(hass)] if hass.exists() else [sys.executable, "-m", "homeassistant"]
    argv += ["-c", str(config_dir), "--skip-pip"]
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)  # the repo's packages must come from config/custom_components
    return Managed("Home Assistant", argv, log_path, env=env)


def start_simulator(sim: Managed, timeout: float = 30.0) -> str:
    """Start the simulator and return the socket:// URL it prints once it listens."""
    sim.start()
    match = sim.wait_for_output(re.compile(r"^(socket://\S+:\d+)$", re.MULTILINE), timeout)
    return match.group(1)
