"""What `livepuppet live` and the latency benchmark both build around a :class:`LiveLoop`: the portrait
loaded and prepared by the engine, and the motion driver. The session owns them and closes them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from engines.base import EngineOptions, create_engine
from realtime.driver import DriverConfig, MotionDriver
from realtime.live.capture import CameraRequest, CameraSource, VideoFileSource
from realtime.live.controls import LiveControls
from realtime.live.loop import LiveConfig, LiveLoop
from realtime.modifiers import MotionModifier
from realtime.offline import load_portrait
from realtime.stages import FrameSource, Sink

log = logging.getLogger(__name__)


def camera_opener(request: CameraRequest) -> Callable[[], FrameSource]:
    """A factory for the capture thread; opens the camera once now so a wrong index fails up front."""
    CameraSource(request).close()
    return partial(CameraSource, request)


def video_opener(path: Path, loop: bool) -> Callable[[], FrameSource]:
    """A factory for the capture thread playing ``path`` at its own rate; checks the file up front."""
    probe = VideoFileSource(path, loop=loop)
    log.info("driving video %s: %dx%d @ %g fps%s", path, *probe.size, probe.fps, ", looped" if loop else "")
    probe.close()
    return partial(VideoFileSource, path, loop=loop)


class LiveSession:
    def __init__(
        self,
        *,
        portrait: Path,
        engine: str,
        options: EngineOptions,
        open_source: Callable[[], FrameSource],
        sinks: Mapping[str, Sink],
        smoothing: float = 0.0,
        modifiers: Sequence[MotionModifier] = (),
        controls: LiveControls | None = None,
        config: LiveConfig | None = None,
    ):
        image, face = load_portrait(portrait, options.output_size)
        self.engine = create_engine(engine, options)
        self.driver: MotionDriver | None = None
        self.loop: LiveLoop | None = None
        try:
            self.state = self.engine.prepare(image, face)
            self.driver = MotionDriver(DriverConfig(smoothing=smoothing))
        except BaseException:
            self.close()
            raise
        self.loop = LiveLoop(
            engine=self.engine, state=self.state, driver=self.driver, open_source=open_source, sinks=sinks,
            modifiers=modifiers, controls=controls, config=config or LiveConfig(),
        )  # fmt: skip

    def run(self, duration: float | None = None) -> dict:
        """Run the loop to its end and return its summary."""
        self.loop.run(duration)
        return self.loop.summary()

    def close(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self.driver is not None:
            self.driver.close()
        self.engine.close()

    def __enter__(self) -> LiveSession:  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.close()
