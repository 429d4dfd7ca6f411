"""Which parts of Qt go into the bundle: the rules the spec and its Qt hooks share.

The app imports QtCore, QtGui and QtWidgets only. PyInstaller's own Qt hooks
collect every plugin folder of QtGui (and the link-time dependencies of each
plugin, which is how a GTK theme plugin drags GTK, Cairo and Pango along)
and every translation of QtCore. ``hooks/hook-PySide6.QtGui.py`` and
``hooks/hook-PySide6.QtCore.py`` run the stock collection and pass its
result through ``prune`` before PyInstaller analyses the binaries, so what is
dropped here never pulls in its dependencies either. Plain Python (no
PyInstaller import) so tests/test_packaging.py can check the rules.
"""

from __future__ import annotations

from pathlib import PurePath

KEEP_PLUGINS: dict[str, frozenset[str] | None] = {
    # xcb for X11, wayland for Wayland sessions, offscreen for --selftest and
    # CI. eglfs, linuxfb, vnc, minimal and vkkhrdisplay are for devices
    # without a desktop; cocoa and windows are their platforms' own.
    "platforms": frozenset(
        {
            "libqxcb.so",
            "libqwayland.so",
            "libqoffscreen.so",
            "libqcocoa.dylib",
            "qwindows.dll",
            "qoffscreen.dll",
            "libqoffscreen.dylib",
        }
    ),
    # What the wayland platform loads: the xdg shell every compositor speaks
    # and client-side decorations (GNOME draws none for its clients). The
    # graphics integrations are for OpenGL and compositor buffers; widgets
    # draw into shared memory, which is built into the platform plugin.
    "wayland-shell-integration": frozenset({"libxdg-shell.so"}),
    "wayland-decoration-client": None,
    # GLX/EGL glue for xcb, loaded only if a window asks for OpenGL; small,
    # and it needs no library that Qt itself does not already link.
    "xcbglintegrations": None,
    # Compose key and IBus input methods (accents, CJK). The virtual
    # keyboard needs QtQuick.
    "platforminputcontexts": frozenset(
        {"libcomposeplatforminputcontextplugin.so", "libibusplatforminputcontextplugin.so"}
    ),
    # Native dialogs through the XDG desktop portal (D-Bus only). The GTK3
    # theme plugin would drag GTK, Cairo and Pango into the bundle.
    "platformthemes": frozenset({"libqxdgdesktopportal.so"}),
    # The body viewer shows PNG (built into QtGui), JPEG, GIF, WebP and ICO
    # responses; the SVG plugins draw the window icon, resources/inspector.svg.
    "imageformats": frozenset(
        f"{prefix}{name}{suffix}"
        for name in ("jpeg", "gif", "webp", "ico", "svg")
        for prefix, suffix in (("libq", ".so"), ("libq", ".dylib"), ("q", ".dll"))
    ),
    "iconengines": frozenset({"libqsvgicon.so", "libqsvgicon.dylib", "qsvgicon.dll"}),
    # Windows and macOS: native look and accessibility.
    "styles": None,
    "accessiblebridge": None,
}
"""Plugin folder -> file names kept (None: the whole folder). Folders not
listed (egldeviceintegrations, generic, wayland-graphics-integration-client,
networkinformation, tls, printsupport, sqldrivers, qmltooling...) are dropped."""

QT_MODULES_USED = ("QtCore", "QtGui", "QtWidgets")

QT_MODULES_EXCLUDED = (
    "QtNetwork",
    "QtQml",
    "QtQuick",
    "QtQuickControls2",
    "QtQuickWidgets",
    "QtQuickTest",
    "QtOpenGL",
    "QtOpenGLWidgets",
    "QtDBus",
    "QtSql",
    "QtTest",
    "QtPrintSupport",
    "QtXml",
    "QtUiTools",
    "QtHelp",
    "QtDesigner",
    "QtConcurrent",
    "QtSvg",
    "QtSvgWidgets",
    "Qt3DCore",
    "QtWebEngineCore",
    "QtWebEngineWidgets",
    "QtMultimedia",
    "QtPdf",
)
"""Python modules the app never imports; excluding them keeps their hooks
from collecting the libraries, plugins and QML files behind them. (The
Qt libraries themselves still come along when something kept links them:
libQt6DBus for QtGui, libQt6Svg for the SVG plugins.)"""


def keep_plugin(folder: str, name: str) -> bool:
    allowed = KEEP_PLUGINS.get(folder.replace("\\", "/").split("/")[0], False)
    if allowed is False:
        return False
    return allowed is None or name in allowed


def keep_file(dest: str) -> bool:
    """Whether a collected file stays, by its path inside the bundle
    (``PySide6/Qt/plugins/platforms/libqxcb.so``)."""
    parts = PurePath(dest.replace("\\", "/")).parts
    if len(parts) >= 3 and parts[0] == "PySide6" and parts[1] == "Qt":
        if parts[2] == "translations":
            return False
        if parts[2] == "plugins" and len(parts) >= 5:
            return keep_plugin("/".join(parts[3:-1]), parts[-1])
    return True


def prune(
    hiddenimports: list[str], binaries: list[tuple[str, str]], datas: list[tuple[str, str]]
) -> tuple[list[str], list[tuple[str, str]], list[tuple[str, str]]]:
    """A Qt hook's (hiddenimports, binaries, datas) with the unwanted parts
    removed. Hook entries are (source file, destination folder)."""
    excluded = {f"PySide6.{module}" for module in QT_MODULES_EXCLUDED}
    return (
        [name for name in hiddenimports if name not in excluded],
        [(src, dst) for src, dst in binaries if keep_file(f"{dst}/{PurePath(src).name}")],
        [(src, dst) for src, dst in datas if keep_file(f"{dst}/{PurePath(src).name}")],
    )
