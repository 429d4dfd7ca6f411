"""Inspector: a desktop HTTP/HTTPS debugging proxy.

The package is layered: ``core`` holds pure logic (flows, the store, events,
HTTP rules), ``proxy`` the asyncio networking engine, and ``gui`` the PySide6
desktop app. ``core`` and ``proxy`` never import Qt.
"""

__version__ = "0.1.0"
