"""The one queue the live loop uses between threads: a single-item mailbox where the newest item wins.

A producer never blocks and never builds a backlog: putting into a full slot replaces the old item and
counts it as dropped. A consumer waits (with a timeout) for an item it has not seen yet. So latency stays
bounded by one frame per boundary, whatever the relative speeds of the threads.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class LatestSlot(Generic[T]):
    """Thread-safe newest-wins mailbox: ``put`` replaces, ``get`` takes (waiting up to ``timeout``)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._item: T | None = None
        self._full = False
        self._closed = False
        self._condition = threading.Condition()
        self.dropped = 0  # items replaced before anyone took them

    def put(self, item: T) -> None:
        with self._condition:
            if self._full:
                self.dropped += 1
            self._item, self._full = item, True
            self._condition.notify_all()

    def get(self, timeout: float | None = None) -> T | None:
        """The newest unseen item, or None when none arrived within ``timeout`` seconds (or on close)."""
        with self._condition:
            if not self._full and not self._closed:
                self._condition.wait_for(lambda: self._full or self._closed, timeout)
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self) -> None:
        """Wake every waiting consumer (used at shutdown)."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()

    @property
    def depth(self) -> int:
        """Items waiting: 0 or 1 by construction (reported by the benchmark as proof of no queue growth)."""
        return int(self._full)
