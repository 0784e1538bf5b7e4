"""The studio in a real (headless) Chromium: upload, drag a slider, render, go live with a video standing in
for the webcam, and the one-line messages for bad input. Each tab is screenshotted (see conftest)."""

import glob
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from realtime.studio.browser import fetch_image

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(studio, browser):
    url, workspace = studio
    browser.open(url)
    return browser, workspace


@pytest.fixture(scope="module")
def driving_clip(tmp_path_factory):
    """Two seconds of the bundled portrait performing the demo script: a driving video with a face."""
    from realtime.cli import main

    path = tmp_path_factory.mktemp("studio_clip") / "driving.mp4"
    assert main(["demo", "--out", str(path), "--seconds", "2"]) == 0
    return path


def wait_for_status(browser, elem_id: str, seconds: float, *words: str) -> str:
    return browser.wait(
        lambda: (text := browser.text(elem_id)) and all(w in text for w in words) and text, seconds,
        f"{elem_id} to say {words}",
    )  # fmt: skip


def virtual_camera_error() -> str | None:
    """The CLI's message when no virtual camera opens in this process (None when one does: another test may
    have registered a fake pyvirtualcam backend)."""
    from realtime.live import VirtualCameraSink, VirtualCameraUnavailable

    sink = VirtualCameraSink()
    try:
        sink.open((512, 512), 30.0)
    except VirtualCameraUnavailable as exc:
        return str(exc)
    sink.close()
    return None


def wait_for_upload(browser, elem_id: str, stem: str) -> None:
    """The file box shows the file's name (split into stem and suffix)."""
    browser.wait(lambda: stem in browser.driver.find_element("id", elem_id).text, 30, f"{stem} uploaded")


def open_accordion(browser, elem_id: str) -> None:
    browser.driver.find_element("css selector", f"#{elem_id} button").click()
    time.sleep(0.3)


def test_edit_preview_follows_the_smile_slider(page, screenshots, tmp_path):
    import cv2

    browser, workspace = page
    browser.tab("Edit")
    # 1. A picture with no face: the CLI's message, in the page.
    blank = tmp_path / "no_face.png"
    cv2.imwrite(str(blank), np.full((256, 256, 3), 128, np.uint8))
    browser.upload("edit-portrait", blank)
    assert "no face" in wait_for_status(browser, "edit-status", 60, "error")
    # 2. The bundled portrait; then drag the smile slider with the mouse.
    browser.driver.find_element("css selector", "#edit-portrait button[aria-label='Remove Image']").click()
    browser.upload("edit-portrait", workspace.example_portrait())
    before_src = browser.wait(lambda: (s := browser.image_src("edit-preview")) and s, 90, "the preview")
    assert browser.text("edit-status") == ""
    before = fetch_image(before_src)
    from selenium.webdriver.common.action_chains import ActionChains

    track = browser.driver.find_element("css selector", "#edit-smile input[type=range]")
    ActionChains(browser.driver).click_and_hold(track).move_by_offset(track.size["width"] // 2 - 4, 0).pause(
        0.3
    ).release().perform()
    after_src = browser.wait(
        lambda: (s := browser.image_src("edit-preview")) != before_src and s, 30, "a new preview"
    )
    browser.wait(lambda: browser.image_src("edit-preview") == after_src, 5, "the drag to settle")
    time.sleep(1.0)  # the last value of the drag
    after = fetch_image(browser.image_src("edit-preview"))
    assert after.shape == before.shape == (512, 512, 3)
    change = np.abs(after.astype(np.int16) - before.astype(np.int16)).max(axis=2)
    assert np.percentile(change, 99.5) > 25, "the smile did not change the face"
    assert change[:, :60].mean() < 2.0, "the edit moved pixels far from the head"
    browser.screenshot(screenshots / "edit.png")


