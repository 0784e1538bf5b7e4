"""The driving side of an offline rerender: video frames -> motion -> target landmarks on the portrait.

The same motion transfer as the engines (``MotionDriver`` on the driving video, the motion modifiers,
``Retargeter(source_face).retarget(motion)``), so a diffusion or video-model rerender moves exactly like
the warp/neural render of the same inputs. Cheap per frame (MediaPipe tracking, a few ms), so a resumed
render replays it from the start to rebuild the motion history and skips only the expensive generation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from engines.base import Face, Motion
from engines.landmarks import neutral_points
from engines.offline.frames import DrivingFrame
from engines.retarget import Retargeter
from realtime.driver import DriverConfig, MotionDriver
from realtime.modifiers import MotionModifier, apply_modifiers
from realtime.video_io import VideoReader


class DrivingSequence:
    """Iterate ``DrivingFrame`` for a driving video and a source face; ``fps`` and ``frame_count`` (0 when the
    container does not say) are known on construction. Iterate once."""

    def __init__(
        self,
        driving: Path,
        source_face: Face,
        smoothing: float = 0.0,
        modifiers: Sequence[MotionModifier] = (),
        max_frames: int | None = None,
    ):
        self._reader = VideoReader(driving)
        self.fps = self._reader.fps
        count = self._reader.frame_count
        self.frame_count = min(count, max_frames) if (count and max_frames) else (count or (max_frames or 0))
        self._driver = MotionDriver(DriverConfig(smoothing=smoothing))
        self._retargeter = Retargeter(source_face)
        self._identity = Motion.identity(neutral_points(source_face.landmarks))
        self._modifiers = tuple(modifiers)
        self._max_frames = max_frames

    @property
    def frames_without_face(self) -> int:
        return self._driver.frames_without_face

    @property
    def truncated(self) -> bool:
        return self._reader.truncated

    def __iter__(self) -> Iterator[DrivingFrame]:
        for frame in self._reader:
            if self._max_frames and frame.index >= self._max_frames:
                break
            motion = self._driver.update(frame)
            driving_face = motion.driving_face if motion is not None and motion.face_found else None
            motion = apply_modifiers(
                self._modifiers, motion if motion is not None else self._identity, frame.timestamp
            )
            yield DrivingFrame(
                index=frame.index,
                timestamp=frame.timestamp,
                motion=motion,
                target=self._retargeter.retarget(motion),
                driving_image=frame.image,
                driving_face=driving_face,
            )

    def close(self) -> None:
        self._driver.close()
        self._reader.close()
