"""What a service process does once it is up."""

from __future__ import annotations

import gc

from sihha_kit.app import settle_garbage_collector


def test_a_served_process_freezes_its_start_up_heap_and_collects_less_often() -> None:
    threshold = gc.get_threshold()
    try:
        settle_garbage_collector()
        assert gc.get_freeze_count() > 1000  # modules, classes, schemas built at start-up
        assert gc.get_threshold() == (10_000, *threshold[1:])
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
