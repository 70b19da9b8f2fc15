"""The web console in a real Chromium, against `crisisbot serve` as a real process: sign in
with a one-time link, watch an alert arrive without reloading, run `/crisis` commands in the
Command box, approve a draft with two people while the author is refused, and the refusals
(reused or expired links, a form without its CSRF token). Controls are found by role and
accessible name, as a screen reader finds them. Screenshots go to test-artifacts/console/."""

from __future__ import annotations

import re
import time
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

SECRET = "browser-secret"
LIVE = 5_000
"""How long (ms) a live update may take to show; the console's own target is under a second."""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, chromium: str) -> Iterator[Server]:
    yield from serve(tmp_path_factory, "console",
                     {"CRISISBOT_ALERTS__SECRET": SECRET,
                      "CRISISBOT_ALERTS__DIGEST_SECONDS": "1"})


def alert(server: Server, title: str, key: str) -> None:
    response = httpx.post(f"{server.url}/alerts/generic",
                          json={"title": title, "dedup_key": key, "group": "recall"},
                          headers={"authorization": f"Bearer {SECRET}"})
    assert response.status_code == 200, response.text


def test_an_incident_from_an_alert_to_an_approved_statement(browser, server: Server) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    errors = Errors()
    alice, page = sign_in(browser, server, "local:alice")
    errors.watch(page)
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()

    # An alert posted over HTTP shows in the open list, with no reload.
    alert(server, "Fake recall story spreading", "recall-1")
    row = page.get_by_role("row").filter(has_text="Fake recall story spreading")
    expect(row).to_be_visible(timeout=LIVE)
    expect(row.get_by_role("cell").nth(0)).to_have_text("INC-1")
    expect(row.get_by_role("cell").nth(6)).to_have_text("1")
    page.screenshot(path=ARTIFACTS / "list.png", full_page=True)

    # ... and in its room: a second alert of the group shows in the live timeline.
    row.get_by_role("link", name="INC-1").click()
    expect(page.get_by_role("heading", name=re.compile("INC-1"))).to_be_visible()
    alert(server, "Fake recall story spreading", "recall-2")
    timeline = page.get_by_role("region", name="Timeline")
    expect(timeline).to_contain_text("+1 alert", timeout=LIVE)

    # `/crisis ack` in the Command box makes alice the commander, answered in place.
    command(page, "/crisis ack")
    expect(page.get_by_role("status")).to_have_text("Done.")
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("Commander: @alice")
    for line in ("/crisis role @bob approver", "/crisis role @carol approver",
                 "/crisis severity SEV2", "/crisis draft We are checking the story."):
        command(page, line)
    drafts = page.get_by_role("region", name="Drafts")
    expect(drafts).to_contain_text("Approvals: 0 of 2")

    # The author's own Approve is refused, with the reason shown.
    drafts.get_by_role("button", name="Approve").click()
    expect(page.get_by_role("alert")).to_have_text(
        "You wrote this draft, so you cannot approve it.")
    page.screenshot(path=ARTIFACTS / "room.png", full_page=True)

    # Two approvers, each in their own browser, approve; alice's room follows live.
    others = []
    for person, count in (("local:bob", "1 of 2"), ("local:carol", "2 of 2")):
        context, other = sign_in(browser, server, person)
        errors.watch(other)
        other.goto(f"{server.url}/incidents/1")
        other.get_by_role("region", name="Drafts").get_by_role("button", name="Approve").click()
        expect(other.get_by_role("status")).to_have_text("You approved draft #1.")
        expect(drafts).to_contain_text(f"Approvals: {count}", timeout=LIVE)
        others.append((context, other))
    expect(drafts).to_contain_text("State: approved")

    # Insights: charts with their numbers in tables.
    page.get_by_role("link", name="Insights").click()
    figure = page.get_by_role("figure", name="Incidents per week, by severity")
    expect(figure.get_by_role("img", name="Incidents per week, by severity")).to_be_visible()
    expect(figure.get_by_role("table")).to_contain_text("1")
    page.screenshot(path=ARTIFACTS / "insights.png", full_page=True)

    # bob reads the room in Persian: right to left, the same incident.
    bob = others[0][1]
    bob.get_by_role("combobox", name="Language").select_option("fa")
    bob.get_by_role("button", name="Change language").click()
    expect(bob.locator("html")).to_have_attribute("dir", "rtl")
    expect(bob.locator("html")).to_have_attribute("lang", "fa")
    expect(bob.get_by_role("heading", level=1)).to_contain_text("INC-1")
    bob.screenshot(path=ARTIFACTS / "room-fa.png", full_page=True)

    assert errors.seen == []
    for context, _other in others:
        context.close()
    alice.close()


