"""A real browser for the tests of pages: Debian's Chromium driven by Playwright, offline.

Chromium comes from the system (``apt-get install chromium``: /usr/bin/chromium), not from
``playwright install``, which downloads. Where it is missing the browser tests are skipped
with one line, unless SPECANIM_REQUIRE_BROWSER=1 (.ci/run sets it), where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SPECANIM_CHROMIUM", "/usr/bin/chromium"))
REQUIRE_BROWSER = "SPECANIM_REQUIRE_BROWSER"
# Without the background-networking flags Chromium opens connections of its own at start
# (component updates, sync, Google's hosts), which a closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]

try:  # a missing package is one skip line, as a missing Chromium is
    from playwright.sync_api import Browser, Page, sync_playwright
except ImportError:  # pragma: no cover - the test extra installs it
    sync_playwright = None  # type: ignore[assignment]


@dataclass
class Visit:
    """A browser page with what it asked for and what went wrong in it."""

    page: Page
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def outside(self, *allowed: str) -> list[str]:
        """The requests to any address but those starting with one of ``allowed``."""
        return [url for url in self.requests if not url.startswith(allowed)]


def _missing() -> str | None:
    if sync_playwright is None:
        return "needs playwright: pip install -e '.[test]'"
    if not CHROMIUM.exists() and shutil.which(str(CHROMIUM)) is None:
        return f"needs Chromium at {CHROMIUM}: apt-get install chromium (.ci/run does)"
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session."""
    why = _missing()
    if why is not None:
        if os.environ.get(REQUIRE_BROWSER) == "1":
            pytest.fail(f"{REQUIRE_BROWSER}=1, but the browser tests cannot run: {why}")
        pytest.skip(why)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def visit(browser: Browser) -> Iterator[Visit]:
    """A new page in its own context, recording every request and every page error."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    seen = Visit(page)
    page.on("request", lambda request: seen.requests.append(request.url))
    page.on("pageerror", lambda error: seen.errors.append(str(error)))
    page.on(
        "console",
        lambda message: seen.errors.append(message.text) if message.type == "error" else None,
    )
    yield seen
    context.close()
