"""What `livepuppet live` and the latency benchmark both build around a :class:`LiveLoop`: the portrait
loaded and prepared by the engine, and the motion driver. The session owns them and closes them."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from pathlib import Path

from engines.base import BodyMotion, Engine, EngineOptions, Motion, create_engine
from engines.landmarks import neutral_points
from realtime.body_motion import body_tracking_wanted
from realtime.driver import DriverConfig, MotionDriver
from engines.blas import blas_threads, limit_blas_threads
from realtime.live.capture import CameraRequest, CameraSource, VideoFileSource
from realtime.live.controls import LiveControls
from realtime.live.loop import LiveConfig, LiveLoop
from realtime.modifiers import MotionModifier
from realtime.offline import load_portrait
from realtime.stages import FrameSource, Sink

log = logging.getLogger(__name__)

LIVE_BODY_READS_PER_SECOND = 10.0  # live pose reads per second (see BodyDriverConfig.reads_per_second)


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
        body: str = "off",
    ):
        config = config or LiveConfig()
        image, face = load_portrait(portrait, options.output_size)
        self._blas_before = blas_threads() if config.blas_threads is not None else None
        if config.blas_threads is not None:
            limit_blas_threads(config.blas_threads)
        self.engine: Engine | None = None
        self.driver: MotionDriver | None = None
        self.loop: LiveLoop | None = None
        try:
            self.engine = create_engine(engine, options)
            self.state = self.engine.prepare(image, face)
            tracks_body = body_tracking_wanted(body, image)
            self.driver = MotionDriver(DriverConfig(
                smoothing=smoothing, body=tracks_body, body_in_background=True,
                body_reads_per_second=LIVE_BODY_READS_PER_SECOND,
            ))  # fmt: skip
            if tracks_body:
                self._set_up_body()
        except BaseException:
            self.close()
            raise
        self.loop = LiveLoop(
            engine=self.engine, state=self.state, driver=self.driver, open_source=open_source, sinks=sinks,
            modifiers=modifiers, controls=controls, config=config,
        )  # fmt: skip

    def _set_up_body(self) -> None:
        """One render with the body still, before the loop starts: an engine sets the body up on its first
        body frame (the warp engine reads the portrait's pose and splits its layers again, about 0.3 s),
        which would otherwise stall the first live frames (about ten dropped)."""
        still = Motion.identity(neutral_points(self.state.face.landmarks))
        self.engine.render(self.state, dataclasses.replace(still, body=BodyMotion()))

    def run(self, duration: float | None = None) -> dict:
        """Run the loop to its end and return its summary."""
        self.loop.run(duration)
        return self.loop.summary()

    def close(self) -> None:
        if self.loop is not None:
            self.loop.stop()
        if self.driver is not None:
            self.driver.close()
        if self.engine is not None:
            self.engine.close()
        if self._blas_before is not None:
            limit_blas_threads(self._blas_before)

    def __enter__(self) -> LiveSession:  # noqa: PYI034
        return self

    def __exit__(self, *exc) -> None:
        self.close()
