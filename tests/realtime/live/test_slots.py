import threading
import time

from realtime.live.slots import LatestSlot


def test_newest_wins_and_older_items_are_counted_as_dropped():
    slot = LatestSlot("test")
    for k in range(5):
        slot.put(k)
    assert slot.depth == 1 and slot.dropped == 4
    assert slot.get(timeout=0) == 4
    assert slot.get(timeout=0.01) is None and slot.depth == 0


def test_get_waits_for_a_new_item_and_close_wakes_waiters():
    slot = LatestSlot("test")
    threading.Timer(0.05, slot.put, args=("late",)).start()
    assert slot.get(timeout=2.0) == "late"
    threading.Timer(0.05, slot.close).start()
    started = time.perf_counter()
    assert slot.get(timeout=5.0) is None
    assert time.perf_counter() - started < 2.0
