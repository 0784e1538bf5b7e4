import os
import socket
from pathlib import Path

import pytest

# Small enough that the oversized-upload test is quick, big enough for the bundled portrait and a clip.
UPLOAD_LIMIT_MB = 2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def studio(tmp_path_factory):
    """A studio served on a free local port for the whole session: (url, workspace)."""
    pytest.importorskip("gradio")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    from realtime.studio.app import launch
    from realtime.studio.workspace import StudioConfig

    config = StudioConfig(
        workdir=tmp_path_factory.mktemp("studio"), port=free_port(), open_browser=False,
        max_upload_mb=UPLOAD_LIMIT_MB,
    )  # fmt: skip
    app, url = launch(config, block=False)
    try:
        yield url, app.studio_workspace
    finally:
        app.studio_runner.stop()
        app.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory) -> Path:
    """Where the browser tests save a screenshot of each tab (LIVEPUPPET_STUDIO_SCREENSHOTS, else a temp dir)."""
    configured = os.environ.get("LIVEPUPPET_STUDIO_SCREENSHOTS")
    folder = Path(configured) if configured else tmp_path_factory.mktemp("studio_screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="session")
def browser():
    from realtime.studio.browser import Browser, missing

    reason = missing()
    if reason:
        pytest.skip(f"no headless browser: {reason}")
    with Browser() as opened:
        yield opened
