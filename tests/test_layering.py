"""core and proxy must import where PySide6 and qasync cannot."""

from __future__ import annotations

import subprocess
import sys

BLOCKER = """
import importlib.abc, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("PySide6", "shiboken6", "qasync"):
            raise ImportError(f"{name} is blocked in this test")
        return None

sys.meta_path.insert(0, Block())
import pkgutil, importlib
import inspector.core, inspector.proxy, inspector.headless, inspector.cli
for pkg in (inspector.core, inspector.proxy):
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


def test_core_and_proxy_import_without_qt() -> None:
    result = subprocess.run(
        [sys.executable, "-c", BLOCKER], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"
