"""Sinks for the live loop (the :class:`realtime.stages.Sink` protocol): the virtual camera and a file.
The preview window is in :mod:`realtime.live.preview`; :class:`realtime.stages.NullSink` counts frames.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engines.base import LivePuppetError

log = logging.getLogger(__name__)

LINUX_VCAM_FIX = "sudo modprobe v4l2loopback devices=1 exclusive_caps=1 card_label=LivePuppet"


class VirtualCameraUnavailable(LivePuppetError):
    """No virtual-camera driver: the message says how to install one on this OS."""


def virtual_camera_fix(system: str | None = None) -> str:
    """One line telling the user how to get a virtual camera on ``system`` (default: this OS)."""
    system = system or platform.system()
    if system == "Linux":
        return (
            "install v4l2loopback (Debian/Ubuntu: `sudo apt install v4l2loopback-dkms`) and load it with "
            f"`{LINUX_VCAM_FIX}`"
        )
    if system == "Windows":
        return "install OBS Studio (26 or later), which includes the OBS Virtual Camera, then start livepuppet again"
    if system == "Darwin":
        return (
            "install OBS Studio (30 or later), start OBS, click Start Virtual Camera once (allow the system "
            "extension if macOS asks), then Stop Virtual Camera and quit OBS, then start livepuppet again"
        )
    return "install a virtual camera supported by pyvirtualcam (OBS Virtual Camera or v4l2loopback)"


@dataclass(frozen=True, slots=True)
class Letterbox:
    """Where a (w, h) frame goes inside a canvas, scaled to fit and centred (bars on the sides or top)."""

    x: int
    y: int
    width: int
    height: int

    @staticmethod
    def fit(frame_size: tuple[int, int], canvas_size: tuple[int, int]) -> Letterbox:
        (fw, fh), (cw, ch) = frame_size, canvas_size
        scale = min(cw / fw, ch / fh)
        width, height = max(1, round(fw * scale)), max(1, round(fh * scale))
        return Letterbox((cw - width) // 2, (ch - height) // 2, width, height)


class LetterboxCanvas:
    """A reused (H, W, 3) canvas that frames are scaled into, centred; bars stay ``background``."""

    def __init__(self, frame_size: tuple[int, int], canvas_size: tuple[int, int], background=(0, 0, 0)):
        self.box = Letterbox.fit(frame_size, canvas_size)
        self.image = np.empty((canvas_size[1], canvas_size[0], 3), np.uint8)
        self.image[:] = background
        self._region = self.image[
            self.box.y : self.box.y + self.box.height, self.box.x : self.box.x + self.box.width
        ]

    def draw(self, frame: np.ndarray) -> np.ndarray:
        """Scale ``frame`` (RGB uint8) into the canvas in place and return the canvas (a reused buffer)."""
        if frame.shape[1] == self.box.width and frame.shape[0] == self.box.height:
            self._region[:] = frame
        else:
            cv2.resize(
                frame, (self.box.width, self.box.height), dst=self._region, interpolation=cv2.INTER_LINEAR
            )
        return self.image


@dataclass(frozen=True, slots=True)
class VirtualCameraConfig:
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    device: str | None = None  # e.g. /dev/video10 or "OBS Virtual Camera"; None = the first one found
    backend: str | None = None  # a pyvirtualcam backend name; None = every backend for this OS


class VirtualCameraSink:
    """Frames to a virtual camera via pyvirtualcam: the portrait centred and letterboxed into a 16:9 image,
    never mirrored (people on the call see it the right way round), paced with ``sleep_until_next_frame``."""

    paces = True  # ``send`` sleeps to hold the camera's frame rate

    def __init__(self, config: VirtualCameraConfig = VirtualCameraConfig()):
        self.config = config
        self._camera = None
        self._canvas: LetterboxCanvas | None = None

    def open(self, size: tuple[int, int], fps: float) -> None:
        import pyvirtualcam

        config = self.config
        try:
            self._camera = pyvirtualcam.Camera(
                config.width, config.height, config.fps or fps,
                fmt=pyvirtualcam.PixelFormat.RGB, device=config.device, backend=config.backend,
            )  # fmt: skip
        except Exception as exc:  # pyvirtualcam raises RuntimeError naming each backend it tried
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise VirtualCameraUnavailable(
                f"no virtual camera ({reason}); to get one, {virtual_camera_fix()}"
            ) from exc
        self._canvas = LetterboxCanvas(size, (config.width, config.height))
        log.info(
            "virtual camera: %s (%s) at %dx%d @ %g fps",
            self._camera.device, self._camera.backend, config.width, config.height, self._camera.fps,
        )  # fmt: skip

    @property
    def device(self) -> str | None:
        return None if self._camera is None else self._camera.device

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        self._camera.send(self._canvas.draw(frame))
        self._camera.sleep_until_next_frame()

    def close(self) -> None:
        if self._camera is not None:
            self._camera.close()
            self._camera = None


class FileSink:
    """Records the live output to a video file (via :class:`realtime.video_io.VideoWriter`, so atomically)
    at the loop's frame rate; held frames are written again, so the file plays back in real time. Encoding
    is background work: its thread runs at a lower priority than the ones that set the latency.

    A write that fails (a full disk) stops the recording, keeps what was recorded as ``NAME.partial.mp4``
    and sets ``failure`` (one line), which `livepuppet live` turns into a non-zero exit; the live outputs
    carry on meanwhile.
    """

    background = True

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._writer = None
        self.frames_written = 0
        self.failure: str | None = None  # why the recording is missing or incomplete
        self.finished = False  # closed with the file in place

    def open(self, size: tuple[int, int], fps: float) -> None:
        from realtime.video_io import VideoWriter

        self._writer = VideoWriter(self.path, size, fps)
        log.info("recording to %s", self.path)

    def send(self, frame: np.ndarray, timestamp: float) -> None:
        if self._writer is None:
            return
        try:
            self._writer.write(frame)
        except Exception as exc:  # noqa: BLE001 - any failure ends the recording, reported once
            self._fail(exc)
            return
        self.frames_written = self._writer.frames_written

    def _fail(self, exc: Exception) -> None:
        from realtime.outputs import one_line, write_error

        writer, self._writer = self._writer, None
        writer.abandon(exc)
        error = exc if isinstance(exc, LivePuppetError) else write_error(self.path, exc)
        self.failure = one_line(error)
        log.error("recording stopped: %s", self.failure)

    def close(self) -> None:
        if self._writer is None:
            return
        try:
            self._writer.close()
        except Exception as exc:  # noqa: BLE001
            self._writer = None
            from realtime.outputs import one_line

            self.failure = one_line(exc)
            log.error("recording failed: %s", self.failure)
            return
        self._writer = None
        self.finished = True
        log.info("recorded %d frames to %s", self.frames_written, self.path)
