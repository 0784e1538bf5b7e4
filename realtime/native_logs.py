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


class NativeLogFilter:
    """Descriptor 2 through a pipe and a copying thread that drops the chatter (see the module docstring).

    ``drain()`` waits until everything written so far has been copied and keeps filtering: what a process
    does at its end, since MediaPipe's graph threads may still log while it exits. ``stop()`` drains and
    puts descriptor 2 back: what an in-process caller (a test) does."""

    _MARKER = b"\x00livepuppet-native-log-filter-drained\n"

    def __init__(self):
        sys.stderr.flush()
        self._original = os.dup(2)
        self._read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._drained = threading.Event()
        self._stopped = False
        self._thread = threading.Thread(target=self._copy, name="stderr-filter", daemon=True)
        self._thread.start()

    def _copy(self) -> None:
        pending = b""
        while True:
            try:
                chunk = os.read(self._read_end, 65536)
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
                if line == self._MARKER:
                    self._drained.set()
                elif not CHATTER.match(line):
                    _write_all(self._original, line)
            if pending and not _MAYBE_CHATTER.match(pending) and not pending.startswith(b"\x00"):
                _write_all(self._original, pending)
                pending = b""
        if pending and not _MAYBE_CHATTER.match(pending):  # a cut-off line that may be chatter is dropped
            _write_all(self._original, pending)

    def drain(self, timeout: float = 2.0) -> None:
        if self._stopped:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        self._drained.clear()
        _write_all(2, self._MARKER)
        self._drained.wait(timeout)

    def stop(self) -> None:
        if self._stopped:
            return
        self.drain()
        self._stopped = True
        os.dup2(self._original, 2)  # closes the pipe's last write end: the thread ends
        self._thread.join(timeout=2.0)
        os.close(self._read_end)
        os.close(self._original)


def _write_all(handle: int, data: bytes) -> None:
    try:
        while data:
            data = data[os.write(handle, data) :]
    except OSError:
        pass  # the real stderr is gone (closed terminal): nothing to tell


def filter_native_stderr() -> NativeLogFilter | None:
    """Filter descriptor 2 from now on; None when there is no descriptor 2 to filter."""
    try:
        return NativeLogFilter()
    except (OSError, ValueError, AttributeError):
        return None  # an embedded interpreter without a usable stderr: leave things as they are
