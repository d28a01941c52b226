"""``/docs`` renders in a real headless browser, offline: the operations show, not an error.

Chromium and chromedriver come from Debian's packages (``.ci/run`` installs them). Locally the test
skips when they are missing; under CI (``CI=true``) a missing browser is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

from .conftest import LiveGateway

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
ERROR_TEXT = "Unable to render this definition"


def _have_browser() -> bool:
    return os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)


@pytest.fixture
def browser() -> Iterator[Any]:
    if not _have_browser():
        if os.environ.get("CI") == "true":
            pytest.fail(f"chromium/chromedriver missing ({CHROMIUM}, {CHROMEDRIVER}): .ci/run installs them")
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is in the dev extra")
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="wacloud-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", f"--user-data-dir={profile}"):
            options.add_argument(arg)
        driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        try:
            yield driver
        finally:
            driver.quit()


def test_docs_page_renders_the_operations(live: LiveGateway, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{live.url}/docs")

    def settled(driver: Any) -> bool:
        text = driver.find_element(By.TAG_NAME, "body").text
        return ERROR_TEXT in text or bool(driver.find_elements(By.CSS_SELECTOR, ".opblock-summary-path"))

    WebDriverWait(browser, 60, poll_frequency=0.2).until(settled)
    text = browser.find_element(By.TAG_NAME, "body").text
    assert ERROR_TEXT not in text, text[:500]
    paths = {e.get_attribute("data-path") or e.text for e in
             browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")}
    assert "/v1/messages" in paths, sorted(paths)[:20]
    assert "/v1/media" in paths and "/v1/jobs/{job_id}" in paths
    assert "wacloud gateway" in text
    # Offline: every resource the page loaded came from the gateway itself.
    loaded = browser.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
    assert loaded and all(url.startswith(live.url) for url in loaded), loaded
