"""`scripts/decode`: run as a subprocess, JSON lines, exit codes, no keys, no Home Assistant."""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
import subprocess
import sys
from typing import Any

import pytest

from . import UNKNOWN_LIST, UNKNOWN_OUTLINE, UNKNOWN_SIGNATURE, vector

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "decode"
PACKAGE_PARENT = ROOT / "custom_components" / "swiss_meter_cii"
E450 = vector("lg-e450-gbt-glo-cnrd-1")


def _run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        input=stdin.decode("latin-1") if stdin is not None else None,
        capture_output=True,
        text=True,
        encoding="latin-1",
        cwd="/",
        env=env,
        timeout=60,
        check=False,
    )


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_decodes_the_e450_vector(tmp_path: Path) -> None:
    capture = tmp_path / "e450.bin"
    capture.write_bytes(bytes.fromhex(E450["hex"]))
    proc = _run("--key", E450["key_hex"].lower(), "--auth-key", E450["auth_key_hex"], str(capture))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    (push,) = _lines(proc.stdout)
    assert list(push) == [
        "layout",
        "model",
        "system_title",
        "manufacturer",
        "frame_counter",
        "security",
        "timestamp",
        "values",
    ]
    assert push["system_title"] == "4C475A677370B177"
    assert push["manufacturer"] == "LGZ"
    assert push["frame_counter"] == 0x00177BCA
    assert push["security"] == "authenticated"
    assert push["timestamp"] == "2022-02-21T17:37:30+01:00"
    assert push["values"]["1-0:1.8.0.255"] == {"value": 4408736, "unit": "Wh"}
    assert push["values"]["1-0:3.7.0.255"] == {"value": 1735, "unit": "var"}


def test_hex_argument_and_decimal_numbers() -> None:
    vec = vector("lg-e360-ch-hdlc-plain-vse2026-scs")
    proc = _run("--hex", vec["hex"])
    assert proc.returncode == 0, proc.stderr
    (push,) = _lines(proc.stdout)
    assert push["system_title"] is None
    assert push["manufacturer"] is None
    assert push["frame_counter"] is None
    assert push["security"] == "none"
    assert push["values"]["1-0:32.7.0.255"] == {"value": 235.7, "unit": "V"}
    assert push["values"]["0-0:42.0.0.255"] == {"value": "LGZ1030163598905", "unit": None}


def test_stdin_with_hex_text() -> None:
    vec = vector("smarty-lu-nexxtlab-raw-glo-dsmr")
    text = " ".join(vec["hex"][i : i + 2] for i in range(0, len(vec["hex"]), 2)) + "\n"
    proc = _run(
        "--key", vec["key_hex"], "--auth-key", vec["auth_key_hex"], "-", stdin=text.encode()
    )
    assert proc.returncode == 0, proc.stderr
    (push,) = _lines(proc.stdout)
    assert push["values"]["1-0:1.8.0.255"] == {"value": 6.695, "unit": "kWh"}
    assert push["timestamp"] == "2018-01-30T10:21:22+01:00"


def test_errors_go_to_stderr_without_keys() -> None:
    wrong = "000102030405060708090A0B0C0D0E0F"
    proc = _run("--key", wrong, "--hex", E450["hex"])
    assert proc.returncode == 1
    assert proc.stdout == ""
    (error,) = _lines(proc.stderr)
    assert error["error"] == "wrong_key"
    assert wrong not in proc.stderr
    assert wrong.lower() not in proc.stderr
    proc = _run("--key", E450["key_hex"], "--auth-key", wrong, "--hex", E450["hex"])
    assert [e["error"] for e in _lines(proc.stderr)] == ["auth_failed"]
    assert E450["key_hex"] not in proc.stderr
    proc = _run("--hex", E450["hex"])
    assert [e["error"] for e in _lines(proc.stderr)] == ["missing_key"]


