"""`livepuppet cameras`: which webcam indices open, and which common modes each one grants."""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass

import cv2

from realtime.commands.arguments import positive_int
from realtime.live.capture import CameraRequest, GrantedMode, camera_api, open_camera, read_mode

log = logging.getLogger(__name__)

MAX_CAMERAS = 64  # V4L2 numbers devices below 64


def camera_count(text: str) -> int:
    value = positive_int(text)
    if value > MAX_CAMERAS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_CAMERAS}, got {text}")
    return value

COMMON_SIZES = ((640, 480), (1280, 720), (1920, 1080))
COMMON_RATES = (30.0, 60.0)
FORMATS = ("MJPG", "YUYV")
OPENCV_LOG_ERROR = 2  # OpenCV log levels: 0 silent, 1 fatal, 2 error, 3 warning


@dataclass(frozen=True, slots=True)
class CameraInfo:
    index: int
    default: GrantedMode
    modes: tuple[GrantedMode, ...]  # the requested modes the camera granted exactly


def probe_camera(index: int, with_modes: bool = True) -> CameraInfo | None:
    """What camera ``index`` offers, or None when it does not open (or opens without delivering)."""
    capture = cv2.VideoCapture(index, camera_api())
    try:
        if not capture.isOpened() or not capture.read()[0]:
            return None
        default = read_mode(capture)
    finally:
        capture.release()
    modes: list[GrantedMode] = []
    if with_modes:
        for fourcc in FORMATS:
            for width, height in COMMON_SIZES:
                for fps in COMMON_RATES:
                    granted = _try_mode(CameraRequest(index, width, height, fps, fourcc))
                    if granted is not None and granted not in modes:
                        modes.append(granted)
    return CameraInfo(index, default, tuple(modes))


def _try_mode(request: CameraRequest) -> GrantedMode | None:
    try:
        capture, granted = open_camera(request)
    except Exception:  # noqa: BLE001 - a mode the camera refuses is simply not listed
        return None
    try:
        exact = (granted.width, granted.height) == (request.width, request.height)
        exact = exact and abs(granted.fps - request.fps) < 1.0 and granted.fourcc == request.fourcc
        return granted if exact and capture.read()[0] else None
    finally:
        capture.release()


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "cameras",
        help="list webcams and the modes they grant",
        description="Probe webcam indices 0..N-1 and list, for each that delivers frames, its default mode "
        "and which common modes (640x480/1280x720/1920x1080 at 30/60 fps, MJPG/YUYV) it grants. "
        "Use the index with `livepuppet live --camera INDEX`.",
    )
    parser.add_argument("--max-index", type=camera_count, default=8, metavar="N",
                        help=f"indices to probe, at most {MAX_CAMERAS} (default: 8)")  # fmt: skip
    parser.add_argument("--no-modes", dest="modes", action="store_false", help="skip probing modes (faster)")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    previous = cv2.getLogLevel()
    cv2.setLogLevel(OPENCV_LOG_ERROR)  # no warning per missing index
    try:
        found = [info for index in range(args.max_index) if (info := probe_camera(index, args.modes))]
    finally:
        cv2.setLogLevel(previous)
    if not found:
        print(f"no camera found at indices 0..{args.max_index - 1}")
        return 1
    for info in found:
        print(f"camera {info.index}: {info.default.describe()}")
        for mode in info.modes:
            print(f"    {mode.describe()}")
    return 0
