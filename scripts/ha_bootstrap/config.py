"""The configuration folder of a Home Assistant run: configuration.yaml and our integration."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import metadata
import json
from pathlib import Path
import re
from typing import Final

from .errors import BootstrapError

REPO: Final = Path(__file__).resolve().parents[2]
DOMAIN: Final = "swiss_meter_cii"
INTEGRATION_DIR: Final = REPO / "custom_components" / DOMAIN


@dataclass(frozen=True, slots=True)
class HaConfig:
    """What goes into configuration.yaml; everything else Home Assistant stores itself."""

    http_port: int = 8123
    name: str = "Swiss Meter CII (development)"
    log_default: str = "warning"
    log_levels: Mapping[str, str] = field(
        default_factory=lambda: {f"custom_components.{DOMAIN}": "info"}
    )

    def yaml(self) -> str:
        """Minimal offline configuration: no default_config (it pulls extra packages)."""
        logs = "".join(f"    {name}: {level}\n" for name, level in self.log_levels.items())
        # Latitude/longitude stop Home Assistant from asking the internet where it is.
        return (
            "# Written by scripts/ha_bootstrap (scripts/develop, tests/e2e): an offline\n"
            "# Home Assistant on loopback with only what the integration and the Energy\n"
            "# dashboard need. Edit freely; it is only written when missing.\n"
            "homeassistant:\n"
            f"  name: {json.dumps(self.name)}\n"
            "  time_zone: Europe/Zurich\n"
            "  country: CH\n"
            "  unit_system: metric\n"
            "  currency: CHF\n"
            "  latitude: 47.3769\n"
            "  longitude: 8.5417\n"
            "  elevation: 408\n"
            "http:\n"
            "  server_host: 127.0.0.1\n"
            f"  server_port: {self.http_port}\n"
            "api:\n"
            "config:\n"
            "onboarding:\n"
            "frontend:\n"
            "logger:\n"
            f"  default: {self.log_default}\n"
            + (f"  logs:\n{logs}" if logs else "")
            + "recorder:\n"
            "history:\n"
            "energy:\n"
        )


def prepare_config_dir(config_dir: Path, config: HaConfig) -> None:
    """Create the folder, configuration.yaml (only when missing) and the integration link."""
    config_dir.mkdir(parents=True, exist_ok=True)
    yaml_file = config_dir / "configuration.yaml"
    if not yaml_file.exists():
        yaml_file.write_text(config.yaml(), encoding="utf-8")
    else:  # kept as the developer left it, but it must serve on the port we will call
        found = re.search(r"^\s*server_port:\s*(\d+)", yaml_file.read_text(encoding="utf-8"), re.M)
        port = int(found.group(1)) if found else 8123
        if port != config.http_port:
            raise BootstrapError(
                f"{yaml_file} serves on port {port}, not {config.http_port}:"
                " edit server_port there or start over with --fresh"
            )
    custom = config_dir / "custom_components"
    custom.mkdir(exist_ok=True)
    link = custom / DOMAIN
    if link.is_symlink() and link.resolve() == INTEGRATION_DIR.resolve():
        return
    if link.is_symlink() or link.is_file():
        link.unlink()
    elif link.exists():
        raise BootstrapError(f"{link} is a folder, not a link to {INTEGRATION_DIR}")
    link.symlink_to(INTEGRATION_DIR, target_is_directory=True)


def missing_requirements() -> list[str]:
    """Manifest requirements not satisfied in this venv (we start hass with --skip-pip).

    `--skip-pip` keeps Home Assistant offline: onboarding would otherwise pip-install the
    packages of met, radio_browser and google_translate. So our own requirements must already
    be installed, which scripts/setup does.
    """
    from packaging.requirements import Requirement

    manifest = json.loads((INTEGRATION_DIR / "manifest.json").read_text(encoding="utf-8"))
    missing = []
    for line in manifest.get("requirements", []):
        req = Requirement(line)
        try:
            version = metadata.version(req.name)
        except metadata.PackageNotFoundError:
            missing.append(line)
            continue
        if not req.specifier.contains(version, prereleases=True):
            missing.append(f"{line} (installed {version})")
    return missing
