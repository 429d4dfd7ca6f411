"""Renders resources/inspector.svg into the icon files desktops and installers use.

Writes ``resources/icons/inspector-<size>.png`` for every size in ``SIZES``
(the hicolor theme sizes a Linux desktop asks for, plus 512 for macOS and
high-DPI launchers), ``inspector.ico`` (Windows: 16-256 px, PNG-compressed
entries, which every Windows since Vista reads) and ``inspector.icns``
(macOS: PNG entries ic07-ic14, which macOS reads since 10.7, so no
``iconutil`` is needed). The SVG is drawn with Qt's own ``QSvgRenderer``
(PySide6-Essentials ships QtSvg), so the PNGs look like the icon Qt draws
from the SVG at run time. Run it after changing the SVG and commit the
results: ``.venv/bin/python packaging/make_icons.py``.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SVG = ROOT / "resources" / "inspector.svg"
OUT = ROOT / "resources" / "icons"

SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
"""256 is the largest size an ICO entry can describe (its width byte is 0)."""
ICNS_TYPES = (
    ("ic07", 128),
    ("ic08", 256),
    ("ic09", 512),
    ("ic10", 1024),  # 512@2x
    ("ic11", 32),  # 16@2x
    ("ic12", 64),  # 32@2x
    ("ic13", 256),  # 128@2x
    ("ic14", 512),  # 256@2x
)


def render_png(renderer: object, size: int) -> bytes:
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF
    from PySide6.QtGui import QImage, QPainter

    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(0)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter, QRectF(0, 0, size, size))  # type: ignore[attr-defined]
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError(f"cannot encode the {size} px icon as PNG")
    buffer.close()
    return bytes(data.data())


def build_ico(pngs: dict[int, bytes]) -> bytes:
    """An ICO file whose entries are PNG images (ICONDIR, ICONDIRENTRYs, data)."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        data = pngs[size]
        dim = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


def build_icns(pngs: dict[str, bytes]) -> bytes:
    """An ICNS file: 'icns', total length, then (type, length, PNG) chunks."""
    body = b"".join(
        kind.encode("ascii") + struct.pack(">I", 8 + len(data)) + data
        for kind, data in pngs.items()
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--svg", type=Path, default=SVG)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(args.svg))
    if not renderer.isValid():
        print(f"make_icons: {args.svg} is not a valid SVG", file=sys.stderr)
        return 1

    wanted = set(SIZES) | set(ICO_SIZES) | {size for _, size in ICNS_TYPES}
    rendered = {size: render_png(renderer, size) for size in sorted(wanted)}
    args.out.mkdir(parents=True, exist_ok=True)
    for size in SIZES:
        (args.out / f"inspector-{size}.png").write_bytes(rendered[size])
    (args.out / "inspector.ico").write_bytes(build_ico({s: rendered[s] for s in ICO_SIZES}))
    (args.out / "inspector.icns").write_bytes(
        build_icns({kind: rendered[size] for kind, size in ICNS_TYPES})
    )
    del app
    print(f"wrote {len(SIZES)} PNGs, inspector.ico and inspector.icns to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
