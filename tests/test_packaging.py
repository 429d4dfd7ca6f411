"""Fast checks of the installer recipes in packaging/ and the files they ship.

Nothing here runs PyInstaller (``packaging/ci_package.sh`` builds, installs
and self-tests the real package); these catch the cheap mistakes first: a
spec that no longer parses, a resource the helper cannot find, an icon of
the wrong size, a .desktop entry missing a key, a dependency list that does
not parse, two PyInstaller pins that disagree.
"""

from __future__ import annotations

import ast
import configparser
import importlib.util
import re
import struct
import sys
import tomllib
from pathlib import Path
from types import ModuleType

import pytest

from inspector import resources

ROOT = Path(__file__).resolve().parent.parent
PACKAGING = ROOT / "packaging"
ICONS = ROOT / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def load(name: str) -> ModuleType:
    """A module from packaging/ by path: that folder is not a package, and
    its name would clash with the ``packaging`` distribution."""
    spec = importlib.util.spec_from_file_location(f"_packaging_{name}", PACKAGING / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


# The spec


def test_spec_parses_and_names_what_exists() -> None:
    source = (PACKAGING / "inspector.spec").read_text()
    tree = ast.parse(source, "inspector.spec")
    called = {
        node.func.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert {"Analysis", "PYZ", "EXE", "COLLECT", "BUNDLE"} <= called
    # onedir: the executable leaves the binaries to COLLECT.
    assert "exclude_binaries=True" in source
    # Version and name come from the package, never typed into the spec.
    assert "inspector.__version__" in source
    assert not re.search(r"""version\s*=\s*["']\d""", source)
    assert (PACKAGING / "entry.py").is_file()
    for module in ("QtCore", "QtGui", "QtWidgets"):
        hook = PACKAGING / "hooks" / f"hook-PySide6.{module}.py"
        assert "prune(" in hook.read_text()


def test_entry_script_runs_the_cli() -> None:
    tree = ast.parse((PACKAGING / "entry.py").read_text())
    imports = [node for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]
    assert any(node.module == "inspector.cli" for node in imports)


@pytest.mark.parametrize(
    ("path", "kept"),
    [
        ("PySide6/Qt/plugins/platforms/libqxcb.so", True),
        ("PySide6/Qt/plugins/platforms/libqwayland.so", True),
        ("PySide6/Qt/plugins/platforms/libqoffscreen.so", True),
        ("PySide6/Qt/plugins/platforms/libqeglfs.so", False),
        ("PySide6/Qt/plugins/platforms/libqvnc.so", False),
        ("PySide6/Qt/plugins/imageformats/libqsvg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqjpeg.so", True),
        ("PySide6/Qt/plugins/imageformats/libqpdf.so", False),
        ("PySide6/Qt/plugins/iconengines/libqsvgicon.so", True),
        ("PySide6/Qt/plugins/platformthemes/libqgtk3.so", False),
        ("PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so", False),
        ("PySide6/Qt/plugins/tls/libqopensslbackend.so", False),
        ("PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so", False),
        ("PySide6/Qt/plugins/wayland-shell-integration/libxdg-shell.so", True),
        ("PySide6/Qt/translations/qtbase_de.qm", False),
        ("PySide6/Qt/lib/libQt6Core.so.6", True),
        ("PySide6\\Qt\\plugins\\platforms\\qwindows.dll", True),
        ("resources/inspector.svg", True),
        ("certifi/cacert.pem", True),
    ],
)
def test_qt_prune_keeps_what_the_app_needs(path: str, kept: bool) -> None:
    assert load("qt_prune").keep_file(path) is kept


def test_qt_prune_excludes_no_module_the_app_imports() -> None:
    qt_prune = load("qt_prune")
    assert not set(qt_prune.QT_MODULES_USED) & set(qt_prune.QT_MODULES_EXCLUDED)
    used = set()
    for path in (ROOT / "inspector").rglob("*.py"):
        used.update(re.findall(r"PySide6\.(Qt\w+)", path.read_text()))
        used.update(re.findall(r"from PySide6 import (Qt\w+)", path.read_text()))
    assert used <= set(qt_prune.QT_MODULES_USED), (
        f"the app now imports {sorted(used - set(qt_prune.QT_MODULES_USED))}: add them to "
        "QT_MODULES_USED in packaging/qt_prune.py (and take them out of QT_MODULES_EXCLUDED)"
    )


# Resources, unfrozen and frozen


def test_resources_helper_finds_the_checkout() -> None:
    assert resources.resources_dir() == ROOT / "resources"
    assert resources.resource("inspector.svg") == ROOT / "resources" / "inspector.svg"
    assert resources.resource("inspector.desktop") is not None
    assert resources.resource("no-such-file.png") is None


def test_resources_helper_looks_in_the_bundle_when_frozen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "resources").mkdir()
    (tmp_path / "resources" / "inspector.svg").write_text("<svg/>")
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path), raising=False)
    assert resources.resources_dir() == tmp_path / "resources"
    assert resources.resource("inspector.svg") == tmp_path / "resources" / "inspector.svg"
    assert resources.resource("inspector.desktop") is None


