"""The live loop: webcam (or a paced video) -> tracker -> motion driver -> engine -> sinks, on named
threads with bounded, newest-wins hand-offs. See :mod:`realtime.live.loop`."""

from realtime.live.capture import CameraRequest, CameraSource, CaptureError, VideoFileSource
from realtime.live.controls import LiveControls, LiveStatus
from realtime.live.loop import LiveConfig, LiveLoop
from realtime.live.preview import HeadlessWindow, OpenCVWindow, PreviewSink
from realtime.live.sinks import FileSink, VirtualCameraConfig, VirtualCameraSink, VirtualCameraUnavailable

__all__ = [
    "CameraRequest",
    "CameraSource",
    "CaptureError",
    "FileSink",
    "HeadlessWindow",
    "LiveConfig",
    "LiveControls",
    "LiveLoop",
    "LiveStatus",
    "OpenCVWindow",
    "PreviewSink",
    "VideoFileSource",
    "VirtualCameraConfig",
    "VirtualCameraSink",
    "VirtualCameraUnavailable",
]
