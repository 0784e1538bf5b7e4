"""Offline rendering: a portrait driven by a video file, written to a video file.

The same stages as the live loop, fed by a file and written to a file:

    VideoReader -> MotionDriver (tracker + motion) -> motion modifiers -> engine.render -> VideoWriter

Frames before the driver's first face render the neutral source (a video with no face at all is an error); a
frame the engine fails on is logged and the previous output frame is repeated. Frames keep the driving
video's timestamps. The output is written atomically: an interrupted render leaves an existing file
untouched and keeps what was written as ``NAME.partial.mp4`` (see :mod:`realtime.outputs`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from engines.base import Engine, EngineOptions, Face, LivePuppetError, Motion, SourceState, create_engine
from engines.blas import one_blas_thread
from engines.images import fit_longest_side
from engines.landmarks import neutral_points
from realtime.body_motion import body_tracking_wanted
from realtime.driver import DriverConfig, MotionDriver
from realtime.images import MAX_SIDE, load_image
from realtime.modifiers import MotionModifier, apply_modifiers
from realtime.outputs import VIDEO_SUFFIXES, check_output
from realtime.tracker import find_portrait_face
from realtime.video_io import VideoReader, VideoWriter

log = logging.getLogger(__name__)

# An engine that has not produced a single frame after this many attempts is broken, not unlucky.
MAX_FAILURES_BEFORE_FIRST_FRAME = 10


@dataclass(frozen=True, slots=True)
class RenderRequest:
    """One offline render, as the CLI builds it."""

    source: Path  # the portrait
    driving: Path  # the driving video
    output: Path  # the mp4 to write
    engine: str = "warp"
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    size: int | None = None  # longest output side; None keeps the portrait's resolution (capped at MAX_SIDE)
    smoothing: float = 0.0  # One-Euro smoothing of the driving landmarks, 0 (off) .. 1 (strong)
    audio: Path | None = None  # the audio track to keep; None takes the driving video's
    max_frames: int | None = None  # stop after this many driving frames
    progress: bool = True  # show a progress bar
    body: str = "off"  # upper-body motion: on | off | auto (see realtime.body_motion.body_tracking_wanted)


@dataclass(frozen=True, slots=True)
class RenderSummary:
    frames: int
    seconds: float
    frames_without_face: int
    frames_failed: int  # frames the engine raised on (the previous frame was repeated)
    output: Path
    truncated: bool  # the driving video stopped decoding early

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def lines(self) -> list[str]:
        text = [
            f"wrote {self.output}",
            (
                f"{self.frames} frames in {self.seconds:.1f} s ({self.fps:.1f} frames/s); "
                f"{self.frames_without_face} without a driving face"
            ),
        ]
        if self.frames_failed:
            text.append(f"the engine failed on {self.frames_failed} frames (the previous frame was repeated)")
        if self.truncated:
            text.append("the driving video is truncated or damaged: rendered the frames that could be read")
        return text


def load_portrait(path: Path, size: int | None) -> tuple[np.ndarray, Face]:
    """The portrait at ``path`` resized to ``size`` on its longest side (None: as is, capped at MAX_SIDE)
    and its face; a clear error naming the file when there is no face."""
    image = load_image(path, max_side=None if size else MAX_SIDE)
    if size:
        image = fit_longest_side(image, size)
    return image, find_portrait_face(image, name=str(path))


class FrameRenderer:
    """Motion -> output frame for one prepared source, robust to gaps and engine failures.

    ``render(None, t)`` (no driving face seen yet) renders the neutral source. Modifiers apply to every
    frame. When the engine raises, the failure is logged and the previous frame comes back. The returned
    array is a buffer owned by this object, overwritten by the next call.
    """

    def __init__(self, engine: Engine, state: SourceState, modifiers: Sequence[MotionModifier] = ()):
        self.engine = engine
        self.state = state
        self.modifiers = tuple(modifiers)
        self.identity = Motion.identity(neutral_points(state.face.landmarks))
        self.failures = 0
        self._successes = 0
        self._frame = np.ascontiguousarray(state.image).copy()  # (H, W, 3): the last good frame

    def render(self, motion: Motion | None, timestamp: float) -> np.ndarray:
        try:
            motion = apply_modifiers(
                self.modifiers, motion if motion is not None else self.identity, timestamp
            )
            frame = self.engine.render(self.state, motion)
        except Exception as exc:
            self.failures += 1
            log.warning(
                "frame at %.2f s: the engine failed (%s: %s); repeating the previous frame",
                timestamp,
                type(exc).__name__,
                exc,
            )
            log.debug("engine failure", exc_info=True)
            if self._successes == 0 and self.failures >= MAX_FAILURES_BEFORE_FIRST_FRAME:
                raise LivePuppetError(f"the {self.engine.name} engine fails on every frame: {exc}") from exc
            return self._frame
        self._successes += 1
        np.copyto(self._frame, frame)
        return self._frame


def check_output_not_input(output: Path, *inputs: Path | None) -> Path:
    """The video path to write ``output`` to, after :func:`realtime.outputs.check_output` has refused an
    output that is (or links to) one of the ``inputs`` or that cannot be written."""
    return check_output(output, inputs, suffixes=VIDEO_SUFFIXES)


def render_video(
    request: RenderRequest,
    modifiers: Iterable[MotionModifier] = (),
    engine: Engine | None = None,
    on_frame: Callable[[int, int | None], None] | None = None,
) -> RenderSummary:
    """Render ``request`` and return its summary. ``engine`` overrides ``request.engine`` (tests, reuse).
    ``on_frame(frames_written, total_or_None)`` runs after each frame (progress; it may raise to stop: the
    frames written so far stay a playable file)."""
    # 1. The portrait and the engine (a bad source fails before anything is written).
    output = check_output_not_input(request.output, request.source, request.driving, request.audio)
    image, face = load_portrait(request.source, request.size)
    owns_engine = engine is None
    if engine is None:
        options = request.engine_options
        if request.size and options.output_size is None:
            options = replace(options, output_size=request.size)
        engine = create_engine(request.engine, options)
    driver = None
    try:
        state = engine.prepare(image, face)
        renderer = FrameRenderer(engine, state, list(modifiers))
        height, width = state.image.shape[:2]
        # 2. Driving frames -> motion -> frames -> file.
        body = body_tracking_wanted(request.body, image)
        driver = MotionDriver(DriverConfig(smoothing=request.smoothing, body=body))
        with VideoReader(request.driving) as reader:
            audio = request.audio if request.audio is not None else request.driving
            lead = reader.audio_lead if request.audio is None else 0.0  # the driving video's own sound
            total = reader.frame_count or None
            if request.max_frames:
                total = min(total or request.max_frames, request.max_frames)
            started = time.perf_counter()
            # One BLAS thread, as in the live loop and the batch workers: the same frames on any machine
            # (a pool's summation order changes the warp's last bits), and no busy-waiting pool to fight.
            with one_blas_thread(), VideoWriter(output, (width, height), reader.fps, audio_from=audio) as writer:
                for frame in _progress(reader, total, request.progress):
                    if request.max_frames and frame.index >= request.max_frames:
                        break
                    motion = driver.update(frame)
                    # The source's own timestamps: a variable-frame-rate video stays in sync with its sound.
                    writer.write(renderer.render(motion, frame.timestamp), lead + frame.timestamp)
                    if on_frame is not None:
                        on_frame(writer.frames_written, total)
                if writer.frames_written and driver.frames_without_face >= writer.frames_written:
                    writer.abandon(keep_partial=False)
                    raise LivePuppetError(
                        f"no face found in any of the {writer.frames_written} frames of {request.driving}: "
                        "use a driving video that shows one face, lit and roughly frontal"
                    )
            seconds = time.perf_counter() - started
            return RenderSummary(
                frames=writer.frames_written,
                seconds=seconds,
                frames_without_face=driver.frames_without_face,
                frames_failed=renderer.failures,
                output=request.output,
                truncated=reader.truncated,
            )
    finally:
        if driver is not None:
            driver.close()
        if owns_engine:
            engine.close()


def _progress(frames, total: int | None, enabled: bool):
    if not enabled:
        return frames
    from tqdm import tqdm

    return tqdm(frames, total=total, unit="frame", desc="rendering", leave=False)
