"""Background threads yield the CPU to the ones that set the live latency (capture, tracking, rendering).

On Linux nice is per thread and needs no privilege; threads a thread starts inherit its niceness, so a
library's worker threads (MediaPipe's graph, x264's encoder) started from a nicer thread are nicer too.
"""

from __future__ import annotations

import os
import platform
import threading

# A nice-10 thread gets about a tenth of a core while a nice-0 one wants it, and all of an idle one.
BACKGROUND_NICENESS = 10


def lower_thread_priority(niceness: int = BACKGROUND_NICENESS) -> bool:
    """Make the calling thread ``niceness`` nicer than it is (Linux only; a process started with ``nice``
    keeps its threads' order); False where that is not possible."""
    if platform.system() != "Linux":
        return False
    try:
        thread = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, thread, min(os.getpriority(os.PRIO_PROCESS, thread) + niceness, 19))
    except OSError:
        return False
    return True
