"""The live session around the loop: what it sets up before the first frame."""

import cv2
import pytest
from skimage import data

from engines.base import EngineOptions
from realtime.live.session import LiveSession
from realtime.stages import NullSink


@pytest.fixture(scope="module")
def portrait_with_shoulders(tmp_path_factory):
    path = tmp_path_factory.mktemp("portrait") / "astronaut.png"
    cv2.imwrite(str(path), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return path


@pytest.mark.parametrize("body", ["on", "off"])
def test_the_body_is_set_up_before_the_loop_starts_not_on_its_first_frames(portrait_with_shoulders, body):
    session = LiveSession(
        portrait=portrait_with_shoulders, engine="warp", options=EngineOptions(output_size=256),
        open_source=lambda: None, sinks={"null": NullSink()}, body=body,
    )  # fmt: skip
    try:
        assert not session.loop._started
        if body == "on":  # the warp engine's body (the portrait's pose, layers split again) is ready
            assert session.state.body is not None and session.state.body.active
        else:
            assert session.state.body is None
    finally:
        session.close()
