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


REQUIRED = os.environ.get("CRISISBOT_REQUIRE_BROWSER") == "1"


def skip_without_browser() -> None:
    """At a browser test module's top: one skip line for the whole module, unless required."""
    reason = browser_missing()
    if reason is not None and not REQUIRED:
        pytest.skip(f"browser tests skipped: {reason}", allow_module_level=True)


@pytest.fixture(scope="session")
def chromium() -> str:
    reason = browser_missing()
    if reason is not None:
        pytest.fail(f"browser tests required (CRISISBOT_REQUIRE_BROWSER=1) but {reason}")
    return CHROMIUM