def refused(browser, link: str):
    """A fresh browser opens `link` and is refused (410, with the reason); its context and page."""
    from playwright.sync_api import expect

    context = browser.new_context()
    page = context.new_page()
    response = page.goto(link)
    assert response is not None
    assert response.status == 410
    expect(page.get_by_role("alert")).to_contain_text("cannot be used")
    return context, page


def test_a_sign_in_link_works_once(browser, server: Server) -> None:
    from playwright.sync_api import expect

    link = server.link("local:dora")
    context = browser.new_context()
    page = context.new_page()
    page.goto(link)
    expect(page.get_by_text("You are signing in as @dora.")).to_be_visible()
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()
    again, _reused = refused(browser, link)
    context.close()
    again.close()


def test_an_expired_sign_in_link_is_refused(browser, server: Server) -> None:
    from playwright.sync_api import expect

    link = server.link("local:erin", ttl="1s")
    time.sleep(1.5)
    context, page = refused(browser, link)
    expect(page.get_by_role("button", name="Sign in")).to_have_count(0)
    context.close()


def test_a_form_without_its_csrf_token_is_refused(browser, server: Server) -> None:
    context, page = sign_in(browser, server, "local:frank")
    refused = context.request.post(f"{server.url}/incidents/1/command",
                                   form={"line": "/crisis note forged"})
    assert refused.status == 403
    token = page.locator('meta[name="csrf"]').get_attribute("content")
    accepted = context.request.post(f"{server.url}/incidents/1/command",
                                    form={"line": "/crisis note genuine", "csrf": token})
    assert accepted.status == 200
    context.close()


def test_signing_out_ends_the_session(browser, server: Server) -> None:
    from playwright.sync_api import expect

    context, page = sign_in(browser, server, "local:gina")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("alert")).to_have_text("You are signed out.")
    response = page.goto(f"{server.url}/")
    assert response is not None
    assert response.status == 401
    context.close()


def test_an_in_place_form_refused_as_a_whole_page_shows_why(browser, server: Server) -> None:
    """A room's form answered with a refusal page (the session ended meanwhile) shows that
    page's words, as it would without the script, instead of nothing."""
    from playwright.sync_api import expect

    context, page = sign_in(browser, server, "local:hana")
    page.get_by_role("textbox", name="Command").fill("/crisis declare Printer on fire")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name=re.compile("Printer on fire"))).to_be_visible()
    context.clear_cookies()
    command(page, "/crisis note still there?")
    expect(page.get_by_role("alert")).to_contain_text("Sign in with a one-time link")
    context.close()


def test_a_refused_command_stays_in_the_box_to_fix(browser, server: Server) -> None:
    """A line the room refuses (here: a draft from someone with no role) stays typed, so a
    long statement is not lost; an accepted one clears the box."""
    from playwright.sync_api import expect

    context, page = sign_in(browser, server, "local:ivan")
    page.get_by_role("textbox", name="Command").fill("/crisis declare Kettle leaks")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("heading", name=re.compile("Kettle leaks"))).to_be_visible()
    other, page2 = sign_in(browser, server, "local:judy")
    page2.goto(page.url)
    line = "/crisis draft A long statement we worded with care."
    command(page2, line)
    expect(page2.get_by_role("alert")).to_contain_text("needs a role")
    expect(page2.get_by_role("textbox", name="Command")).to_have_value(line)
    command(page, "/crisis note seen")
    expect(page.get_by_role("status")).to_have_text("Done.")
    expect(page.get_by_role("textbox", name="Command")).to_have_value("")
    context.close()
    other.close()


def test_the_list_stays_live_after_its_command_box_answers(browser, server: Server) -> None:
    """The list's Command box answers on a page posted to `/command`; that page still
    follows new incidents, and reloading it does not send the command again."""
    from playwright.sync_api import expect

    context, page = sign_in(browser, server, "local:kim")
    page.get_by_role("textbox", name="Command").fill("/crisis help")
    page.get_by_role("button", name="Send").click()
    expect(page.get_by_role("status")).to_contain_text("crisisbot commands:")
    assert page.url == f"{server.url}/"
    opened = httpx.post(f"{server.url}/alerts/generic",
                        json={"title": "Warehouse flooded", "dedup_key": "flood-1",
                              "group": "flood"},
                        headers={"authorization": f"Bearer {SECRET}"})
    assert opened.status_code == 200, opened.text
    expect(page.get_by_role("row").filter(has_text="Warehouse flooded")).to_be_visible(
        timeout=LIVE)
    context.close()
