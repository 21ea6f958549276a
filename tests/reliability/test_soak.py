"""The soak script's own parts (the soak itself runs for minutes: scripts/soak, README).

What the soak reports is only as good as its gauges: /proc parsing, the growth trend, the
log scan for keys and warnings, the loss arithmetic, and the helper integration it writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from simulator import DEFAULT_KEY

from .soak import (
    PROBE_CODE,
    PROBE_DOMAIN,
    ProcSample,
    Sample,
    SoakReport,
    drop_recorder,
    proc_sample,
    scan_log,
    slope_per_hour,
    write_probe,
)


def test_proc_sample_of_this_process() -> None:
    sample = proc_sample(os.getpid())
    assert sample.rss_kib > 10_000
    assert sample.threads >= 1
    assert sample.fds >= 3
    assert sample.cpu_seconds > 0


def test_slope_per_hour() -> None:
    assert slope_per_hour([(0, 100.0), (1800, 101.0), (3600, 102.0)]) == 2.0
    assert slope_per_hour([(0, 5.0), (60, 5.0)]) == 0.0
    assert slope_per_hour([(0, 5.0)]) == 0.0


def test_scan_log_counts_our_warnings_and_keys(tmp_path: Path) -> None:
    log = tmp_path / "home-assistant.log"
    log.write_text(
        "2026-01-01 00:00:00.000 WARNING (SyncWorker_0) [homeassistant.loader] We found a "
        "custom integration swiss_meter_cii which has not been tested\n"
        "2026-01-01 00:00:01.000 WARNING (MainThread) [custom_components.swiss_meter_cii."
        "coordinator] Meter: no valid data from the meter for 30 s\n"
        "2026-01-01 00:00:02.000 INFO (MainThread) [custom_components.swiss_meter_cii] fine\n"
        f"2026-01-01 00:00:03.000 DEBUG (MainThread) [somewhere] key {DEFAULT_KEY.hex(' ')}\n",
        encoding="utf-8",
    )
    warnings, leaks = scan_log(log, [DEFAULT_KEY])
    assert len(warnings) == 1
    assert "no valid data" in warnings[0]
    assert leaks == 1


def test_write_probe_is_idempotent_and_valid(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_text("homeassistant:\n", encoding="utf-8")
    write_probe(tmp_path)
    write_probe(tmp_path)
    yaml = (tmp_path / "configuration.yaml").read_text(encoding="utf-8")
    assert yaml.count(f"\n{PROBE_DOMAIN}:") == 1
    assert yaml.count("\ndiagnostics:") == 1
    folder = tmp_path / "custom_components" / PROBE_DOMAIN
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["domain"] == PROBE_DOMAIN
    assert manifest["version"]  # custom integrations need one
    compile(PROBE_CODE, "soak_probe/__init__.py", "exec")


def test_drop_recorder(tmp_path: Path) -> None:
    yaml = tmp_path / "configuration.yaml"
    yaml.write_text("api:\nrecorder:\nhistory:\nenergy:\nlogger:\n  default: info\n", "utf-8")
    drop_recorder(tmp_path)
    assert yaml.read_text(encoding="utf-8") == "api:\nlogger:\n  default: info\n"


def test_report_loss_and_growth() -> None:
    report = SoakReport(minutes=10, interval=0.1, profile="e450")
    report.sent_in_window, report.counted_in_window = 6000, 5998
    assert report.lost == 2
    for minute in range(11):
        proc = ProcSample(minute * 60.0, minute * 6.0, 200_000 + minute * 1024, 12, 16)
        report.samples.append(Sample(minute * 60.0, proc, 10.0, 4, minute * 600, minute, {}))
    start, end, slope = report.rss_growth()
    assert start == 200_000 / 1024 + 2  # the first two minutes are warm-up
    assert end - start == 8
    assert round(slope) == 60  # 1 MiB a minute
    summary = report.summary()
    assert "lost 2" in summary
    assert "+8.0 MiB" in summary
