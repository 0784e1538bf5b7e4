"""Face tracking with MediaPipe face mesh: 478 landmarks (with iris) in pixels.

Still-image mode for portraits (every call detects afresh), tracking mode for streams (detection only
when the track is lost). With several faces in view one is picked consistently: the one nearest the
previously tracked face, else the largest, ties broken by the most central.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from contextlib import contextmanager

import cv2
import numpy as np

from engines.base import Face, LivePuppetError, NUM_LANDMARKS

log = logging.getLogger(__name__)

# MediaPipe resizes internally; huge portraits (8K) are tracked on a downscaled copy.
MAX_TRACK_SIDE = 1920
# Re-reads of a stream's first frame until the tracking crop has settled (see FaceTracker.settle).
SETTLE_READS = 4


HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def signals_held():
    """Hold Ctrl-C, SIGTERM and SIGHUP until the block ends, then act on the first one as it would have.

    MediaPipe's native bindings import protobuf from C++; an interrupt landing there is printed as a
    traceback and swallowed (the render then carries on), or turns into an ImportError. Holding it for the
    second or so of the import and graph set-up gives the usual one-line stop instead. Main thread only
    (elsewhere signals are not delivered anyway)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: received.append(signum)) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if received:
            handler = previous[received[0]]
            if callable(handler):
                handler(received[0], None)  # KeyboardInterrupt, or the CLI's Stopped
            elif handler == signal.SIG_DFL:
                os.kill(os.getpid(), received[0])


class FaceTracker:
    """``track(rgb) -> Face | None``. One instance per stream; not thread-safe (use from one thread)."""

    def __init__(self, *, static_image: bool = False, max_faces: int = 2, min_confidence: float = 0.5):
        # Older MediaPipe builds log through glog and honour these; 0.10.21's absl and TFLite chatter is
        # filtered by realtime.native_logs (installed by the CLI before this import).
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with signals_held():
            try:
                from mediapipe.python.solutions import face_mesh
            except ImportError as exc:  # pragma: no cover - dependency problem, reported clearly
                if _interrupted(exc):
                    raise KeyboardInterrupt from exc
                raise LivePuppetError(
                    f"MediaPipe face mesh is not available ({exc}); install it with `pip install mediapipe==0.10.21`"
                ) from exc
            self._mesh = face_mesh.FaceMesh(
                static_image_mode=static_image,
                max_num_faces=max_faces,
                refine_landmarks=True,
                min_detection_confidence=min_confidence,
                min_tracking_confidence=min_confidence,
            )
        self._static_image = static_image
        self._previous_centre: np.ndarray | None = None
        self.faces_seen = 0  # how many faces the last track() found (the chosen one among them)

    def track(self, rgb: np.ndarray) -> Face | None:
        """Landmarks of the chosen face in ``rgb`` (H, W, 3 uint8), or None when no face is found."""
        height, width = rgb.shape[:2]
        scale = min(1.0, MAX_TRACK_SIDE / max(height, width))
        image = rgb if scale == 1.0 else cv2.resize(rgb, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        result = self._mesh.process(np.ascontiguousarray(image))
        self.faces_seen = len(result.multi_face_landmarks or ())
        if not result.multi_face_landmarks:
            return None
        candidates = [_to_pixels(face.landmark, width, height) for face in result.multi_face_landmarks]
        chosen = self._choose(candidates, width, height)
        self._previous_centre = chosen[:, :2].mean(axis=0)
        return Face(landmarks=chosen, image_size=(width, height))

    def prefer(self, landmarks: np.ndarray) -> None:
        """Among several faces, choose the one nearest ``landmarks`` (N, >=2) px next."""
        self._previous_centre = np.asarray(landmarks)[:, :2].mean(axis=0)

    def settle(self, rgb: np.ndarray, reads: int = SETTLE_READS) -> Face | None:
        """Landmarks of ``rgb`` read the way the frames after it will be read.

        In tracking mode the face mesh crops each frame around the previous frame's landmarks, while the
        first frame of a stream is cropped around the detector's box; the two crops read the same face
        about 1 % of the inter-ocular distance apart (measured on the driving videos in ../shared/data,
        up to 0.013). A neutral reference read from the detector's crop would add that offset to every
        later motion, so it is re-read here until the crop has settled (the offset stops changing after three
        re-reads).
        """
        face = self.track(rgb)
        if self._static_image:
            return face
        for _ in range(reads - 1):
            if face is None:
                break
            face = self.track(rgb)
        return face

    def _choose(self, candidates: list[np.ndarray], width: int, height: int) -> np.ndarray:
        if len(candidates) == 1:
            return candidates[0]
        centres = np.stack([c[:, :2].mean(axis=0) for c in candidates])
        if self._previous_centre is not None:
            return candidates[int(np.argmin(np.linalg.norm(centres - self._previous_centre, axis=1)))]
        sizes = np.array([np.ptp(c[:, 0]) * np.ptp(c[:, 1]) for c in candidates])
        off_centre = np.linalg.norm(centres - np.array([width / 2, height / 2]), axis=1)
        # Largest first; faces within 10 % of the largest count as equal and the most central wins.
        near_largest = sizes >= 0.9 * sizes.max()
        return candidates[int(np.argmin(np.where(near_largest, off_centre, np.inf)))]

    def close(self) -> None:
        self._mesh.close()

    def __enter__(self) -> "FaceTracker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _to_pixels(landmarks, width: int, height: int) -> np.ndarray:
    points = np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks], dtype=np.float32)
    if points.shape != (NUM_LANDMARKS, 3):
        raise LivePuppetError(f"face mesh returned {points.shape[0]} landmarks, expected {NUM_LANDMARKS}")
    return points


