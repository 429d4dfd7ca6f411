"""The allocator policy and the RSS reading."""

from __future__ import annotations

import subprocess
import sys

import pytest

from inspector.core.memory import pin_mmap_threshold, rss_bytes


def test_rss_is_read() -> None:
    assert rss_bytes() > 1024 * 1024


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_the_mmap_threshold_is_pinned_and_large_blocks_go_back() -> None:
    """With the threshold fixed, a freed 4 MiB block leaves RSS at once, and
    freeing it does not raise the threshold (glibc's dynamic adjustment),
    so the next one is mapped and given back too. Run in a child process:
    the setting is process-wide."""
    code = """
import sys
from inspector.core.memory import pin_mmap_threshold, rss_bytes
assert pin_mmap_threshold()
MiB = 1024 * 1024
for _ in range(3):
    before = rss_bytes()
    block = bytearray(4 * MiB)
    for i in range(0, len(block), 4096):
        block[i] = 1
    held = rss_bytes()
    del block
    after = rss_bytes()
    assert held - before >= 3 * MiB, (before, held)
    assert held - after >= 3 * MiB, (held, after)
print("ok")
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_pinning_twice_is_harmless() -> None:
    if sys.platform.startswith("linux"):
        assert pin_mmap_threshold() and pin_mmap_threshold()
    else:
        assert not pin_mmap_threshold()
