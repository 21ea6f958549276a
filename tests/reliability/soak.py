"""Soak test (scripts/soak): a real Home Assistant reading a simulated meter for a long time.

The same bootstrap as scripts/develop and tests/e2e (scripts/ha_bootstrap/): a fresh
configuration folder, a `hass` process, onboarding, the setup wizard over REST. The meter is
the simulator's TcpMeterServer running in this process, so the number of pushes sent is
exact; by default 10 pushes a second. A tiny helper integration written into the soak's
configuration folder (never into the repository) reports the asyncio task count of the hass
process. Every `--sample` seconds: RSS, CPU share, threads, file descriptors and tasks of the
hass process, and the integration's own counters from its diagnostics download.

Loss is exact: the simulator's invocation counter rises by one per push, so pushes sent in a
window = difference of the frame counters the integration reported at its ends; pushes
counted = difference of its push counter. At the end the log is scanned for keys (the
key-leak guard) and for warnings and errors of the integration.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
import json
import os
from pathlib import Path
import shutil
import sys
import time
from typing import Any, Final

REPO: Final = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # run as a script: the repository's packages
    sys.path.insert(0, str(REPO))

from scripts.ha_bootstrap.client import HaClient  # noqa: E402
from scripts.ha_bootstrap.config import (  # noqa: E402
    DOMAIN,
    HaConfig,
    missing_requirements,
    prepare_config_dir,
)
from scripts.ha_bootstrap.errors import BootstrapError, HttpError  # noqa: E402
from scripts.ha_bootstrap.meter import ensure_entry, simulator_meter_setup  # noqa: E402
from scripts.ha_bootstrap.processes import Managed, free_port, hass_process  # noqa: E402
from simulator import (  # noqa: E402
    DEFAULT_AUTH_KEY,
    DEFAULT_KEY,
    PROFILES,
    FaultInjector,
    MeterSimulator,
    TcpMeterServer,
)
from tests.reliability.secrets_guard import KeyLeakGuard  # noqa: E402

SOAK_DIR: Final = REPO / ".cache" / "soak"
USERNAME: Final = "soak"
PASSWORD: Final = "soak-password"  # a throw-away owner of a throw-away loopback instance
CLK_TCK: Final = os.sysconf("SC_CLK_TCK")
PAGE: Final = os.sysconf("SC_PAGE_SIZE")
WARM_UP: Final = 0.2  # share of the run before memory growth is measured (caches fill)

PROBE_DOMAIN: Final = "soak_probe"
PROBE_MANIFEST: Final = {
    "domain": PROBE_DOMAIN,
    "name": "Soak probe",
    "version": "1.0.0",
    "documentation": "https://example.invalid/soak_probe",
    "codeowners": [],
    "dependencies": ["http"],
    "requirements": [],
    "iot_class": "local_polling",
}
PROBE_CODE: Final = '''"""Soak probe: asyncio task count of Home Assistant (by scripts/soak)."""

import asyncio
from collections import Counter
import gc
import threading

from homeassistant.components.http import HomeAssistantView

DOMAIN = "soak_probe"


async def async_setup(hass, config):
    hass.http.register_view(ProbeView)
    return True


class ProbeView(HomeAssistantView):
    url = "/api/soak_probe"
    name = "api:soak_probe"
    requires_auth = True

    async def get(self, request):
        tasks = asyncio.all_tasks()
        names = Counter(
            getattr(task.get_coro(), "__qualname__", type(task.get_coro()).__name__)
            for task in tasks
        )
        result = {
            "tasks": len(tasks),
            "threads": threading.active_count(),
            "top_tasks": names.most_common(8),
        }
        if request.query.get("objects"):  # slow (a full GC walk): first and last sample only
            gc.collect()
            counts = Counter(type(obj).__qualname__ for obj in gc.get_objects())
            result["objects"] = {name: n for name, n in counts.items() if n >= 100}
        return self.json(result)
'''


# ------------------------------------------------------------------------------ measuring


@dataclass(frozen=True, slots=True)
class ProcSample:
    """What /proc says about one process at one moment."""

    when: float  # monotonic seconds
    cpu_seconds: float  # user + system
    rss_kib: int
    threads: int
    fds: int


def proc_sample(pid: int) -> ProcSample:
    """Read /proc/<pid>/stat, status and fd (Linux)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime (fields 14, 15)
    status: dict[str, str] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as handle:
        for line in handle:
            name, _, value = line.partition(":")
            status[name] = value.strip()
    rss = int(status["VmRSS"].split()[0])
    return ProcSample(
        time.monotonic(), cpu, rss, int(status["Threads"]), len(os.listdir(f"/proc/{pid}/fd"))
    )


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, value) points, per hour (0 for fewer than 2)."""
    if len(points) < 2:
        return 0.0
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 3600


@dataclass(slots=True)
class Sample:
    """One row of the soak table."""

    elapsed: float
    proc: ProcSample
    cpu_share: float  # % of one core since the previous sample
    tasks: int | None
    pushes: int
    frame_counter: int | None
    errors: dict[str, int]


@dataclass(slots=True)
class SoakReport:
    """Everything the soak measured."""

    minutes: float
    interval: float
    profile: str
    samples: list[Sample] = field(default_factory=list)
    sent_in_window: int = 0
    counted_in_window: int = 0
    last_sent_counter: int | None = None
    last_seen_counter: int | None = None
    decoder: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    log_warnings: list[str] = field(default_factory=list)
    key_leaks: int = 0
    top_tasks: list[Any] = field(default_factory=list)
    db_mib: float = 0.0
    object_growth: list[tuple[str, int, int]] = field(default_factory=list)  # type, from, to
    recorder: bool = True

    @property
    def lost(self) -> int:
        """Pushes sent while the integration was reading that it did not count."""
        return self.sent_in_window - self.counted_in_window

    def rss_growth(self) -> tuple[float, float, float]:
        """(MiB after warm-up, MiB at the end, MiB per hour over the measured part)."""
        measured = [s for s in self.samples if s.elapsed >= WARM_UP * self.minutes * 60]
        if len(measured) < 2:
            return 0.0, 0.0, 0.0
        points = [(s.elapsed, s.proc.rss_kib / 1024) for s in measured]
        return points[0][1], points[-1][1], slope_per_hour(points)

    def table(self) -> str:
        """One line per sample."""
        lines = ["   time    RSS MiB  CPU %  threads  fds  tasks   pushes  errors"]
        for s in self.samples:
            lines.append(
                f"  {s.elapsed / 60:5.1f}m  {s.proc.rss_kib / 1024:8.1f}  {s.cpu_share:5.1f}"
                f"  {s.proc.threads:7}  {s.proc.fds:3}  {'-' if s.tasks is None else s.tasks:>5}"
                f"  {s.pushes:7}  {sum(s.errors.values()):6}"
            )
        return "\n".join(lines)

    def summary(self) -> str:
        """The figures for the README."""
        start, end, slope = self.rss_growth()
        shares = [s.cpu_share for s in self.samples[1:]]
        tasks = [s.tasks for s in self.samples if s.tasks is not None]
        fds = [s.proc.fds for s in self.samples]
        pushes_per_s = 1 / self.interval
        lines = [
            f"soak: {self.minutes:g} min, {self.profile}, {pushes_per_s:g} pushes/s",
            f"  pushes: {self.sent_in_window:,} sent while connected, "
            f"{self.counted_in_window:,} counted by the integration, lost {self.lost}"
            f" (last counter sent {self.last_sent_counter}, seen {self.last_seen_counter})",
            f"  decode errors: {self.errors or 'none'}; decoder: {self.decoder}",
            f"  hass RSS: {start:.1f} MiB after warm-up -> {end:.1f} MiB at the end "
            f"({end - start:+.1f} MiB, trend {slope:+.1f} MiB/h)",
            f"  hass CPU: {sum(shares) / len(shares) if shares else 0:.1f} % of one core on "
            f"average, {max(shares, default=0):.1f} % peak sample",
            f"  asyncio tasks: {min(tasks, default=0)}..{max(tasks, default=0)} "
            f"(first {tasks[0] if tasks else '-'}, last {tasks[-1] if tasks else '-'}); "
            f"fds {min(fds, default=0)}..{max(fds, default=0)}",
            f"  recorder database: {self.db_mib:.1f} MiB"
            if self.recorder
            else "  recorder: off (--no-recorder)",
            "  Python objects that grew most after warm-up: "
            + (", ".join(f"{name} {a:,}->{b:,}" for name, a, b in self.object_growth[:8]) or "-"),
            f"  log: {len(self.log_warnings)} warnings/errors from the integration, "
            f"key leaks {self.key_leaks}",
        ]
        if self.faults:
            lines.append(f"  injected line faults: {self.faults}")
        lines += [f"    {line}" for line in self.log_warnings[:10]]
        return "\n".join(lines)


# ------------------------------------------------------------------------------ running


def write_probe(config_dir: Path) -> None:
    """The task-count helper integration (soak folder only) and the diagnostics download."""
    folder = config_dir / "custom_components" / PROBE_DOMAIN
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "manifest.json").write_text(json.dumps(PROBE_MANIFEST, indent=2), encoding="utf-8")
    (folder / "__init__.py").write_text(PROBE_CODE, encoding="utf-8")
    yaml = config_dir / "configuration.yaml"
    text = yaml.read_text(encoding="utf-8")
    for integration in (PROBE_DOMAIN, "diagnostics"):  # the integration's counters come from it
        if f"\n{integration}:" not in text:
            text += f"{integration}:\n"
    yaml.write_text(text, encoding="utf-8")


def drop_recorder(config_dir: Path) -> None:
    """Remove the recorder and what needs it from configuration.yaml (attribution runs)."""
    yaml = config_dir / "configuration.yaml"
    lines = yaml.read_text(encoding="utf-8").splitlines(keepends=True)
    dropped = {"recorder:\n", "history:\n", "energy:\n"}
    yaml.write_text("".join(line for line in lines if line not in dropped), encoding="utf-8")


def scan_log(log: Path, keys: Sequence[bytes]) -> tuple[list[str], int]:
    """Warnings/errors the integration logged, and lines that carry a key in any spelling."""
    guard = KeyLeakGuard(keys)
    warnings: list[str] = []
    leaks = 0
    try:
        text = log.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ["(no home-assistant.log)"], 0
    for line in text.splitlines():
        if guard.find(line):
            leaks += 1
        ours = f"[custom_components.{DOMAIN}" in line
        if ours and (" WARNING " in line or " ERROR " in line or " CRITICAL " in line):
            warnings.append(line[:240])
    return warnings, leaks


class Soak:
    """One soak run: start everything, sample, stop, report."""

    def __init__(self, args: argparse.Namespace) -> None:
        """Prepare paths; nothing starts yet."""
        self.args = args
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        self.work = Path(args.work_dir) if args.work_dir else SOAK_DIR / stamp
        self.config_dir = self.work / "config"
        self.report = SoakReport(args.minutes, args.interval, args.profile)
        faults = None
        if args.faults:
            rate = args.faults
            faults = FaultInjector(
                seed=args.seed, garbage=rate, flip=rate, drop=rate, truncate=rate, repeat=rate
            )
        auth = DEFAULT_AUTH_KEY if PROFILES[args.profile].default_auth else None
        self.sim = MeterSimulator(args.profile, key=DEFAULT_KEY, auth_key=auth, seed=args.seed)
        self.server = TcpMeterServer(self.sim, interval=args.interval, faults=faults)
        self.faults = faults
        self.hass: Managed | None = None
        self.client: HaClient | None = None

    def say(self, message: str) -> None:
        """Progress on stdout."""
        print(f"soak: {message}", flush=True)

    def run(self) -> int:
        """Everything; returns the exit code (1: loss, growth or a key in the log)."""
        if missing := missing_requirements():
            self.say(f"not installed in .venv: {', '.join(missing)}; run scripts/setup")
            return 1
        self.work.mkdir(parents=True, exist_ok=True)
        port = free_port()
        prepare_config_dir(
            self.config_dir,
            HaConfig(
                http_port=port,
                name="soak",
                log_default="warning",
                log_levels={f"custom_components.{DOMAIN}": "info"},
            ),
        )
        write_probe(self.config_dir)
        if self.args.no_recorder:
            drop_recorder(self.config_dir)
            self.report.recorder = False
        meter_port = self.server.start_in_thread()
        self.say(
            f"simulated {self.args.profile} on socket://127.0.0.1:{meter_port}, "
            f"{1 / self.args.interval:g} pushes/s; work dir {self.work}"
        )
        self.hass = hass_process(self.config_dir, self.work / "hass-console.log")
        self.client = HaClient(f"http://127.0.0.1:{port}")
        try:
            entry_id = self._start(f"socket://127.0.0.1:{meter_port}")
            self._sample_until_done(entry_id)
        except (BootstrapError, OSError) as err:
            self.say(f"failed: {err}")
            if self.hass is not None:
                self.say(f"hass log tail:\n{self.hass.tail(20)}")
            if self.report.samples:
                print(f"(partial, without the loss count)\n{self.report.summary()}")
            return 1
        except KeyboardInterrupt:
            self.say("interrupted; stopping")
        finally:
            self._stop()
        report = self.report
        report.log_warnings, report.key_leaks = scan_log(
            self.config_dir / "home-assistant.log", [DEFAULT_KEY, DEFAULT_AUTH_KEY]
        )
        report.db_mib = (
            sum(db.stat().st_size for db in self.config_dir.glob("home-assistant_v2.db*")) / 2**20
        )
        print(report.summary(), flush=True)
        ok = report.key_leaks == 0 and (self.faults is not None or report.lost == 0)
        if not self.args.keep and ok:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            self.say(f"kept {self.work}")
        return 0 if ok else 1

    def _start(self, url: str) -> str:
        assert self.hass is not None
        assert self.client is not None
        client = self.client
        self.hass.start()
        client.wait_until_up(self.hass, 180)
        client.onboard(USERNAME, PASSWORD)
        client.wait_until_running(180)
        client.remove_failed_onboarding_entries(settle=3.0)
        entry, _ = ensure_entry(client, simulator_meter_setup(url, self.args.profile), log=self.say)
        entry_id = str(entry["entry_id"])
        self.say(f"entry {entry.get('title')!r} set up; waiting for pushes")
        deadline = time.monotonic() + 60
        while self._link(entry_id)["pushes"] < 3:
            if time.monotonic() > deadline:
                raise BootstrapError("the integration counted no pushes within 60 s")
            time.sleep(0.5)
        return entry_id

    def _link(self, entry_id: str) -> dict[str, Any]:
        assert self.client is not None
        data = self._get(f"/api/diagnostics/config_entry/{entry_id}")["data"]
        link: dict[str, Any] = data["link"]
        link["errors"] = {k: v for k, v in data["errors"].items() if v}
        link["decoder"] = data.get("decoder") or {}
        return link

    def _get(self, path: str, timeout: float = 30.0) -> Any:
        """GET with the owner's token; log in again when it expired (tokens last 30 min)."""
        assert self.client is not None
        try:
            return self.client.request("GET", path, timeout=timeout)
        except HttpError as err:
            if err.status != HTTPStatus.UNAUTHORIZED:
                raise
        self.client.login(USERNAME, PASSWORD)
        return self.client.request("GET", path, timeout=timeout)

    def _probe(self, objects: bool = False) -> dict[str, Any] | None:
        assert self.client is not None
        path = "/api/soak_probe" + ("?objects=1" if objects else "")
        try:
            result: dict[str, Any] = self._get(path, timeout=60)
        except BootstrapError:
            return None
        return result

    def _sample_until_done(self, entry_id: str) -> None:
        assert self.hass is not None
        assert self.hass.proc is not None
        pid = self.hass.proc.pid
        report = self.report
        began = time.monotonic()
        first = self._link(entry_id)
        first_pushes, first_counter = int(first["pushes"]), first["frame_counter"]
        previous = proc_sample(pid)
        end = began + self.args.minutes * 60
        print(report.table(), flush=True)  # the header; rows follow as they come
        baseline: dict[str, int] | None = None
        while True:
            now = time.monotonic()
            if now >= end:
                break
            time.sleep(min(self.args.sample, end - now))
            proc = proc_sample(pid)
            link = self._link(entry_id)
            # The object census allocates a few MiB itself: take it before the growth window.
            warm = baseline is None and now - began >= WARM_UP / 2 * self.args.minutes * 60
            probe = self._probe(objects=warm)
            if warm:
                baseline = (probe or {}).get("objects", {})
            share = 100 * (proc.cpu_seconds - previous.cpu_seconds) / (proc.when - previous.when)
            previous = proc
            sample = Sample(
                time.monotonic() - began,
                proc,
                share,
                probe["tasks"] if probe else None,
                int(link["pushes"]),
                link["frame_counter"],
                link["errors"],
            )
            report.samples.append(sample)
            if probe:
                report.top_tasks = probe["top_tasks"]
            print(report.table().splitlines()[-1], flush=True)
            if self.hass.poll() is not None:
                raise BootstrapError(f"Home Assistant exited with {self.hass.poll()}")
        final = self._probe(objects=True) or {}
        if baseline is not None and "objects" in final:
            grown = [
                (name, baseline.get(name, 0), count)
                for name, count in final["objects"].items()
                if count > baseline.get(name, 0)
            ]
            report.object_growth = sorted(grown, key=lambda g: g[1] - g[2])
        # Stop the meter after its next push, give the bytes time to arrive, then count.
        self.server.count = self.server.pushes_sent + 1
        time.sleep(max(2.0, 5 * self.args.interval))
        last = self._link(entry_id)
        report.last_sent_counter = self.sim.frame_counter
        report.last_seen_counter = last["frame_counter"]
        if first_counter is not None and last["frame_counter"] is not None:
            report.sent_in_window = (report.last_sent_counter - first_counter) & 0xFFFFFFFF
        report.counted_in_window = int(last["pushes"]) - first_pushes
        report.errors = last["errors"]
        report.decoder = {k: v for k, v in last["decoder"].items() if k != "errors"}
        if self.faults is not None:
            report.faults = dict(self.faults.counts)

    def _stop(self) -> None:
        if self.hass is not None:
            self.hass.stop(timeout=30)
        self.server.stop_in_thread()


def main(argv: Sequence[str] | None = None) -> int:
    """scripts/soak."""
    parser = argparse.ArgumentParser(
        prog="scripts/soak",
        description="Run a real Home Assistant with the integration against the simulator "
        "and print memory, CPU, tasks, decode errors and lost pushes over time.",
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="how long (10)")
    parser.add_argument(
        "--interval", type=float, default=0.1, help="seconds between pushes (0.1 = 10/s)"
    )
    parser.add_argument("--profile", default="e450", choices=sorted(PROFILES))
    parser.add_argument("--sample", type=float, default=15.0, help="seconds between samples")
    parser.add_argument(
        "--faults", type=float, default=0.0, help="rate of each line fault (0: a clean line)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--work-dir", default=None, help="default .cache/soak/<time>")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (config, logs)")
    parser.add_argument(
        "--no-recorder",
        action="store_true",
        help="without recorder, history and energy: tells the integration's memory from theirs",
    )
    return Soak(parser.parse_args(argv)).run()


if __name__ == "__main__":
    sys.exit(main())
