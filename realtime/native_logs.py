"""Silence the native libraries' start-up chatter on stderr (MediaPipe's absl log, TFLite's delegate notice).

MediaPipe 0.10.21 logs through absl's C++ logger before ``absl::InitializeLog`` is ever called, so its
"W0000 ... inference_feedback_manager.cc" warnings go straight to file descriptor 2, and TFLite prints
"INFO: Created TensorFlow Lite XNNPACK delegate for CPU." with ``fprintf``. No environment variable reaches
either (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL, absl's stderrthreshold were all measured to change
nothing), and the library exports no symbol to set a level. So the filter sits at the source they share:
:func:`filter_native_stderr` points descriptor 2 at a pipe, before anything imports MediaPipe, and a thread
copies everything to the real stderr except lines in those two libraries' formats. Our own messages, the
progress bar (``\\r`` updates pass through at once) and any other library's output are untouched.
``livepuppet --verbose`` does not install it.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable

# absl/glog lines ("W0000 00:00:1796191312.352297   13199 file.cc:114] ...") and TFLite's notices.
CHATTER = re.compile(
    rb"^(?:[IWEF]\d{4} [\d:.]+ +\d+ [\w./-]+:\d+\]"
    rb"|INFO: Created TensorFlow Lite"
    rb"|WARNING: All log messages before absl::InitializeLog"
    rb"|INFO: Initialized TensorFlow Lite runtime)"
)
# A line still being written that may turn out to be chatter (same first letter) is held until its end.
_MAYBE_CHATTER = re.compile(rb"^[IWEF]")
_LINE_END = re.compile(rb"[\r\n]")


def _copy(read_end: int, write_end: int) -> None:
    pending = b""
    while True:
        try:
            chunk = os.read(read_end, 65536)
        except OSError:
            chunk = b""
        if not chunk:
            break
        pending += chunk
        while True:
            end = _LINE_END.search(pending)
            if end is None:
                break
            line, pending = pending[: end.end()], pending[end.end() :]
            if not CHATTER.match(line):
                _write_all(write_end, line)
        if pending and not _MAYBE_CHATTER.match(pending):
            _write_all(write_end, pending)
            pending = b""
    if pending and not CHATTER.match(pending):
        _write_all(write_end, pending)


def _write_all(handle: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(handle, data) :]
    except OSError:
        pass  # the real stderr is gone (closed terminal): nothing to tell


def filter_native_stderr() -> Callable[[], None]:
    """Filter descriptor 2 from now on; returns ``stop()``, which restores it after copying what is left."""
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read_end, write_end = os.pipe()
    except (OSError, ValueError, AttributeError):
        return lambda: None  # no descriptor 2 to filter (embedded interpreter): leave things as they are
    os.dup2(write_end, 2)
    os.close(write_end)
    thread = threading.Thread(target=_copy, args=(read_end, original), name="stderr-filter", daemon=True)
    thread.start()
    stopped = False

    def stop() -> None:
        nonlocal stopped
        if stopped:
            return
        stopped = True
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        os.dup2(original, 2)  # closes the pipe's last write end: the thread drains it and ends
        thread.join(timeout=2.0)
        os.close(read_end)
        os.close(original)

    return stop
