"""Browser tests drive Debian's Chromium through Playwright. Without Chromium they are skipped
with one line; CI sets CRISISBOT_REQUIRE_BROWSER=1, which turns that skip into a failure."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.processes import CRISISBOT, process_env, start_serve
from tests.serving import free_port

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


@dataclass
class Server:
    url: str
    env: dict[str, str]
    process: subprocess.Popen[bytes]

    def link(self, person: str, ttl: str = "15m") -> str:
        """A sign-in link from `crisisbot login`, as an operator gets one."""
        done = subprocess.run([*CRISISBOT, "login", person, "--ttl", ttl],
                              env=self.env, capture_output=True, text=True, timeout=60,
                              check=True)
        return done.stdout.strip()


def serve(tmp_path_factory: pytest.TempPathFactory, name: str,
          settings: dict[str, str]) -> Iterator[Server]:
    """`crisisbot serve` as a real process on a fresh SQLite file, for one test module; stopped
    with SIGTERM, which must end it cleanly and without a traceback."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    db = tmp_path_factory.mktemp(name) / f"{name}.db"
    log = db.with_suffix(".log")
    env = process_env(CRISISBOT_DATABASE_URL=f"sqlite+aiosqlite:///{db}",
                      CRISISBOT_PORT=str(port), CRISISBOT_PUBLIC_URL=url, **settings)
    with log.open("wb") as sink:
        process = start_serve(env, stderr=sink)
    yield Server(url, env, process)
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0
    errors = log.read_text(errors="replace")
    assert "Traceback" not in errors, errors


@dataclass
class Errors:
    seen: list[str] = field(default_factory=list)

    def watch(self, page) -> None:
        page.on("console", lambda m: self.seen.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.seen.append(str(e)))


@pytest.fixture(scope="module")
def browser(chromium: str, server: Server):
    """Started after the module's `server` and closed before it, as people close their tabs."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


def sign_in(browser, server: Server, person: str):
    """A browser context (one person's browser) signed in through a fresh link."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(server.link(person))
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/")
    return context, page


def command(page, line: str) -> None:
    """Type a line into the Command box and wait for its answer."""
    page.get_by_role("textbox", name="Command").fill(line)
    with page.expect_response(re.compile(r"/command$")):
        page.get_by_role("button", name="Send").click()