def _interrupted(exc: BaseException) -> bool:
    """Whether a KeyboardInterrupt (or SIGTERM turned into one) is in ``exc``'s chain."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


# Faces looked for in a portrait: enough to tell the user which of several was animated.
MAX_PORTRAIT_FACES = 4


def find_portrait_face(rgb: np.ndarray, name: str = "the source image") -> Face:
    """The face of a still portrait, or a clear error naming the file when there is none. With several
    faces, the chosen one (largest, then most central) is named by its position on stderr."""
    with FaceTracker(static_image=True, max_faces=MAX_PORTRAIT_FACES) as tracker:
        face = tracker.track(rgb)
        count = tracker.faces_seen
    if face is None:
        raise LivePuppetError(
            f"no face found in {name}: use a portrait with one clearly visible, roughly frontal face"
        )
    face = _read_like_video(rgb, face)
    if count > 1:
        height, width = rgb.shape[:2]
        x, y = face.landmarks[:, :2].mean(axis=0)
        log.warning(
            "%s shows %s faces; animating the largest, centred at x=%d y=%d px (%s); crop the portrait to "
            "animate another",
            name, f"{count}" if count < MAX_PORTRAIT_FACES else f"{count} or more", x, y,
            _where(x / width, y / height),
        )  # fmt: skip
    return face


def _read_like_video(rgb: np.ndarray, face: Face) -> Face:
    """The portrait's face read the way a driving video's frames are read (tracking mode, settled crop).

    A still read crops around the detector's box; video frames, the driver's neutral included, are read
    from crops around the previous landmarks, about 1 % of the inter-ocular distance apart (see
    :meth:`FaceTracker.settle`). Driving a portrait by a video of the same face then starts from the same
    reading, so per-feature proportions (eye and mouth gaps) compare like with like. The still read stays
    when the settled one is lost or lands on another face."""
    with FaceTracker(static_image=False, max_faces=MAX_PORTRAIT_FACES) as tracker:
        tracker.prefer(face.landmarks)
        settled = tracker.settle(rgb)
    if settled is None:
        return face
    size = float(np.ptp(face.landmarks[:, 0]))
    moved = float(np.linalg.norm(settled.landmarks[:, :2].mean(axis=0) - face.landmarks[:, :2].mean(axis=0)))
    return settled if moved < 0.1 * size else face


def _where(x: float, y: float) -> str:
    """'upper left', 'centre', 'lower right'... for a point in 0..1 image coordinates."""
    row = "upper " if y < 1 / 3 else "lower " if y > 2 / 3 else ""
    column = "left" if x < 1 / 3 else "right" if x > 2 / 3 else "centre"
    return (row + column) if column != "centre" or not row else row + "middle"
