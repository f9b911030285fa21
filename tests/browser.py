"""A real headless Chromium for dashboard tests: Debian's `chromium` and `chromium-driver`, driven by Selenium.

Nothing is downloaded at test time: the browser and its driver are the system's (`make test`
installs the Debian packages; `$MESHOPS_CHROMIUM` and `$MESHOPS_CHROMEDRIVER` point elsewhere),
and Selenium is told to stay offline. Without them, browser tests skip and say what to install.
Screenshots go to `$MESHOPS_ARTIFACTS` (default `test-artifacts/`, git-ignored), which CI keeps.
"""
from __future__ import annotations

import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from helpers import REPO_ROOT

BROWSERS = ("chromium", "chromium-browser", "google-chrome")
VIEWPORT = (1280, 800)
INSTALL_HINT = "apt-get install chromium chromium-driver (make test installs them)"
T = TypeVar("T")


def artifacts_dir() -> Path:
    path = Path(os.environ.get("MESHOPS_ARTIFACTS") or REPO_ROOT / "test-artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def chromium_paths() -> tuple[str, str] | str:
    """(browser, driver) paths, or why there are none."""
    browser = os.environ.get("MESHOPS_CHROMIUM") or next(filter(None, map(shutil.which, BROWSERS)), None)
    driver = os.environ.get("MESHOPS_CHROMEDRIVER") or shutil.which("chromedriver")
    if not browser or not driver:
        missing = " and ".join(name for name, path in (("chromium", browser), ("chromedriver", driver)) if not path)
        return f"browser test: {missing} not found ({INSTALL_HINT})"
    return browser, driver


@contextmanager
def chromium(browser: str, driver: str) -> Iterator:
    """A headless Chromium whose page is exactly 1280×800 CSS pixels at scale 1."""
    os.environ.setdefault("SE_OFFLINE", "true")  # Selenium Manager must never fetch a browser or driver
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                     "--disable-extensions", f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(service=Service(driver), options=options)
    try:
        session.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                                {"width": VIEWPORT[0], "height": VIEWPORT[1], "deviceScaleFactor": 1, "mobile": False})
        yield session
    finally:
        session.quit()


def screenshot(session, name: str) -> Path:
    """A PNG of the viewport under the artifacts folder."""
    path = artifacts_dir() / name
    session.save_screenshot(str(path))
    return path


def wait_until(condition: Callable[[], T], *, timeout: float, what: str, every: float = 0.2) -> T:
    """The first truthy value of `condition()`, polling; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(every)
