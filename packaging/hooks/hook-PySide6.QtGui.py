"""PyInstaller's own hook for PySide6.QtGui, with its result pruned by
packaging/qt_prune.py (which the spec puts on sys.path)."""

from PyInstaller.utils.hooks.qt import add_qt6_dependencies
from qt_prune import prune

hiddenimports, binaries, datas = prune(*add_qt6_dependencies(__file__))