# Icons and the desktop entry


@pytest.mark.parametrize("size", PNG_SIZES)
def test_png_icons_have_their_size(size: int) -> None:
    assert png_size((ICONS / f"inspector-{size}.png").read_bytes()) == (size, size)


def test_ico_holds_the_windows_sizes() -> None:
    data = (ICONS / "inspector.ico").read_bytes()
    reserved, kind, count = struct.unpack_from("<HHH", data)
    assert (reserved, kind) == (0, 1)
    sizes = []
    for index in range(count):
        width, _, _, _, _, _, length, offset = struct.unpack_from("<BBBBHHII", data, 6 + 16 * index)
        assert png_size(data[offset : offset + length])[0] == (width or 256)
        sizes.append(width or 256)
    assert sorted(sizes) == [16, 24, 32, 48, 64, 128, 256]


def test_icns_holds_the_macos_sizes() -> None:
    data = (ICONS / "inspector.icns").read_bytes()
    assert data[:4] == b"icns" and struct.unpack(">I", data[4:8])[0] == len(data)
    found, at = {}, 8
    while at < len(data):
        kind, length = data[at : at + 4].decode(), struct.unpack(">I", data[at + 4 : at + 8])[0]
        found[kind] = png_size(data[at + 8 : at + length])[0]
        at += length
    assert found == {
        "ic07": 128,
        "ic08": 256,
        "ic09": 512,
        "ic10": 1024,
        "ic11": 32,
        "ic12": 64,
        "ic13": 256,
        "ic14": 512,
    }


def test_icon_writers_round_trip() -> None:
    make_icons = load("make_icons")
    fake = {16: b"\x89PNG\r\n\x1a\n" + b"\0" * 8 + b"IHDR" + struct.pack(">II", 16, 16)}
    ico = make_icons.build_ico(fake)
    assert struct.unpack_from("<HHH", ico) == (0, 1, 1)
    assert ico.endswith(fake[16])
    icns = make_icons.build_icns({"ic07": b"abc"})
    assert icns == b"icns" + struct.pack(">I", 19) + b"ic07" + struct.pack(">I", 11) + b"abc"


def test_desktop_entry() -> None:
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(ROOT / "resources" / "inspector.desktop")
    entry = parser["Desktop Entry"]
    assert entry["Type"] == "Application"
    assert entry["Name"] == "Inspector"
    assert entry["Comment"]
    assert entry["Exec"] == "inspector"
    assert entry["Icon"] == "inspector"
    assert entry["Terminal"] == "false"
    assert entry["Categories"] == "Development;Network;"
    # Qt's xcb plugin sets WM_CLASS's class to the application name.
    assert entry["StartupWMClass"] == "Inspector"


# The Debian package's dependencies and the PyInstaller pin


def test_debian_depends_parse_and_cover_the_basics() -> None:
    check_deps = load("check_deps")
    declared = check_deps.parse_relations(
        check_deps.read_depends_file(PACKAGING / "linux" / "depends")
    )
    for package in ("libgl1", "libegl1", "libfontconfig1", "libxkbcommon0", "ca-certificates"):
        assert package in declared
    assert declared["libc6"] is not None, "libc6 needs a minimum version"


def test_check_deps_reads_elf_dependencies() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("ELF files are Linux's")
    check_deps = load("check_deps")
    names = check_deps.needed_names(Path(sys.executable).resolve())
    assert any(name.startswith(("libc.so", "libpython")) for name in names)


def test_pyinstaller_pins_agree() -> None:
    pins = {
        line.split("==")[0]: line.split("==")[1]
        for line in (PACKAGING / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert "pyinstaller" in pins
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"].get(
        "optional-dependencies", {}
    )
    for requirement in extras.get("package", []):
        name, _, version = requirement.partition("==")
        assert pins.get(name.strip().lower()) == version.strip(), requirement


def test_shell_scripts_are_executable_and_strict() -> None:
    for name in ("build_deb.sh", "ci_package.sh", "macos/build_dmg.sh", "check_bare_debian.sh"):
        script = PACKAGING / name
        assert script.stat().st_mode & 0o111, f"{name} is not executable"
        assert "set -euo pipefail" in script.read_text()
