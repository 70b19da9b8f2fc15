"""The public status page in a real Chromium, against `crisisbot serve` as a real process: two
incidents run from the console's Command box, one statement published in English and one in
Persian; `/status` shows both, each in its own language and direction (the Persian one right to
left), links its Atom feed, and shows no word that was not published. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import (
    ARTIFACTS,
    Errors,
    Server,
    command,
    serve,
    sign_in,
    skip_without_browser,
)

skip_without_browser()
pytestmark = pytest.mark.browser

EN = "We are checking the reports about the recall and will update here by noon."
FA = "ما در حال بررسی گزارش‌ها هستیم و تا ظهر همین‌جا خبر می‌دهیم."
UNPUBLISHED = ("Supplier leak suspected", "Insider posted photos", "call the lawyer first",
               "Recall may be real, do not confirm")
"""Internal titles, a note and a draft nobody approved: none of it may reach the page."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Server]:
    yield from serve(tmp_path_factory, "status", {"CRISISBOT_PUBLISH__STATUS_PAGE": "true"})


def run_incident(page, server: Server, approver, number: int, title: str,
                 lines: tuple[str, ...]) -> None:
    """Declare an incident, run `lines` in its room, have `approver` approve the last draft."""
    page.goto(f"{server.url}/")
    command(page, f"/crisis declare SEV4 {title}")
    page.goto(f"{server.url}/incidents/{number}")
    for line in ("/crisis ack", "/crisis role @bob approver", *lines):
        command(page, line)
    approver.goto(f"{server.url}/incidents/{number}")
    command(approver, "/crisis approve")


def test_published_statements_in_english_and_persian(browser, server: Server) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors = Errors()
    alice_context, alice = sign_in(browser, server, "local:alice")
    bob_context, bob = sign_in(browser, server, "local:bob")
    errors.watch(alice)
    run_incident(alice, server, bob, 1, UNPUBLISHED[0],
                 (f"/crisis note {UNPUBLISHED[2]}", f"/crisis draft {EN}"))
    command(alice, "/crisis publish Product recall rumour")
    run_incident(alice, server, bob, 2, UNPUBLISHED[1], (f"/crisis draft {FA}",))
    for line in ("/crisis lang fa", "/crisis publish", f"/crisis draft {UNPUBLISHED[3]}"):
        command(alice, line)

    reader = browser.new_context(locale="fa-IR")
    page = reader.new_page()
    errors.watch(page)
    page.goto(f"{server.url}/status")
    expect(page.get_by_role("heading", name="Status", level=1)).to_be_visible()
    english = page.get_by_role("article").filter(has_text=EN)
    persian = page.get_by_role("article").filter(has_text=FA)
    expect(english).to_have_attribute("dir", "ltr")
    expect(english).to_have_attribute("lang", "en")
    expect(persian).to_have_attribute("dir", "rtl")
    expect(persian).to_have_attribute("lang", "fa")
    expect(page.locator("section").filter(has=persian)).to_have_attribute("dir", "rtl")
    expect(page.get_by_role("heading", name="Product recall rumour")).to_be_visible()
    # Newest first: the Persian statement was published last.
    expect(page.get_by_role("article").first).to_contain_text(FA)

    feed = page.get_by_role("link", name="Atom feed")
    expect(feed).to_have_attribute("href", f"{server.url}/status/feed.atom")
    atom = httpx.get(f"{server.url}/status/feed.atom")
    assert atom.status_code == 200
    assert EN in atom.text
    assert FA in atom.text
    page.screenshot(path=ARTIFACTS / "status.png", full_page=True)

    shown = page.content() + atom.text
    for word in UNPUBLISHED:
        assert word not in shown
    assert errors.seen == []
    for context in (reader, bob_context, alice_context):
        context.close()
