"""How every benchmark ends: its table on stdout, its figures as JSON."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def publish(summary: dict[str, Any], table: str, json_path: str | None) -> None:
    """Print ``table``; write ``summary`` to ``json_path`` when one is given
    (``run_all`` reads it back)."""
    print(table)
    if json_path:
        Path(json_path).write_text(json.dumps(summary, indent=2) + "\n")
