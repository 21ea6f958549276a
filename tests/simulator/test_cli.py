"""scripts/simulate_meter: options, outputs, banner, key hygiene, the executable itself."""

from __future__ import annotations

from datetime import UTC, datetime
import os
from pathlib import Path
import re
import socket
import subprocess
import sys
import time

from cryptography.exceptions import InvalidTag
import pytest

from simulator import DEFAULT_AUTH_KEY, DEFAULT_KEY, MeterSimulator, wrong_key
from simulator.cli import EPILOG, build_parser, main

from . import apdu_from_hdlc, open_glo, split_hdlc

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "simulate_meter"
START = "2025-06-21T12:00:00"
START_UTC = datetime(2025, 6, 21, 10, 0, tzinfo=UTC)  # 12:00 in Zurich (CEST)
USER_KEY = "00112233445566778899AABBCCDDEEFF"


def _file_pushes(tmp_path: Path, *args: str) -> bytes:
    out = tmp_path / "capture.bin"
    assert main(["--output", str(out), "--seed", "7", "--start", START, *args]) == 0
    return out.read_bytes()


def test_help_documents_every_option_with_an_example(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    examples = EPILOG.split("examples:")[1]
    options = [
        opt
        for action in build_parser()._actions
        for opt in action.option_strings
        if opt.startswith("--") and opt != "--help"
    ]
    assert len(options) >= 25
    for option in options:
        assert option in text, option
        assert re.search(rf"{re.escape(option)}(?![\w-])", examples), f"no example uses {option}"
    for profile in ("e450", "e360", "am550", "kaifa_ma309m"):
        assert profile in text
    assert DEFAULT_KEY.hex().upper() in text
    assert DEFAULT_AUTH_KEY.hex().upper() in text


def test_file_output_equals_the_library(tmp_path: Path) -> None:
    data = _file_pushes(tmp_path, "--count", "4", "--interval", "5")
    sim = MeterSimulator(
        "e450", key=DEFAULT_KEY, auth_key=DEFAULT_AUTH_KEY, seed=7, start=START_UTC
    )
    assert data == b"".join(sim.next_push(elapsed=5) for _ in range(4))
    assert data == _file_pushes(tmp_path, "--count", "4")  # byte-identical again


def test_plain_kaifa_overflow_and_auth_defaults(tmp_path: Path) -> None:
    plain = _file_pushes(tmp_path, "--count", "2", "--plain", "--profile", "am550")
    sim = MeterSimulator("am550", seed=7, start=START_UTC)
    assert plain == sim.next_push() + sim.next_push()
    kaifa = _file_pushes(tmp_path, "--count", "1", "--profile", "kaifa_ma309m", "--mbus-overflow")
    assert kaifa[:4] == b"\x68\x01\x01\x68"
    assert kaifa[9 + 13] == 0x21  # TINETZ: suite 1, encrypted, no tag by default
    with_gak = _file_pushes(
        tmp_path, "--count", "1", "--profile", "kaifa_ma309m", "--auth-key", USER_KEY
    )
    assert with_gak[9 + 13] == 0x31


def test_wrong_keys(tmp_path: Path) -> None:
    data = _file_pushes(tmp_path, "--count", "1", "--wrong-key")
    apdu = apdu_from_hdlc(data)
    with pytest.raises(InvalidTag):
        open_glo(apdu, DEFAULT_KEY, DEFAULT_AUTH_KEY)
    assert open_glo(apdu, wrong_key(DEFAULT_KEY), DEFAULT_AUTH_KEY)[0] == 0x0F
    data = _file_pushes(tmp_path, "--count", "1", "--wrong-auth-key")
    with pytest.raises(InvalidTag):
        open_glo(apdu_from_hdlc(data), DEFAULT_KEY, DEFAULT_AUTH_KEY)
    assert open_glo(apdu_from_hdlc(data), DEFAULT_KEY, wrong_key(DEFAULT_AUTH_KEY))[0] == 0x0F
    data = _file_pushes(tmp_path, "--count", "1", "--no-auth", "--key", USER_KEY, "--wrong-key")
    reference = MeterSimulator(
        "e450", key=wrong_key(bytes.fromhex(USER_KEY)), seed=7, start=START_UTC
    )
    assert data == reference.next_push()


def test_stdout_hex_and_banner_never_shows_a_user_key(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    key = "00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff"  # separators and lower case
    args = ["--output", "-", "--hex", "--fast", "--count", "2", "--seed", "7", "--start", START]
    assert main([*args, "--key", key, "--auth-key", USER_KEY, "-v"]) == 0
    out, err = capsysbinary.readouterr()
    lines = out.decode().splitlines()
    assert len(lines) == 2
    sim = MeterSimulator(
        "e450",
        key=bytes.fromhex(USER_KEY),
        auth_key=bytes.fromhex(USER_KEY),
        seed=7,
        start=START_UTC,
    )
    assert [bytes.fromhex(line) for line in lines] == [sim.next_push(), sim.next_push()]
    banner = err.decode()
    for form in (USER_KEY, USER_KEY.lower(), key, key.upper()):
        assert form not in banner
        assert form.encode() not in out
    assert "the one given with --key" in banner
    assert "SC 0x30" in banner
    assert "push 2:" in banner  # -v: one line per push

    assert main(args) == 0
    banner = capsysbinary.readouterr().err.decode()
    assert f"documented default {DEFAULT_KEY.hex().upper()}" in banner
    assert f"documented default {DEFAULT_AUTH_KEY.hex().upper()}" in banner


@pytest.mark.parametrize(
    "argv",
    [
        ["--output", "x.bin"],  # a file needs --count
        ["--plain", "--key", USER_KEY],
        ["--link", "/tmp/x"],  # --link needs --pty
        ["--mbus-overflow"],  # e450 is HDLC
        ["--key", "0011"],
        ["--flip-bits", "1.5"],
        ["--port", "70000"],
        ["--start", "yesterday"],
        ["--pty", "--port", "3001"],  # one output only
        ["--baud", "-1"],
    ],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert "error" in capsys.readouterr().err


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()  # SIGTERM takes the same clean path as Ctrl-C
    _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return err


def test_script_tcp_server_on_a_free_port(socket_enabled: None) -> None:
    proc = _start("--profile", "e360", "--port", "0", "--interval", "0.05", "--plain")
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        match = re.fullmatch(r"socket://127\.0\.0\.1:(\d+)", url)
        assert match, url
        with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as conn:
            data = b""
            while len(split_hdlc(data[: data.rfind(b"\x7e") + 1] or b"")) < 2:
                data += conn.recv(4096)
        assert data.startswith(b"\x7e\xa1")
    finally:
        err = _stop(proc)
    assert "e360" in err
    assert "plaintext" in err
    assert "stopped after" in err


def test_script_pty_with_link(tmp_path: Path) -> None:
    link = tmp_path / "ttyMETER"
    proc = _start("--pty", "--link", str(link), "--interval", "0.05", "--profile", "am550")
    try:
        assert proc.stdout is not None
        path = proc.stdout.readline().strip()
        assert path.startswith("/dev/pts/")
        assert os.path.realpath(link) == path
        fd = os.open(link, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            data = b""
            deadline = time.monotonic() + 10
            while data.count(b"\x7e\xa0") < 2 and time.monotonic() < deadline:
                try:
                    data += os.read(fd, 4096)
                except BlockingIOError:
                    time.sleep(0.02)
        finally:
            os.close(fd)
        assert b"\x7e\xa8" in data  # AM550 S-bit segments
    finally:
        _stop(proc)
    assert not link.exists()  # removed on the way out
