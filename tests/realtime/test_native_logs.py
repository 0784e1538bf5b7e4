"""The native-log filter on file descriptor 2, in a child process (it rewires the process's stderr)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

CHILD = r"""
import os, sys
from realtime.native_logs import filter_native_stderr
log_filter = filter_native_stderr()
os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\n")
os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
os.write(2, b"W0000 00:00:1796191312.352297   13199 inference_feedback_manager.cc:114] Feedback manager\n")
os.write(2, b"I0000 00:00:1796191312.3   13 gl_context.cc:369] GL version: 3.2\n")
sys.stderr.write("rendering:  10%|#\rrendering:  20%|##\r")
sys.stderr.flush()
os.write(2, b"WARNING realtime.tracker: two faces\n")
os.write(2, b"E1 is not an absl line\n")
print("livepuppet render: error: the last line", file=sys.stderr)
log_filter.drain()
os.write(2, b"W0000 00:00:1.0   1 late.cc:1] a graph thread logging while the process exits\n")
log_filter.drain()
os.write(2, b"kept after a drain\n")
log_filter.stop()
os.write(2, b"W0000 00:00:1.0   1 after.cc:1] printed once the filter is gone\n")
"""


def test_native_chatter_is_dropped_and_everything_else_kept():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, timeout=60)
    assert result.returncode == 0
    assert result.stderr == (  # bytes: a text pipe would turn the progress bar's \r into \n
        b"rendering:  10%|#\rrendering:  20%|##\r"
        b"WARNING realtime.tracker: two faces\n"
        b"E1 is not an absl line\n"
        b"livepuppet render: error: the last line\n"
        b"kept after a drain\n"
        b"W0000 00:00:1.0   1 after.cc:1] printed once the filter is gone\n"
    )
