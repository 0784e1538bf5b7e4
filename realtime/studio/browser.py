"""Headless Chromium for the studio's browser tests and benchmark (Debian's ``chromium`` and
``chromium-driver``, driven by selenium; nothing is downloaded) and the page actions they share."""

from __future__ import annotations

import base64
import shutil
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,1100",
)

# Set a slider the way a drag does (the input event per step) and time until the preview shows a new,
# decoded image. Arguments: elem_id of the slider, value, elem_id of the image; resolves to milliseconds.
SLIDE_AND_WAIT_JS = """
const [sliderId, value, imageId, done] = arguments;
const box = document.querySelector('#' + imageId);
const image = () => box.querySelector('img');
const before = image() ? image().src : null;
const range = document.querySelector('#' + sliderId + ' input[type=range]');
const setValue = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
let finished = false;
const finish = (ms) => { if (!finished) { finished = true; observer.disconnect(); done(ms); } };
const check = () => {
  const now = image();
  if (now && now.src !== before) { now.decode().then(() => finish(performance.now() - t0), () => finish(-1)); }
};
// Event-driven (no polling, so the measurement adds no load): a new picture arrives as a DOM change.
const observer = new MutationObserver(check);
observer.observe(box, {subtree: true, childList: true, attributes: true, attributeFilter: ['src']});
setTimeout(() => finish(-1), 20000);
const t0 = performance.now();
setValue.call(range, String(value));
range.dispatchEvent(new Event('input', {bubbles: true}));
"""


def missing() -> str | None:
    """Why no browser test can run here, or None."""
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not Path(path).exists():
            return f"{path} not found (apt-get install {package})"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


class Browser:
    """One headless Chromium with a fresh profile; a context manager."""

    def __init__(self) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self._profile = tempfile.mkdtemp(prefix="livepuppet-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in (*FLAGS, f"--user-data-dir={self._profile}"):
            options.add_argument(flag)
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_script_timeout(60)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self._profile, ignore_errors=True)

    # ---- page actions ---------------------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.driver.get(url)
        self.wait(
            lambda: self.driver.find_elements("css selector", "button[role=tab]"), 60, "the page to load"
        )

    def tab(self, name: str) -> None:
        for button in self.driver.find_elements("css selector", "button[role=tab]"):
            if button.text.strip() == name:
                button.click()
                time.sleep(0.5)
                return
        raise AssertionError(f"no tab {name!r}")

    def upload(self, elem_id: str, path: Path) -> None:
        field = self.driver.find_element("css selector", f"#{elem_id} input[type=file]")
        field.send_keys(str(Path(path).resolve()))

    def click(self, elem_id: str) -> None:
        self.driver.find_element("css selector", f"#{elem_id}").click()

    def text(self, elem_id: str) -> str:
        element = self.driver.find_element("css selector", f"#{elem_id} textarea")
        return element.get_attribute("value") or ""

    def image_src(self, elem_id: str) -> str | None:
        found = self.driver.find_elements("css selector", f"#{elem_id} img")
        return found[0].get_attribute("src") if found else None

    def wait(self, condition, seconds: float, what: str):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            value = condition()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out after {seconds:g} s waiting for {what}")

    def slide(self, slider_id: str, value: float, image_id: str) -> float:
        """Set the slider as a drag does and return ms until the image shows a new picture (-1: never)."""
        return float(self.driver.execute_async_script(SLIDE_AND_WAIT_JS, slider_id, value, image_id))

    def screenshot(self, path: Path) -> Path:
        """The whole page (the window is stretched to the page's height for the shot) as a PNG."""
        path.parent.mkdir(parents=True, exist_ok=True)
        size = self.driver.get_window_size()
        self.driver.execute_script("window.scrollTo(0, 0)")
        height = self.driver.execute_script("return document.documentElement.scrollHeight")
        self.driver.set_window_size(size["width"], max(size["height"], int(height) + 40))
        time.sleep(0.3)
        try:
            self.driver.save_screenshot(str(path))
        finally:
            self.driver.set_window_size(size["width"], size["height"])
        return path


def fetch_image(url: str) -> np.ndarray:
    """An image the page shows (a local or data: URL), as RGB uint8."""
    import cv2

    if url.startswith("data:"):
        data = np.frombuffer(base64.b64decode(url.split(",", 1)[1]), np.uint8)
    else:
        with urllib.request.urlopen(url, timeout=30) as response:
            data = np.frombuffer(response.read(), np.uint8)
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
