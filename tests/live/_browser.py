"""A real headless Chromium for the web view's tests and benchmark (Debian's ``chromium`` and
``chromium-driver``, driven by Selenium).

Imported as ``from _browser import ...`` (pytest puts the test folder on ``sys.path``).
"""

from __future__ import annotations

import os
import shutil
import time
from typing import Any

import pytest

DEBIAN_PACKAGES = "chromium chromium-driver"


def _binaries() -> tuple[str | None, str | None]:
    browser = os.environ.get("STREAMSR_CHROMIUM") or shutil.which("chromium")
    driver = os.environ.get("STREAMSR_CHROMEDRIVER") or shutil.which("chromedriver")
    return browser, driver


def browser_unavailable() -> str | None:
    """Why no browser can be started here (``None``: it can)."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    browser, driver = _binaries()
    if browser is None or driver is None:
        return f"Chromium or its driver is missing (apt-get install {DEBIAN_PACKAGES})"
    return None


def require_browser() -> None:
    why = browser_unavailable()
    if why is not None:
        pytest.skip(why)


def chromium(width: int = 1280, height: int = 800) -> Any:
    """A headless Chromium that plays muted video without a user gesture."""
    from selenium import webdriver

    browser, driver = _binaries()
    assert browser is not None and driver is not None
    opts = webdriver.ChromeOptions()
    opts.binary_location = browser
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--autoplay-policy=no-user-gesture-required",
        f"--window-size={width},{height}",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=webdriver.ChromeService(driver), options=opts)


VIDEOS_JS = (
    "return [...document.querySelectorAll(arguments[0])].map(v => "
    "({t: v.currentTime, w: v.videoWidth, h: v.videoHeight, ready: v.readyState}))"
)


def videos(driver: Any, selector: str = "video") -> list[dict[str, Any]]:
    """currentTime, videoWidth/Height and readyState of every matching video element."""
    return list(driver.execute_script(VIDEOS_JS, selector))


def playing(driver: Any, selector: str, width: int, *, seconds: float = 1.0) -> bool:
    """Every matching video shows ``width``-wide frames and its time advances ``seconds``."""
    before = videos(driver, selector)
    if not before or any(v["w"] != width or v["ready"] < 2 for v in before):
        return False
    time.sleep(seconds)
    after = videos(driver, selector)
    return len(after) == len(before) and all(
        b["t"] - a["t"] >= 0.5 * seconds for a, b in zip(before, after, strict=True)
    )
