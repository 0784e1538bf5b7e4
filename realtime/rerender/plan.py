"""Which driving frames go through the renderer together: windows, and segments of windows.

A renderer takes ``window`` frames at a time; consecutive windows share ``overlap`` frames (cross-faded when
the video is assembled), so window ``j`` starts at ``j * (window - overlap)``. The last window may be
shorter; a trailing window holding only shared frames is not rendered (its frames are already covered).

A **segment** is a run of consecutive windows: the unit of work handed to one worker (or rendered in turn by
a single process). Every segment starts from a freshly prepared renderer, so a segment gives the same
pictures wherever and whenever it runs, and a finished segment is never recomputed.
"""

from __future__ import annotations

from dataclasses import dataclass

from engines.base import LivePuppetError


@dataclass(frozen=True, slots=True)
class Window:
    start: int  # first driving frame
    stop: int  # one past the last

    def __len__(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True, slots=True)
class Segment:
    number: int
    windows: tuple[Window, ...]

    @property
    def start(self) -> int:
        return self.windows[0].start

    @property
    def stop(self) -> int:
        return self.windows[-1].stop


def check_windowing(window: int, overlap: int) -> None:
    if window < 1 or overlap < 0 or (window > 1 and overlap >= window) or (window == 1 and overlap):
        raise LivePuppetError(f"the overlap ({overlap}) must be smaller than the window ({window})")


def plan_windows(frames: int, window: int, overlap: int) -> list[Window]:
    """The windows covering ``frames`` driving frames (at least one window when ``frames`` > 0)."""
    check_windowing(window, overlap)
    step = window - overlap
    windows = []
    start = 0
    while start < frames and (not windows or frames - start > overlap):
        windows.append(Window(start, min(start + window, frames)))
        start += step
    return windows


def plan_segments(windows: list[Window], windows_per_segment: int | None) -> list[Segment]:
    """Consecutive runs of ``windows_per_segment`` windows (None: all in one segment)."""
    size = windows_per_segment or max(len(windows), 1)
    return [
        Segment(number, tuple(windows[first : first + size]))
        for number, first in enumerate(range(0, len(windows), size))
    ]


def windows_per_segment(segment_frames: int | None, window: int, overlap: int) -> int | None:
    """How many windows make a segment of about ``segment_frames`` frames (at least one; None: all)."""
    if segment_frames is None:
        return None
    return max(1, (segment_frames - overlap) // max(window - overlap, 1))
