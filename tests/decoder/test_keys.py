"""User key parsing: separators and case accepted, clear errors that never echo the key."""

from __future__ import annotations

import pytest

from custom_components.swiss_meter_cii.decoder.keys import parse_key

KEY_HEX = "36C66639E48A8CA4D6BC8B282A793BBB"


@pytest.mark.parametrize(
    "text",
    [
        KEY_HEX,
        KEY_HEX.lower(),
        " ".join(KEY_HEX[i : i + 2] for i in range(0, 32, 2)),
        ":".join(KEY_HEX[i : i + 2] for i in range(0, 32, 2)),
        "-".join(KEY_HEX[i : i + 4] for i in range(0, 32, 4)),
        f"  {KEY_HEX}\n",
        "36c66639 E48A8CA4\td6bc8b28-2A793BBB",
    ],
)
def test_accepted_forms(text: str) -> None:
    assert parse_key(text) == bytes.fromhex(KEY_HEX)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (KEY_HEX + "ABC", "35 hex digits, expected 32"),
        (KEY_HEX[:30], "30 hex digits, expected 32"),
        ("", "empty"),
        ("   ", "empty"),
        (KEY_HEX[:31] + "G", "1 character is not"),
        ("9CoQ7w5LMFoLS3gJ", "16-character text key"),
        ("0x" + KEY_HEX, "0x"),
    ],
)
def test_rejected_forms(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as err:
        parse_key(text)
    text_compact = text.strip()
    for chunk in (text_compact, KEY_HEX, KEY_HEX[:8], KEY_HEX[8:16], "9CoQ7w5L"):
        if chunk:
            assert chunk not in str(err.value)
