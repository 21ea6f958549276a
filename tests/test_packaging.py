"""What HACS and Home Assistant check before users get the integration, checked offline.

HACS's validation action (hacs.json, one integration under custom_components/, manifest keys
and version, brand images, information) and the parts of core's hassfest that apply to a
custom integration (manifest, translations, quality_scale.yaml) cannot run here: both are
fetched from GitHub, which CI cannot reach. These tests check the same rules on our files.
"""

from __future__ import annotations

import json
from pathlib import Path
import re
import struct
from typing import Any

from awesomeversion import AwesomeVersion
from homeassistant.util.yaml import load_yaml_dict
from packaging.requirements import Requirement
import pytest

ROOT = Path(__file__).resolve().parent.parent
INTEGRATIONS = ROOT / "custom_components"
DOMAIN = "swiss_meter_cii"
INTEGRATION = INTEGRATIONS / DOMAIN

# hacs.json keys HACS knows (its hacs.json schema); name is required.
HACS_KEYS = {
    "name",
    "content_in_root",
    "zip_release",
    "filename",
    "hide_default_branch",
    "country",
    "homeassistant",
    "hacs",
    "persistent_directory",
    "render_readme",
}
# Rules of the Integration Quality Scale, as core's script/hassfest/quality_scale.py lists them.
QUALITY_RULES = {
    "bronze": [
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow",
        "config-flow-test-coverage", "dependency-transparency", "docs-actions",
        "docs-conditions", "docs-high-level-description", "docs-installation-instructions",
        "docs-removal-instructions", "docs-triggers", "entity-event-setup", "entity-unique-id",
        "has-entity-name", "runtime-data", "test-before-configure", "test-before-setup",
        "unique-config-entry",
    ],
    "silver": [
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner",
        "log-when-unavailable", "parallel-updates", "reauthentication-flow", "test-coverage",
    ],
    "gold": [
        "devices", "diagnostics", "discovery", "discovery-update-info", "docs-data-update",
        "docs-examples", "docs-known-limitations", "docs-supported-devices",
        "docs-supported-functions", "docs-troubleshooting", "docs-use-cases", "dynamic-devices",
        "entity-category", "entity-device-class", "entity-disabled-by-default",
        "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    ],
    "platinum": ["async-dependency", "inject-websession", "strict-typing"],
}  # fmt: skip
LANGUAGES = ("en", "de", "fr", "it")


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    width, height = struct.unpack(">II", head[16:24])
    return int(width), int(height)


def test_hacs_json() -> None:
    hacs = load_json(ROOT / "hacs.json")
    assert set(hacs) <= HACS_KEYS, set(hacs) - HACS_KEYS
    assert hacs["name"]
    assert AwesomeVersion(hacs["homeassistant"]).valid
    # The minimum we claim is the release the default test leg runs.
    tested = (ROOT / "requirements_test.txt").read_text(encoding="utf-8")
    minimum = re.search(r"^homeassistant==(\S+)", tested, re.M)
    assert minimum is not None
    assert AwesomeVersion(hacs["homeassistant"]) <= AwesomeVersion(minimum.group(1))
    assert all(re.fullmatch(r"[A-Z]{2}", code) for code in hacs["country"])
    if hacs.get("render_readme"):
        assert (ROOT / "README.md").is_file()


def test_one_integration_in_custom_components() -> None:
    folders = [p.name for p in INTEGRATIONS.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert folders == [DOMAIN]


def test_manifest() -> None:
    manifest = load_json(INTEGRATION / "manifest.json")
    for key in ("domain", "name", "version", "documentation", "issue_tracker", "codeowners"):
        assert manifest.get(key), f"manifest.json needs {key}"
    assert manifest["domain"] == DOMAIN
    assert AwesomeVersion(manifest["version"]).valid
    assert manifest["documentation"].startswith("https://")
    assert manifest["issue_tracker"].startswith("https://")
    assert all(owner.startswith("@") for owner in manifest["codeowners"])
    assert manifest["config_flow"] is True
    assert manifest["iot_class"] == "local_push"
    assert manifest["integration_type"] == "device"
    for line in manifest["requirements"]:
        requirement = Requirement(line)
        # HA installs requirements under its own constraints: an exact pin can conflict.
        assert not any(spec.operator == "==" for spec in requirement.specifier), line
    # hassfest sorts these keys: domain, name, then alphabetical.
    keys = list(manifest)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])


def test_brand_images() -> None:
    brand = INTEGRATION / "brand"
    assert png_size(brand / "icon.png") == (256, 256)
    assert png_size(brand / "icon@2x.png") == (512, 512)
    width, height = png_size(brand / "logo.png")
    assert height == 256
    assert 128 <= width <= 1024


def test_translations_complete() -> None:
    """strings.json is English; every language has exactly its keys (no stale, none missing)."""

    def keys(node: Any, prefix: str = "") -> set[str]:
        if isinstance(node, dict):
            return {k for name, value in node.items() for k in keys(value, f"{prefix}/{name}")}
        return {prefix}

    strings = load_json(INTEGRATION / "strings.json")
    assert load_json(INTEGRATION / "translations" / "en.json") == strings
    for language in LANGUAGES:
        translated = load_json(INTEGRATION / "translations" / f"{language}.json")
        assert keys(translated) == keys(strings), language


def test_every_wizard_field_is_described() -> None:
    strings = load_json(INTEGRATION / "strings.json")
    steps = {
        **strings["config"]["step"],
        **{f"options/{k}": v for k, v in strings["options"]["step"].items()},
    }
    for name, step in steps.items():
        assert set(step.get("data", {})) == set(step.get("data_description", {})), name


def test_fixable_issues_have_a_flow_and_others_a_description() -> None:
    """hassfest: an issue has a description or a fix flow, not both."""
    for name, issue in load_json(INTEGRATION / "strings.json")["issues"].items():
        assert issue["title"], name
        assert ("description" in issue) != ("fix_flow" in issue), name


def test_quality_scale_is_complete_and_has_no_todo() -> None:
    rules = load_yaml_dict(INTEGRATION / "quality_scale.yaml")["rules"]
    wanted = [rule for tier in QUALITY_RULES.values() for rule in tier]
    assert sorted(rules) == sorted(wanted)
    for name, rule in rules.items():
        status = rule if isinstance(rule, str) else rule["status"]
        assert status in ("done", "exempt"), f"{name}: {status}"
        if status == "exempt":
            assert rule["comment"].strip(), f"{name}: an exemption needs a reason"


@pytest.mark.parametrize("path", ["icons.json", "strings.json"])
def test_json_files_are_formatted(path: str) -> None:
    """Two-space indented JSON with a final newline (what scripts/sync_translations writes)."""
    text = (INTEGRATION / path).read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
