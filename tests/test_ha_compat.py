"""Every Home Assistant name the integration uses exists in 2025.4.4 *and* in the current release.

HACS users run the current release (2026.11), which cannot run on the Python 3.13.0 of these
machines, so its wheel is read (not imported): scripts/setup downloads it into .cache/setup/current.
Imports inside `try:` blocks are feature detection and are allowed to be missing; attribute
reads such as `SensorDeviceClass.ENERGY` are checked against the class bodies as well.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
import re
import zipfile

import homeassistant
import pytest

ROOT = Path(__file__).resolve().parents[1]
INTEGRATION = ROOT / "custom_components" / "swiss_meter_cii"
CURRENT_WHEELS = sorted((ROOT / ".cache" / "setup" / "current").glob("homeassistant-*.whl"))


class Source:
    """Read access to one Home Assistant release's source files."""

    def __init__(self, label: str) -> None:
        self.label = label

    def read(self, path: str) -> str | None:
        """Text of `homeassistant/...` path, or None when absent."""
        raise NotImplementedError


class InstalledSource(Source):
    """The release installed in the test environment."""

    def __init__(self) -> None:
        super().__init__("installed")
        self._root = Path(homeassistant.__file__).parent.parent

    def read(self, path: str) -> str | None:
        file = self._root / path
        return file.read_text(encoding="utf-8") if file.is_file() else None


class WheelSource(Source):
    """A release read from its wheel."""

    def __init__(self, wheel: Path) -> None:
        super().__init__(wheel.name)
        self._zip = zipfile.ZipFile(wheel)
        self._names = set(self._zip.namelist())

    def read(self, path: str) -> str | None:
        return self._zip.read(path).decode("utf-8") if path in self._names else None


@dataclass(frozen=True)
class Use:
    """One use of a Home Assistant name in the integration."""

    where: str
    module: str
    name: str | None  # None: the module itself
    attribute: str | None = None


def _in_try(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.Try):
            return True
    return False


def _uses() -> Iterator[Use]:
    for file in sorted(INTEGRATION.rglob("*.py")):
        if "decoder" in file.relative_to(INTEGRATION).parts:
            continue
        tree = ast.parse(file.read_text(encoding="utf-8"))
        parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
        where = str(file.relative_to(ROOT))
        bound: dict[str, tuple[str, str]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("homeassistant"):
                if _in_try(node, parents):
                    continue
                for alias in node.names:
                    yield Use(where, node.module or "", alias.name)
                    bound[alias.asname or alias.name] = (node.module or "", alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("homeassistant") and not _in_try(node, parents):
                        yield Use(where, alias.name, None)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in bound
                and node.attr.isupper()
            ):
                module, name = bound[node.value.id]
                yield Use(where, module, name, node.attr)


def _module_text(source: Source, module: str) -> str | None:
    path = module.replace(".", "/")
    return source.read(f"{path}.py") or source.read(f"{path}/__init__.py")


# Python 3.14 allows `except A, B:` (PEP 758); parenthesise it so 3.13's parser reads the file.
_BARE_EXCEPT_TUPLE = re.compile(r"^(\s*except\s+)([^():\n]+,[^():\n]+?)(\s+as\s+\w+)?:", re.M)


@cache
def _tree(source: Source, module: str) -> ast.Module | None:
    text = _module_text(source, module)
    if text is None:
        return None
    try:
        return ast.parse(text)
    except SyntaxError:
        return ast.parse(_BARE_EXCEPT_TUPLE.sub(r"\1(\2)\3:", text))


def _top_level(tree: ast.Module) -> Iterator[ast.stmt]:
    stack: list[ast.stmt] = list(tree.body)
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If | ast.Try):
            stack.extend(node.body)
            stack.extend(node.orelse)
            if isinstance(node, ast.Try):
                for handler in node.handlers:
                    stack.extend(handler.body)


def _find(source: Source, module: str, name: str, depth: int = 0) -> ast.stmt | str | None:
    """The statement defining `name` in `module` (following re-exports), 'module' for submodules."""
    tree = _tree(source, module)
    if tree is None or depth > 5:
        return None
    for node in _top_level(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) and (
            node.name == name
        ):
            return node
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == name for t in node.targets
        ):
            return node
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == name
        ):
            return node
        if isinstance(node, ast.TypeAlias) and node.name.id == name:
            return node
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if (alias.asname or alias.name) == name:
                    origin = _resolve(source, module, node)
                    if _module_text(source, f"{origin}.{alias.name}") is not None:
                        return "module"
                    return _find(source, origin, alias.name, depth + 1)
    if _module_text(source, f"{module}.{name}") is not None:
        return "module"
    return None


def _resolve(source: Source, module: str, node: ast.ImportFrom) -> str:
    """Absolute module name of a (possibly relative) `from ... import`."""
    if not node.level:
        return node.module or ""
    is_package = source.read(module.replace(".", "/") + "/__init__.py") is not None
    parts = module.split(".") if is_package else module.split(".")[:-1]
    parts = parts[: len(parts) - (node.level - 1)]
    return ".".join([*parts, node.module] if node.module else parts)


def _class_has(node: ast.ClassDef, attribute: str) -> bool:
    for stmt in node.body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == attribute for t in stmt.targets
        ):
            return True
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and stmt.target.id == attribute
        ):
            return True
    return False


def _problems(source: Source) -> list[str]:
    problems = []
    for use in _uses():
        if _module_text(source, use.module) is None:
            problems.append(f"{use.where}: module {use.module} missing")
            continue
        if use.name is None:
            continue
        found = _find(source, use.module, use.name)
        if found is None:
            problems.append(f"{use.where}: {use.module}.{use.name} missing")
        elif (
            use.attribute
            and isinstance(found, ast.ClassDef)
            and not _class_has(found, use.attribute)
        ):
            problems.append(f"{use.where}: {use.name}.{use.attribute} missing")
    return problems


def test_integration_uses_home_assistant() -> None:
    """Guard against the check passing vacuously."""
    names = {(u.module, u.name) for u in _uses()}
    assert ("homeassistant.config_entries", "ConfigEntry") in names or (
        "homeassistant.config_entries",
        "ConfigFlow",
    ) in names


def test_names_exist_in_installed_release() -> None:
    assert _problems(InstalledSource()) == []


@pytest.mark.skipif(not CURRENT_WHEELS, reason="scripts/setup downloads the current wheel")
def test_names_exist_in_current_release() -> None:
    assert _problems(WheelSource(CURRENT_WHEELS[-1])) == []


def test_checker_detects_a_missing_name() -> None:
    """The checker itself must be able to fail."""
    source = InstalledSource()
    assert _find(source, "homeassistant.const", "Platform") is not None
    assert _find(source, "homeassistant.const", "NO_SUCH_NAME_ANYWHERE") is None
    sensor = _find(source, "homeassistant.components.sensor", "SensorDeviceClass")
    assert isinstance(sensor, ast.ClassDef)
    assert _class_has(sensor, "ENERGY")
    assert not _class_has(sensor, "NO_SUCH_MEMBER")