def test_animate_rejects_bad_files_then_renders_a_playable_clip(page, screenshots, tmp_path):
    from tests.realtime.studio.conftest import UPLOAD_LIMIT_MB

    browser, workspace = page
    browser.tab("Animate")
    browser.upload("animate-portrait", workspace.example_portrait())
    # 1. A damaged video: one line, in the page.
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).integers(0, 256, 50_000, np.uint8).tobytes())
    browser.upload("animate-driving", corrupt)
    wait_for_upload(browser, "animate-driving", "corrupt")
    browser.click("animate-render")
    message = wait_for_status(browser, "animate-status", 120, "error")
    assert "corrupt.mp4" in message and len(message.splitlines()) == 1
    browser.driver.find_element("css selector", "#animate-driving button[aria-label='Clear']").click()
    # 2. An upload over the limit is refused with a message in the page.
    big = tmp_path / "big.mp4"
    big.write_bytes(b"\0" * (UPLOAD_LIMIT_MB + 1) * 1024 * 1024)
    browser.upload("animate-driving", big)
    toast = browser.wait(
        lambda: [t.text for t in browser.driver.find_elements("css selector", ".toast-body") if t.text], 30,
        "the upload-size message",
    )  # fmt: skip
    assert any("size" in text.lower() for text in toast), toast
    # 3. Still usable: the built-in motion, 12 frames, plays in the page.
    open_accordion(browser, "animate-options")
    frames = browser.driver.find_element("css selector", "#animate-max-frames input")
    frames.clear()
    frames.send_keys("12")
    browser.click("animate-render")
    status = wait_for_status(browser, "animate-status", 240, "12 frames")
    video = browser.wait(
        lambda: browser.driver.find_elements("css selector", "#animate-result video"), 30, "the video player"
    )[0]
    duration = browser.wait(
        lambda: browser.driver.execute_script(
            "const v = arguments[0]; return v.readyState >= 1 && v.duration > 0 ? v.duration : 0;", video
        ),
        30,
        "the browser to load the clip",
    )
    assert duration == pytest.approx(12 / 25, abs=0.1), status
    from realtime.video_io import VideoReader

    (written,) = [
        p for p in glob.glob(str(workspace.outputs / "animate-*.mp4")) if VideoReader(p).frame_count
    ]
    with VideoReader(written) as reader:
        assert sum(1 for _ in reader) == 12
    for close in browser.driver.find_elements("css selector", ".toast-close"):
        close.click()  # the upload-size message has been checked above
    browser.screenshot(screenshots / "animate.png")
    # 4. A long render shows its progress and stops on Cancel, keeping what it wrote.
    frames.clear()
    frames.send_keys("0")
    browser.click("animate-render")
    bar = browser.wait(
        lambda: [
            e.text
            for e in browser.driver.find_elements("css selector", ".progress-text")
            if "frames" in e.text
        ],
        120,
        "the progress bar",
    )
    browser.screenshot(screenshots / "animate-progress.png")
    browser.click("animate-cancel")
    assert "kept the first" in wait_for_status(browser, "animate-status", 60, "cancelled"), bar


def test_live_runs_with_a_video_standing_in_for_the_camera(page, driving_clip, screenshots):
    browser, workspace = page
    browser.tab("Live")
    browser.click("live-find-cameras")
    note = browser.wait(
        lambda: browser.driver.find_element("id", "live-cameras-note").text, 60, "the camera list"
    )
    assert "camera" in note
    browser.upload("live-portrait", workspace.example_portrait())
    browser.upload("live-driving", driving_clip)
    wait_for_upload(browser, "live-driving", "driving")
    open_accordion(browser, "live-options")
    browser.driver.find_element("css selector", "#live-vcam input").click()
    browser.click("live-start")
    readout = wait_for_status(browser, "live-readout", 90, "running", "FPS", "face found")
    missing_vcam = virtual_camera_error()
    if missing_vcam:  # no virtual-camera driver here: the CLI's message is in the page
        assert f"vcam unavailable: {missing_vcam}" in readout
    browser.wait(lambda: browser.image_src("live-preview"), 30, "the live preview")
    browser.click("live-preset-1")
    time.sleep(1.0)
    browser.screenshot(screenshots / "live.png")
    browser.click("live-stop")
    wait_for_status(browser, "live-readout", 30, "stopped")


def test_rerender_explains_missing_weights(page, driving_clip, screenshots):
    browser, workspace = page
    browser.tab("Rerender")
    if not browser.driver.find_elements("id", "rerender-run"):
        pytest.skip("this build has no re-render modes")
    browser.upload("rerender-portrait", workspace.example_portrait())
    browser.upload("rerender-driving", driving_clip)
    wait_for_upload(browser, "rerender-driving", "driving")
    browser.click("rerender-run")
    message = wait_for_status(browser, "rerender-status", 120, "error")
    assert "model" in message.lower()
    browser.screenshot(screenshots / "rerender.png")


def test_the_page_cannot_read_server_files(studio):
    from pathlib import Path

    url, workspace = studio
    example = workspace.example_portrait()
    with urllib.request.urlopen(f"{url}gradio_api/file={example}", timeout=10) as served:
        assert served.status == 200  # the route works for what the studio shows...
    for path in ("/etc/passwd", Path("README.md").resolve(), workspace.root / ".." / "elsewhere.txt"):
        with pytest.raises(urllib.error.HTTPError) as refused:  # ...and nothing else
            urllib.request.urlopen(f"{url}gradio_api/file={path}", timeout=10)
        assert refused.value.code in (403, 404)
