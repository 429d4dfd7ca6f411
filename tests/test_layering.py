"""Imports point down: core imports no other layer, link only core, proxy
core and link, gui core and link (never proxy); core, link and proxy import
where PySide6 and qasync cannot."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "inspector"

ALLOWED = {
    "core": {"core"},
    "link": {"core", "link"},
    "proxy": {"core", "link", "proxy"},
    "gui": {"core", "link", "gui", "launch", "sysproxy"},
    "launch": {"core", "launch"},
    "sysproxy": {"core", "sysproxy"},
}
"""Which layers each layer's modules may import from ``inspector``."""
ROOT_ONLY = {
    "app",
    "engine",
    "headless",
    "cli",
    "selftest",
    "options",
    "resources",
    "session_cli",
    "search_cli",
    "ctl",
    "cli_errors",
    "launch_cli",
}

BLOCKER = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qasync"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())
import pkgutil, importlib
import inspector.core, inspector.link, inspector.proxy, inspector.headless, inspector.cli
import inspector.engine, inspector.launch, inspector.sysproxy
for pkg in (inspector.core, inspector.link, inspector.proxy, inspector.launch, inspector.sysproxy):
    for mod in pkgutil.iter_modules(pkg.__path__, pkg.__name__ + "."):
        importlib.import_module(mod.name)
loaded = [m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "qasync")]
assert not loaded, loaded
try:
    import PySide6
except ImportError:
    pass
else:
    raise AssertionError("the blocker did not block")
print("ok")
"""


def test_core_link_and_proxy_import_without_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def imported_modules(path: Path) -> set[str]:
    """Every ``inspector...`` module a file imports, anywhere in it."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.startswith("inspector.")}


def layer_of(module: str) -> str:
    return module.split(".")[1]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_imports_point_down(layer: str) -> None:
    wrong = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in imported_modules(path):
            target = layer_of(module)
            if target in ALLOWED and target not in ALLOWED[layer]:
                wrong.append(f"{path.relative_to(PACKAGE)} imports {module}")
            elif target in ROOT_ONLY and module.count(".") == 1:
                wrong.append(f"{path.relative_to(PACKAGE)} imports the root {module}")
    assert wrong == []


def test_the_check_sees_a_wrong_import(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from inspector.proxy.server import ProxyServer\n"
        "def f():\n    import inspector.gui.flow_model\n"
    )
    assert imported_modules(sample) >= {"inspector.proxy.server", "inspector.gui.flow_model"}