def test_checksum_error_reported() -> None:
    proc = _run("--hex", vector("lg-zmf100-hdlc-cnrd")["hex"])
    assert proc.returncode == 1
    assert [e["error"] for e in _lines(proc.stderr)] == ["checksum"]
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["--key", "36C66639E48A8CA4D6BC8B282A793BBBAB", "--hex", "00"],
        ["--auth-key", "nothex", "--hex", "00"],
        ["--model", "unknown", "--hex", "00"],
        ["--hex", "ABC"],
        ["/nonexistent/capture.bin"],
    ],
)
def test_usage_errors(args: list[str]) -> None:
    proc = _run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    assert "36C66639E48A8CA4" not in proc.stderr
    assert "nothex" not in proc.stderr


def test_bad_key_message_is_clear() -> None:
    proc = _run("--key", "36C66639E48A8CA4D6BC8B282A793BBBABC", "--hex", "00")
    assert "35 hex digits, expected 32" in proc.stderr


def test_model_choice_accepted() -> None:
    proc = _run("--model", "lg_e450", "--hex", vector("lg-e450-ch-gbt-plain-vse2026-scs")["hex"])
    assert proc.returncode == 0, proc.stderr


def test_explain_outlines_an_unknown_list() -> None:
    proc = _run("--explain", "--hex", UNKNOWN_LIST.hex())
    assert proc.returncode == 1
    (event,) = _lines(proc.stderr)
    assert event["error"] == "unsupported_layout"
    assert UNKNOWN_SIGNATURE in event["detail"]
    assert event["outline"] == UNKNOWN_OUTLINE
    assert "outline" not in _lines(_run("--hex", UNKNOWN_LIST.hex()).stderr)[0]


def test_country_decides_kamstrup_energy() -> None:
    frame = next(
        f
        for f in json.loads((ROOT / "tests/fixtures/field_frames.json").read_text())
        if f["id"] == "C3-kamstrup-1p-list2-hourly"
    )
    norway = _lines(_run("--country", "NO", "--hex", frame["hex"]).stdout)[0]
    elsewhere = _lines(_run("--hex", frame["hex"]).stdout)[0]
    assert norway["values"]["1-1:1.8.0.255"]["value"] == 12327870
    assert elsewhere["values"]["1-1:1.8.0.255"]["value"] == 1232787


def test_nothing_decoded_exits_1() -> None:
    proc = _run("--hex", "0011223344")
    assert proc.returncode == 1
    assert proc.stdout == ""


def test_decoder_imports_without_home_assistant() -> None:
    code = (
        "import sys\n"
        "sys.modules['homeassistant'] = None\n"
        f"sys.path.insert(0, {str(PACKAGE_PARENT)!r})\n"
        "import decoder\n"
        "from decoder import StreamDecoder, decode_capture, parse_key, MODEL_IDS\n"
        "import decoder.cli, decoder.stream, decoder.layouts\n"
        "assert not any(m == 'homeassistant' or m.startswith('homeassistant.')\n"
        "               for m, v in sys.modules.items() if v is not None)\n"
        "print('ok')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"


def test_runs_with_only_cryptography_on_the_path(tmp_path: Path) -> None:
    # `-S`: no site-packages at all; the path holds cryptography and its cffi runtime only.
    for name in ("cryptography", "cffi", "_cffi_backend"):
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        origin = Path(spec.origin)
        target = origin.parent if origin.name == "__init__.py" else origin
        (tmp_path / target.name).symlink_to(target)
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-S", str(SCRIPT), "--key", E450["key_hex"], "--hex", E450["hex"]],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert _lines(proc.stdout)[0]["frame_counter"] == 0x00177BCA


def test_main_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    # The same entry point, in-process (covers the JSON conversion without a subprocess).
    from custom_components.swiss_meter_cii.decoder.cli import main

    status = main(["--key", E450["key_hex"], "--hex", E450["hex"]])
    out = capsys.readouterr()
    assert status == 0
    assert _lines(out.out)[0]["security"] == "encrypted"
