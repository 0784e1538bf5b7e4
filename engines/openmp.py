"""OpenMP threads that sleep while they wait, chosen before torch loads its OpenMP runtime.

torch's CPU convolutions and matmuls run on an OpenMP team; by default its threads *spin* at the end of each
parallel loop before they sleep. When the cores are shared (the live loop's tracking and capture threads,
other programs), a spinning thread takes the core its own team mate needs to finish its share, and every
small operation waits: on the 2-core Xeon here, under a load average of 9, the motion extractor took
2.4-3.7 s a call with spinning threads and 0.25-0.28 s with sleeping ones (the neural frame in bf16:
10.2 s -> 4.3 s); on an idle machine sleeping costs a wake-up per parallel loop (microseconds). The runtime
reads ``OMP_WAIT_POLICY`` once, when it is loaded (with ``import torch``), so entry points call
:func:`prefer_passive_waiting` first; a value the user set is kept. Standard library only.
"""

from __future__ import annotations

import os

WAIT_POLICY = "PASSIVE"


def prefer_passive_waiting() -> None:
    """Ask for sleeping OpenMP threads unless the environment already says otherwise; no effect once an
    OpenMP runtime has been loaded in this process."""
    os.environ.setdefault("OMP_WAIT_POLICY", WAIT_POLICY)
