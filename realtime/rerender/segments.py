"""Rendering one segment's windows into the work folder, and assembling the stored windows into frames.

Both the single-process render (:func:`realtime.rerender.job.run_job`) and the batch workers
(:mod:`realtime.batch`) go through :func:`render_segment` and :func:`assembled_frames`, so a render split
over many workers gives exactly the frames of the same render done in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import numpy as np

from engines.base import Face
from engines.offline.frames import DrivingFrame, WindowRenderer
from realtime.rerender.plan import Segment, Window
from realtime.rerender.store import WindowStore


def crossfade(earlier: np.ndarray, later: np.ndarray, weight: float) -> np.ndarray:
    """``(1 - weight) * earlier + weight * later`` as uint8."""
    mixed = earlier.astype(np.float32) * (1.0 - weight) + later.astype(np.float32) * weight
    return np.clip(mixed + 0.5, 0, 255).astype(np.uint8)


class FrameFeed:
    """``take(start, stop)``: the driving frames ``start..stop-1`` from a sequence read once, in order.

    Requests must not go backwards past frames already dropped; frames before the first request are read
    and dropped (the motion history still sees them). Fewer frames come back when the video ends early."""

    def __init__(self, frames: Iterable[DrivingFrame]):
        self._frames = iter(frames)
        self._buffer: list[DrivingFrame] = []
        self._kept_from = 0  # frames from here on are in the buffer or not read yet
        self.ended_at: int | None = None  # the frame count, once the sequence has run out

    def reaches(self, start: int) -> bool:
        """Whether ``take`` may still start at ``start`` (earlier frames are dropped for good)."""
        return start >= self._kept_from

    def take(self, start: int, stop: int) -> list[DrivingFrame]:
        if not self.reaches(start):
            raise ValueError(f"frame {start} was already dropped (frames from {self._kept_from} are kept)")
        self._kept_from = start
        self._buffer = [frame for frame in self._buffer if frame.index >= start]
        while self.ended_at is None and (not self._buffer or self._buffer[-1].index < stop - 1):
            frame = next(self._frames, None)
            if frame is None:
                self.ended_at = self._buffer[-1].index + 1 if self._buffer else start
            elif frame.index >= start:
                self._buffer.append(frame)
        return [frame for frame in self._buffer if frame.index < stop]


@dataclass(frozen=True, slots=True)
class SegmentResult:
    computed: int  # frames generated now (frames shared with an earlier window are not counted)
    ended_at: int | None  # the driving video ran out at this frame count inside the segment


def render_segment(
    feed: FrameFeed,
    segment: Segment,
    renderer: WindowRenderer,
    store: WindowStore,
    portrait: np.ndarray,
    face: Face,
    on_frame: Callable[[int], None] | None = None,
    resume_windows: bool = True,
) -> SegmentResult:
    """Render the segment's windows that are not stored yet. The renderer is prepared afresh before the
    segment's first missing window; ``on_frame(index)`` follows each newly stored frame.

    With ``resume_windows=False`` a segment missing any window is rendered again from its start (its stored
    windows rewritten with the same pictures): renderers that carry state from frame to frame (the warp
    engine's warm-started inversion, LivePortrait's crop smoothing) then give exactly the uninterrupted
    pictures, at the cost of redoing the part of a segment that was cut short."""
    prepared = False
    computed = 0
    if not resume_windows and not all(store.has(window) for window in segment.windows):
        store = _Rewriting(store)
    for planned in segment.windows:
        frames = feed.take(planned.start, planned.stop)
        window = Window(planned.start, planned.start + len(frames))
        if len(window) < len(planned) and (
            not frames or (window.start > 0 and len(window) <= renderer.overlap)
        ):
            break  # the video ended: nothing new in this window
        if store.has(window):
            continue
        if not prepared:
            renderer.prepare(portrait, face)
            prepared = True
        outputs = renderer.render(frames)
        if len(outputs) != len(frames):
            raise RuntimeError(f"the renderer returned {len(outputs)} frames for a window of {len(frames)}")
        store.save(window, outputs)
        shared = renderer.overlap if window.start > 0 else 0
        for frame in frames[shared:]:
            computed += 1
            if on_frame is not None:
                on_frame(frame.index)
    return SegmentResult(computed=computed, ended_at=feed.ended_at)


class _Rewriting:
    """A store that reports no window as stored (the segment is rendered whole) but saves to the real one."""

    def __init__(self, store: WindowStore):
        self.save = store.save

    def has(self, window: Window) -> bool:
        return False


def stored_windows(planned: list[Window], frames: int) -> list[Window]:
    """The windows as stored for a video of ``frames`` frames (those past the end cut short or dropped)."""
    cut = [Window(w.start, min(w.stop, frames)) for w in planned if w.start < frames]
    return [w for i, w in enumerate(cut) if i == 0 or w.stop > cut[i - 1].stop]


def assembled_frames(store: WindowStore, windows: list[Window], overlap: int) -> Iterator[np.ndarray]:
    """The finished frames in order: each window's frames, the ones shared with the earlier window(s)
    faded from the earlier picture to the later one, ``(p + 1) / (overlap + 1)`` of the way at position p."""
    pending: dict[int, np.ndarray] = {}
    for number, window in enumerate(windows):
        shared = overlap if window.start > 0 else 0
        for position, image in enumerate(store.load(window)):
            index = window.start + position
            if index in pending:
                if position < shared:
                    pending[index] = crossfade(pending[index], image, (position + 1) / (shared + 1))
            else:
                pending[index] = image
        final = windows[number + 1].start if number + 1 < len(windows) else window.stop
        for index in sorted(i for i in pending if i < final):
            yield pending.pop(index)
