from __future__ import annotations

import gc

from inspector.core import gcpolicy


def test_full_collections_freeze_survivors() -> None:
    gcpolicy.install()
    gcpolicy.install()
    try:
        assert gc.callbacks.count(gcpolicy._after_collection) == 1
        survivors = [[i] for i in range(1000)]
        gc.collect()
        assert gc.get_freeze_count() >= len(survivors)
    finally:
        gcpolicy.uninstall()
    assert gcpolicy._after_collection not in gc.callbacks
    assert gc.get_freeze_count() == 0


def test_young_collections_do_not_freeze() -> None:
    gcpolicy.install()
    try:
        gc.unfreeze()
        gc.collect(0)
        assert gc.get_freeze_count() == 0
    finally:
        gcpolicy.uninstall()
