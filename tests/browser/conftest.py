"""Browser tests drive Debian's Chromium through Playwright. Without Chromium they are skipped
with one line; CI sets CRISISBOT_REQUIRE_BROWSER=1, which turns that skip into a failure."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("CRISISBOT_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not Path(CHROMIUM).is_file():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    reason = browser_missing()
    if reason is not None:
        if os.environ.get("CRISISBOT_REQUIRE_BROWSER") == "1":
            pytest.fail(f"browser tests required (CRISISBOT_REQUIRE_BROWSER=1) but {reason}")
        pytest.skip(f"browser tests skipped: {reason}")
    return CHROMIUM
