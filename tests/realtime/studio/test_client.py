"""The studio through gradio_client (the HTTP API every page button uses): render, preview, bad input."""

import numpy as np
import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(studio):
    client_module = pytest.importorskip("gradio_client")
    url, workspace = studio
    return client_module, client_module.Client(url, verbose=False), workspace


def test_animate_through_the_api_writes_the_requested_frames(client):
    from realtime.video_io import VideoReader

    module, api, workspace = client
    portrait = module.handle_file(str(workspace.example_portrait()))
    video, status = api.predict(portrait, None, "warp", None, 0, 0, None, 30, "off", api_name="/animate")
    assert "30 frames" in status, status
    with VideoReader(video["video"] if isinstance(video, dict) else video) as reader:
        frames = [frame.image for frame in reader]
    assert len(frames) == 30 and frames[0].shape == (512, 512, 3)
    assert np.abs(frames[-1].astype(int) - frames[0].astype(int)).mean() > 0.5, "the portrait did not move"


def test_preview_through_the_api_follows_the_parameters(client):
    from engines.expressions import ExpressionParams
    from realtime.studio.browser import fetch_image

    module, api, workspace = client
    portrait = module.handle_file(str(workspace.example_portrait()))
    neutral = [0.0] * len(ExpressionParams.names())
    jaw_open = [1.0 if name == "aaa" else 0.0 for name in ExpressionParams.names()]
    _, status = api.predict(portrait, "warp", None, *neutral, api_name="/prepare")
    assert status == ""
    images = []
    for values in (neutral, jaw_open):
        html = api.predict(*values, api_name="/preview")
        images.append(fetch_image(html.split('src="', 1)[1].split('"', 1)[0]))
    change = np.abs(images[1].astype(np.int16) - images[0].astype(np.int16)).max(axis=2)
    assert np.percentile(change, 99.5) > 25


def test_a_text_file_posing_as_a_video_gets_the_one_line_error(client, tmp_path):
    module, api, workspace = client
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video\n")
    portrait = module.handle_file(str(workspace.example_portrait()))
    video, status = api.predict(portrait, module.handle_file(str(fake)), "warp", None, 0, 0, None, 0, "off",
                                api_name="/animate")  # fmt: skip
    assert video is None and status.startswith("error: ") and "notes.mp4" in status
    assert len(status.splitlines()) == 1
