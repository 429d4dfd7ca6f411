"""A parsed JSON value laid out for a collapsible tree view of any size.

Nodes are numbered breadth first, so the children of a node are a run of
consecutive numbers: the view finds a row's node, its parent and its row
in O(1) from three integer arrays, and reads a node's key and value text
from one UTF-8 blob only when that row is drawn. Built in the render
helper, the whole tree crosses to the window as a few byte strings, and
nothing in the window walks it.
"""

from __future__ import annotations

import array
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

MAX_NODES = 4_000_000
"""Children past this many nodes are left out (their parent says so)."""
PREVIEW_CHARS = 160
"""How much of a string value a row shows."""

OBJECT, ARRAY, STRING, NUMBER, BOOL, NULL = range(6)


@dataclass(slots=True)
class JsonTree:
    parent: array.array[int] = field(default_factory=lambda: array.array("i"))
    first: array.array[int] = field(default_factory=lambda: array.array("i"))
    """The number of a node's first child (meaningless with no children)."""
    count: array.array[int] = field(default_factory=lambda: array.array("i"))
    """How many children a node has in the tree."""
    kinds: bytearray = field(default_factory=bytearray)
    offsets: array.array[int] = field(default_factory=lambda: array.array("Q"))
    """Two per node, key then value text, into ``blob``, and a last end."""
    blob: bytearray = field(default_factory=bytearray)
    cut: bool = False
    """Some children were left out at ``MAX_NODES``."""

    def __len__(self) -> int:
        return len(self.kinds)

    def key(self, node: int) -> str:
        return self._text(2 * node)

    def value(self, node: int) -> str:
        return self._text(2 * node + 1)

    def _text(self, at: int) -> str:
        return self.blob[self.offsets[at] : self.offsets[at + 1]].decode("utf-8", "replace")

    def to_bytes(self) -> dict[str, bytes]:
        return {
            "parent": self.parent.tobytes(),
            "first": self.first.tobytes(),
            "count": self.count.tobytes(),
            "kinds": bytes(self.kinds),
            "offsets": self.offsets.tobytes(),
            "blob": bytes(self.blob),
            "cut": b"1" if self.cut else b"",
        }

    @classmethod
    def from_bytes(cls, parts: dict[str, bytes]) -> JsonTree:
        tree = cls(cut=bool(parts["cut"]))
        tree.parent.frombytes(parts["parent"])
        tree.first.frombytes(parts["first"])
        tree.count.frombytes(parts["count"])
        tree.kinds[:] = parts["kinds"]
        tree.offsets.frombytes(parts["offsets"])
        tree.blob[:] = parts["blob"]
        return tree


def build_tree(value: Any, limit: int = MAX_NODES) -> JsonTree:
    """The tree of a parsed JSON ``value``; node 0 is the value itself."""
    tree = JsonTree()
    tree.offsets.append(0)
    queue: deque[Any] = deque()
    _add(tree, queue, -1, "", value)
    node = 0
    while queue:
        item = queue.popleft()
        children: list[tuple[str, Any]]
        if isinstance(item, dict):
            children = [(str(k), v) for k, v in item.items()]
        elif isinstance(item, list):
            children = [(f"[{i}]", v) for i, v in enumerate(item)]
        else:
            children = []
        room = max(0, limit - len(tree))
        if len(children) > room:
            children = children[:room]
            tree.cut = True
        tree.first[node] = len(tree)
        tree.count[node] = len(children)
        for key, child in children:
            _add(tree, queue, node, key, child)
        node += 1
    return tree


def _add(tree: JsonTree, queue: deque[Any], parent: int, key: str, value: Any) -> None:
    tree.parent.append(parent)
    tree.first.append(0)
    tree.count.append(0)
    kind, text = _describe(value)
    tree.kinds.append(kind)
    for part in (key, text):
        tree.blob += part.encode("utf-8", "surrogatepass")
        tree.offsets.append(len(tree.blob))
    # Scalars are queued too, so node numbers stay breadth-first.
    queue.append(value if kind in (OBJECT, ARRAY) else None)


def _describe(value: Any) -> tuple[int, str]:
    if isinstance(value, dict):
        return OBJECT, f"{{{len(value):,} {'key' if len(value) == 1 else 'keys'}}}"
    if isinstance(value, list):
        return ARRAY, f"[{len(value):,} {'item' if len(value) == 1 else 'items'}]"
    if isinstance(value, str):
        text = json.dumps(value[: PREVIEW_CHARS + 1], ensure_ascii=False)
        if len(value) > PREVIEW_CHARS:
            text = text[:-2] + '…"'
        return STRING, text
    if isinstance(value, bool):
        return BOOL, "true" if value else "false"
    if value is None:
        return NULL, "null"
    return NUMBER, json.dumps(value)
