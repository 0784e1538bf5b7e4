"""Live: ``livepuppet live`` run in a background thread, its preview shown in the page.

The loop is the CLI's own (:func:`realtime.commands.live.run`); the page gets a preview sink with a
headless window (the CLI's overlay: FPS, latency, face found, calibrating) that it polls a few times a
second, the presets as buttons, recalibrate and stop. A sink that cannot open (no virtual-camera driver)
is reported in the page with the CLI's message; the loop goes on with the others.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from engines.base import LivePuppetError
from engines.expressions import ExpressionParams
from realtime.studio.commands import cli_args
from realtime.studio.workspace import Workspace

log = logging.getLogger(__name__)

VIDEO_AS_CAMERA = "video file (upload below)"


@dataclass(frozen=True, slots=True)
class LiveRequest:
    portrait: str | None
    camera: str  # a label from :func:`camera_choices` or VIDEO_AS_CAMERA
    driving: str | None = None  # upload path when the camera is VIDEO_AS_CAMERA
    engine: str = "warp"
    weights: str | None = None
    vcam: bool = False
    window: bool = False  # the CLI's OpenCV preview window as well (needs a display)
    smooth: float = 0.3
    mic: bool = False
    mirror: bool = True


def camera_choices(max_index: int = 8) -> tuple[list[str], str]:
    """Labels of the cameras ``livepuppet cameras`` finds (plus the video stand-in) and the CLI's line
    about them."""
    import cv2

    from realtime.commands.cameras import OPENCV_LOG_ERROR, probe_camera

    previous = cv2.getLogLevel()
    cv2.setLogLevel(OPENCV_LOG_ERROR)
    try:
        found = [info for index in range(max_index) if (info := probe_camera(index, with_modes=True))]
    finally:
        cv2.setLogLevel(previous)
    labels = [f"camera {info.index}: {info.default.describe()}" for info in found]
    for info in found:
        labels += [f"camera {info.index}: {mode.describe()}" for mode in info.modes]
    note = f"{len(found)} camera(s) found" if found else f"no camera found at indices 0..{max_index - 1}"
    return [*dict.fromkeys(labels), VIDEO_AS_CAMERA], note


def camera_argv(label: str) -> list[str]:
    """``--camera I --camera-size WxH --fps F`` from a label of :func:`camera_choices`."""
    try:
        head, mode = label.split(": ", 1)
        index = int(head.split()[1])
        size, rest = mode.split(" @ ", 1)
        fps = rest.split()[0]
    except (ValueError, IndexError):
        raise LivePuppetError(f"unknown camera {label!r}; press Refresh cameras") from None
    return ["--camera", index, "--camera-size", size, "--fps", fps]


class ReportingSink:
    """Wraps a sink and remembers why it could not open (the loop leaves such a sink out)."""

    def __init__(self, name: str, sink, failures: dict[str, str]):
        self.name, self.sink, self.failures = name, sink, failures
        for flag in ("main_thread", "paces", "background"):
            if hasattr(sink, flag):
                setattr(self, flag, getattr(sink, flag))

    def open(self, size, fps) -> None:
        try:
            self.sink.open(size, fps)
        except Exception as exc:
            self.failures[self.name] = str(exc) if isinstance(exc, LivePuppetError) else repr(exc)
            raise

    def send(self, frame, timestamp) -> None:
        self.sink.send(frame, timestamp)

    def close(self) -> None:
        self.sink.close()


class LiveRunner:
    """One live session at a time (the webcam and the virtual camera are single devices)."""

    def __init__(self, workspace: Workspace):
        self.workspace = workspace
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._controls = None
        self._presets = None
        self._page = None
        self.failures: dict[str, str] = {}
        self.error: str | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, request: LiveRequest, extra_presets: dict[str, ExpressionParams] | None = None) -> str:
        from realtime.commands import live
        from realtime.live import LiveControls
        from realtime.presets import DEFAULT_PRESETS, Preset, PresetController

        with self._lock:
            if self.running:
                return "already running: stop it first"
            portrait = self.workspace.accept(request.portrait, "image", "portrait")
            argv = ["live", "--source", portrait, "--engine", request.engine, "--smooth", request.smooth]
            folder = self.workspace.model_folder(request.weights)
            argv += ["--weights", folder] if folder else []
            if request.camera == VIDEO_AS_CAMERA:
                argv += [
                    "--driving",
                    self.workspace.accept(request.driving, "video", "driving video"),
                    "--loop",
                ]
            else:
                argv += camera_argv(request.camera)
            argv += (["--vcam"] if request.vcam else []) + (["--preview"] if request.window else [])
            argv += ["--mic"] if request.mic else []
            args = cli_args(*argv)
            presets = dict(DEFAULT_PRESETS)
            for name, params in (extra_presets or {}).items():
                presets[f"user:{name}"] = Preset(name, params)
            controller = PresetController(presets)
            controls = LiveControls(key_handler=controller.trigger)
            failures: dict[str, str] = {}
            sinks = {name: ReportingSink(name, sink, failures)
                     for name, sink in live.build_sinks(args, controls, fallback=False).items()}  # fmt: skip
            sinks["page"] = _page_sink(controls, request.mirror, own_thread=request.window)
            self._controls, self._presets, self._page = controls, controller, sinks["page"]
            self.failures, self.error = failures, None
            self._thread = threading.Thread(
                target=self._run, args=(live.run, args, controller, controls, sinks), name="studio-live",
                daemon=True,
            )  # fmt: skip
            self._thread.start()
            return "starting"

    def _run(self, run, args, controller, controls, sinks) -> None:
        try:
            run(args, modifiers=[controller], key_handler=controller.trigger, controls=controls, sinks=sinks)
        except LivePuppetError as exc:
            self.error = str(exc)
        except Exception as exc:
            log.exception("live: failed")
            self.error = f"{type(exc).__name__}: {exc}"

    def stop(self, timeout: float = 10.0) -> str:
        with self._lock:
            if self._controls is not None:
                self._controls.quit.set()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return "stopped"

    def recalibrate(self) -> None:
        if self._controls is not None:
            self._controls.request_recalibration()

    def preset(self, key: str) -> None:
        if self._presets is not None:
            self._presets.trigger(key)

    def preview(self) -> np.ndarray | None:
        """The last frame the page sink showed, RGB (with the CLI's overlay), or None."""
        page = self._page
        shown = getattr(getattr(page, "window", None), "shown", None)
        if not shown:
            return None
        import cv2

        return cv2.cvtColor(shown[-1], cv2.COLOR_BGR2RGB)

    def readout(self) -> str:
        if self.error:
            return f"error: {self.error}"
        lines = [f"{name} unavailable: {reason}" for name, reason in self.failures.items()]
        page = self._page
        if not self.running:
            return "\n".join([*lines, "stopped"])
        status = self._controls.status
        latency = "-" if page.latency_ms is None else f"{page.latency_ms:.0f} ms"
        face = "face found" if status.face_found else "no face"
        calibrating = "" if status.calibrated else " · hold still: calibrating"
        return "\n".join([*lines, f"running · {page.fps:.1f} FPS · latency {latency} · {face}{calibrating}"])


def _page_sink(controls, mirror: bool, own_thread: bool):
    """The CLI's preview sink with a headless window the page polls; ``own_thread`` when the OpenCV
    window holds the loop's thread (the loop serves one main-thread sink)."""
    from realtime.live import HeadlessWindow, PreviewSink

    sink = PreviewSink(controls, window=HeadlessWindow(), mirror=mirror)
    if own_thread:
        sink.main_thread = False
    return sink


def presets_for_buttons(extra: dict[str, ExpressionParams]) -> list[tuple[str, str]]:
    """(label, key) of every preset button: the CLI's number keys, then the presets saved in Edit."""
    from realtime.presets import DEFAULT_PRESETS

    buttons = [(f"{key} {preset.name}", key) for key, preset in DEFAULT_PRESETS.items()]
    return buttons + [(name, f"user:{name}") for name in extra]
