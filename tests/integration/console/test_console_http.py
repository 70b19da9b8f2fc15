"""The web console over HTTP on loopback (the app `serve` runs, on a fresh SQLite file):
sign-in links, sessions and CSRF, body limits, the incident list's filters and the live
stream. The browser tests (tests/browser) drive the same pages through Chromium."""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import select

from bot.app.console import sign_in_links
from bot.app.web import web_app
from bot.app.wiring import Bot, build
from bot.core.errors import CrisisError, Invalid
from bot.core.listing import Filters
from bot.core.models import CrisisKind
from bot.settings import load
from bot.storage.sql.tables import SignInLinkRow
from tests.integration.console.browsing import csrf_of, signs_in_once
from tests.serving import serve

SECRET = "console-secret"


@dataclass
class Console:
    bot: Bot
    url: str

    @asynccontextmanager
    async def client(self, person: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        """A browser-like client (cookies kept), signed in as `person` through a link."""
        async with httpx.AsyncClient(base_url=self.url) as client:
            if person is not None:
                await self.sign_in(client, person)
            yield client

    async def sign_in(self, client: httpx.AsyncClient, person: str) -> None:
        link = await self.link(person)
        page = await client.get(link)
        answer = await client.post(link, data={"csrf": csrf_of(page.text)})
        assert answer.status_code == 303

    async def link(self, person: str, ttl: timedelta = timedelta(minutes=5)) -> str:
        """The path of a new sign-in link (the link itself names CRISISBOT_PUBLIC_URL)."""
        link = await sign_in_links(self.bot).issue(person, ttl)
        assert link.startswith("http://127.0.0.1:8080/signin/")
        return urlsplit(link).path

    async def alert(self, title: str, key: str, **extra: object) -> None:
        async with httpx.AsyncClient(base_url=self.url) as client:
            response = await client.post(
                "/alerts/generic", json={"title": title, "dedup_key": key, **extra},
                headers={"authorization": f"Bearer {SECRET}"})
            assert response.status_code == 200, response.text


@pytest.fixture
async def console(sqlite_url: str) -> AsyncIterator[Console]:
    settings = load(database_url=sqlite_url, alerts={"secret": SECRET, "digest_seconds": 1})
    bot = await build(settings)
    serving = await serve(web_app(bot))
    try:
        yield Console(bot, serving.url)
    finally:
        await serving.stop()
        await bot.close()


async def with_draft(client: httpx.AsyncClient, text: str) -> tuple[str, str]:
    """INC-1 declared from the list, with draft #1 saying `text`: the CSRF token and the
    room's page."""
    token = csrf_of((await client.get("/")).text)
    await client.post("/command", data={"line": "/crisis declare Outage", "csrf": token})
    await client.post("/incidents/1/command", data={"line": f"/crisis draft {text}",
                                                    "csrf": token})
    return token, (await client.get("/incidents/1")).text


async def test_every_page_needs_a_session(console: Console) -> None:
    async with console.client() as anonymous:
        for path in ("/", "/incidents/1", "/incidents/1/report", "/live"):
            response = await anonymous.get(path)
            assert response.status_code == 401, path
            assert "crisisbot login" in response.text
        anonymous.cookies.set("crisisbot_session", "eyJjIjoieCJ9.forged")
        assert (await anonymous.get("/")).status_code == 401


async def test_a_link_signs_in_its_person_once_and_only_its_hash_is_stored(
        console: Console) -> None:
    link = await console.link("local:alice")
    token = link.rsplit("/", 1)[-1]
    async with console.bot.store.unit() as unit:
        stored = list(await unit.session.scalars(select(SignInLinkRow.token_hash)))
    assert stored == [hashlib.sha256(token.encode()).hexdigest()]
    assert token not in stored
    async with console.client() as browser:
        await signs_in_once(browser, link, "local:alice")


async def test_an_expired_link_and_a_bad_person_are_refused(console: Console) -> None:
    link = await console.link("local:alice", timedelta(milliseconds=1))
    await asyncio.sleep(0.01)
    async with console.client() as browser:
        assert (await browser.get(link)).status_code == 410
    links = sign_in_links(console.bot)
    with pytest.raises(Invalid):
        await links.issue("alice", timedelta(minutes=5))
    with pytest.raises(Invalid):
        await links.issue("local:alice", timedelta(0))
    for forever in (timedelta(days=8), timedelta(days=99_999_999)):  # the latter overflowed
        with pytest.raises(Invalid, match="at most 7 days"):
            await links.issue("local:alice", forever)
    assert await links.issue("local:alice", timedelta(days=7))


async def test_a_post_without_the_sessions_csrf_token_changes_nothing(
        console: Console) -> None:
    await console.alert("Outage", "o1")
    async with console.client("local:alice") as alice:
        page = await alice.get("/incidents/1")
        token = csrf_of(page.text)
        for fields in ({"line": "/crisis ack"}, {"line": "/crisis ack", "csrf": "guess"},
                       {"line": "/crisis ack", "csrf": "گمان"}):  # was a 503 (TypeError)
            refused = await alice.post("/incidents/1/command", data=fields)
            assert refused.status_code == 403
        async with console.client("local:mallory") as other:
            mine = csrf_of((await other.get("/")).text)
            assert (await alice.post("/incidents/1/command",
                                     data={"line": "/crisis ack", "csrf": mine})).status_code == 403
        latin1 = await alice.post("/incidents/1/command", data={"line": "/crisis ack"},
                                  headers={"x-csrf-token": b"\xe9"})
        assert latin1.status_code == 403
        incident = (await console.bot.service.load(1))[0]
        assert incident.commander is None
        done = await alice.post("/incidents/1/command", headers={"x-csrf-token": token},
                                data={"line": "/crisis ack"})
        assert done.status_code == 200
        assert (await console.bot.service.load(1))[0].commander == "local:alice"


async def test_console_bodies_are_small(console: Console) -> None:
    await console.alert("Outage", "o1")
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        big = await alice.post("/incidents/1/command",
                               data={"line": "/crisis note " + "x" * 62_000, "csrf": token})
        assert big.status_code == 413
        assert "over 60 KB): shorten the text and send it again" in big.text
        as_json = await alice.post("/incidents/1/command", json={"line": "/crisis ack"})
        assert as_json.status_code == 415
        missing = await alice.get("/incidents/99")
        assert missing.status_code == 404


async def test_commands_in_the_room_answer_in_place_and_refusals_say_why(
        console: Console) -> None:
    await console.alert("Outage", "o1")
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)

        async def run(line: str) -> str:
            page = await alice.post("/incidents/1/command", data={"line": line, "csrf": token})
            assert page.status_code == 200
            found = re.search(r'id="answer"[^>]*>(.*?)</div>', page.text, re.S)
            assert found is not None
            return re.sub(r"<[^>]+>|\s+", " ", found.group(1)).strip()

        assert await run("/crisis ack") == "Done."
        assert await run("/crisis role @bob approver") == "Done."
        assert await run("draft We know.") == "Draft #1 posted for approval."
        refused = await alice.post("/incidents/1/drafts/1/approve",
                                   data={"version": "1", "csrf": token})
        assert 'role="alert"' in refused.text
        assert "You wrote this draft, so you cannot approve it." in refused.text
        assert await run("/crisis frobnicate") == \
            "Unknown command “frobnicate”. Try “/crisis help” for the list."
    async with console.client("local:bob") as bob:
        token = csrf_of((await bob.get("/")).text)
        stale = await bob.post("/incidents/1/drafts/1/approve",
                               data={"version": "7", "csrf": token})
        assert 'role="alert"' in stale.text
        approved = await bob.post("/incidents/1/drafts/1/approve",
                                  data={"version": "1", "csrf": token})
        assert "You approved draft #1." in approved.text
    draft = (await console.bot.service.load(1))[1][0]
    assert draft.state.value == "approved"


async def test_the_list_filters_and_puts_open_incidents_first(console: Console) -> None:
    await console.alert("Checkout down", "a", severity="critical")
    await console.alert("Fake recall story", "b")
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        await alice.post("/incidents/2/command", data={"line": "/crisis ack", "csrf": token})
        await alice.post("/incidents/2/command", data={"line": "/crisis resolve", "csrf": token})

        async def listed(query: str = "") -> list[str]:
            page = await alice.get("/" + query)
            return re.findall(r'href="/incidents/\d+">(INC-\d+)<', page.text)

        await console.alert("Trolls again", "c")
        assert await listed() == ["INC-3", "INC-1", "INC-2"]
        assert await listed("?status=resolved") == ["INC-2"]
        assert await listed("?q=RECALL+fake") == ["INC-2"]
        assert await listed("?drills=only") == []
        assert await listed("?severity=SEV4&status=nonsense") == []


async def test_the_live_stream_tells_a_change_within_a_second(console: Console) -> None:
    async with console.client("local:alice") as alice:
        page = await alice.get("/")
        mark = re.search(r'data-since="(\d+)"', page.text)
        assert mark is not None
        async with alice.stream("GET", f"/live?since={mark.group(1)}") as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            lines = stream.aiter_lines()
            assert await anext(lines) == "retry: 500"
            started = asyncio.get_running_loop().time()
            await console.alert("Outage", "o1")
            async with asyncio.timeout(1):
                while not (await anext(lines)).startswith("event: change"):
                    pass
            assert asyncio.get_running_loop().time() - started < 1


async def test_the_language_is_the_persons_choice(console: Console) -> None:
    await console.alert("Outage", "o1")
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        chosen = await alice.post("/language", data={"language": "fa", "csrf": token,
                                                     "back": "/incidents/1"})
        assert chosen.status_code == 303
        assert chosen.headers["location"] == "/incidents/1"
        room = await alice.get("/incidents/1")
        assert '<html lang="fa" dir="rtl">' in room.text
        assert "فرمان" in room.text  # "Command"
        outside = await alice.post("/language", data={"language": "ru", "csrf": token,
                                                      "back": "//evil.example/"})
        assert outside.headers["location"] == "/"
        for elsewhere in ("/\\evil.example/", "/\t/evil.example/", "https://evil.example/"):
            sent = await alice.post("/language", data={"language": "ru", "csrf": token,
                                                       "back": elsewhere})
            assert sent.headers["location"] == "/", elsewhere


async def test_insights_count_incidents_by_week_and_keep_drills_apart(
        console: Console) -> None:
    await console.alert("Outage", "o1", severity="critical")
    await console.bot.service.start_drill("local:alice", CrisisKind.TROLLING)
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        await alice.post("/incidents/1/command", data={"line": "/crisis ack", "csrf": token})
        page = await alice.get("/insights?weeks=4")
    assert page.status_code == 200
    assert "1 incident · Drills apart: 1 drill." in page.text
    assert page.text.count("<svg") == 3
    week = re.findall(r"<tr><th scope=\"row\">\d{1,2}/\d{1,2}</th>((?:<td>[^<]*</td>)+)</tr>",
                      page.text)
    assert week[3] == "<td>1</td><td>0</td><td>0</td><td>0</td><td>1</td>"  # SEV1, Σ
    assert '<tr><th scope="row">other</th><td>1</td></tr>' in page.text  # by kind
    assert "trolling" not in page.text  # the drill's kind
    async with console.client("local:alice") as alice:  # a count that is no count: the default
        for weeks in ("²", "9" * 5000):
            odd = await alice.get("/insights", params={"weeks": weeks})
            assert odd.status_code == 200, weeks
            assert 'name="weeks" min="1" max="52" value="12"' in odd.text


async def test_checklist_items_are_done_and_undone_from_the_room(console: Console) -> None:
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        declared = await alice.post("/command", data={
            "line": "/crisis declare kind:data_breach Customer data on a forum", "csrf": token})
        assert declared.headers["location"] == "/incidents/1"
        room = await alice.get("/incidents/1")
        first = re.search(r'action="/incidents/1/tasks/(\d+)".*?name="done" value="1".*?'
                          r'aria-label="Done: ([^"]+)"', room.text, re.S)
        assert first is not None
        task, title = first.groups()
        done = await alice.post(f"/incidents/1/tasks/{task}", data={"done": "1", "csrf": token})
        assert f'aria-label="Undo: {title}"' in done.text
        tasks = await console.bot.service.tasks(1)
        assert next(t for t in tasks if t.number == int(task)).done_by == "local:alice"
        undone = await alice.post(f"/incidents/1/tasks/{task}", data={"done": "0",
                                                                      "csrf": token})
        assert f'aria-label="Done: {title}"' in undone.text
        assert not next(t for t in await console.bot.service.tasks(1)
                        if t.number == int(task)).done


async def test_a_command_in_the_room_of_a_missing_incident_is_a_404(console: Console) -> None:
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        missing = await alice.post("/incidents/42/command",
                                   data={"line": "/crisis ack", "csrf": token})
        assert missing.status_code == 404
        assert "There is no incident INC-42." in missing.text
        declared = await alice.post("/incidents/42/command",
                                    data={"line": "/crisis declare Leak", "csrf": token})
        assert declared.status_code == 404
    with pytest.raises(CrisisError):  # refused before it ran: the 404 hides no new incident
        await console.bot.service.load(1)


async def test_an_approved_draft_is_published_from_its_card(sqlite_url: str) -> None:
    """#16: the room's Publish button, for the commander (not for an approver), publishes the
    approved version to the status page, byte for byte."""
    settings = load(database_url=sqlite_url, alerts={"secret": SECRET},
                    publish={"status_page": True})
    bot = await build(settings)
    serving = await serve(web_app(bot))
    console = Console(bot, serving.url)
    text = "We know checkout fails & we are on it: <b>no</b> data was lost."
    try:
        await console.alert("Outage", "o1")
        async with console.client("local:alice") as alice, console.client("local:bob") as bob:
            alice_token = csrf_of((await alice.get("/")).text)
            bob_token = csrf_of((await bob.get("/")).text)
            for line in ("/crisis ack", "/crisis role @bob approver", f"/crisis draft {text}"):
                await alice.post("/incidents/1/command", data={"line": line, "csrf": alice_token})
            room = await alice.get("/incidents/1")
            assert "/drafts/1/publish" not in room.text  # pending: nothing to publish yet
            await bob.post("/incidents/1/drafts/1/approve",
                           data={"version": "1", "csrf": bob_token})
            assert "/drafts/1/publish" in (await alice.get("/incidents/1")).text
            refused = await bob.post("/incidents/1/drafts/1/publish",
                                     data={"version": "1", "csrf": bob_token})
            assert 'role="alert"' in refused.text
            assert "Only a spokesperson or the commander publishes" in refused.text
            published = await alice.post("/incidents/1/drafts/1/publish",
                                         data={"version": "1", "csrf": alice_token})
            assert "Publishing draft #1 (version 1) to the status page." in published.text
            room = (await alice.get("/incidents/1")).text
            assert "/drafts/1/publish" not in room  # published: the card says so instead
            assert "Published " in room
        async with httpx.AsyncClient(base_url=console.url) as public:
            for _ in range(50):  # the status page is a destination delivered by the outbox
                statements = (await public.get("/status.json")).json()
                if statements["incidents"]:
                    break
                await asyncio.sleep(0.1)
        [incident] = statements["incidents"]
        assert [s["text"] for s in incident["statements"]] == [text]
    finally:
        await serving.stop()
        await bot.close()


async def test_a_web_only_team_declares_from_the_list(console: Console) -> None:
    """No Slack, no Telegram, no alert: the list's Command box opens an incident (its
    declarer is commander) and takes the person to its room; a refusal shows in place."""
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        opened = await alice.post("/command", data={
            "line": "/crisis declare SEV2 Checkout is down", "csrf": token})
        assert opened.status_code == 303
        assert opened.headers["location"] == "/incidents/1"
        incident = (await console.bot.service.load(1))[0]
        assert (incident.title, incident.roles["commander"]) == \
            ("Checkout is down", ["local:alice"])
        refused = await alice.post("/command", data={"line": "/crisis ack INC-9", "csrf": token})
        assert refused.status_code == 200
        assert 'role="alert"' in refused.text
        assert "There is no incident INC-9." in refused.text
        forged = await alice.post("/command", data={"line": "/crisis declare Forged"})
        assert forged.status_code == 403
    with pytest.raises(CrisisError):  # the forged form opened nothing
        await console.bot.service.load(2)


async def test_in_a_room_the_command_box_means_the_room_unless_the_command_needs_none(
        console: Console) -> None:
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        await alice.post("/command", data={"line": "/crisis declare Outage", "csrf": token})
        noted = await alice.post("/incidents/1/command", data={"line": "/crisis note Seen",
                                                               "csrf": token})
        assert "Done." in noted.text
        assert (await console.bot.service.load(1))[2][-1].data["text"] == "Seen"
        again = await alice.post("/incidents/1/command", data={"line": "/crisis declare Leak",
                                                               "csrf": token})
        assert "Declared INC-2: Leak." in again.text  # a new incident, not the room's
        helped = await alice.post("/incidents/1/command", data={"line": "/crisis help",
                                                                "csrf": token})
        assert "crisisbot commands:" in helped.text


async def test_a_number_no_incident_can_have_is_a_404_not_a_server_error(
        console: Console) -> None:
    """A path number past what the database holds (an `OverflowError` in its driver) is
    refused as the chat refuses it, before any lookup."""
    huge = "9" * 25
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        await alice.post("/command", data={"line": "/crisis declare Outage", "csrf": token})
        for path in (f"/incidents/{huge}", f"/incidents/{huge}/report"):
            page = await alice.get(path)
            assert page.status_code == 404, path
            assert "No incident, draft or task has a number as large as" in page.text
        for path in (f"/incidents/{huge}/command", f"/incidents/1/drafts/{huge}/approve",
                     f"/incidents/1/tasks/{huge}"):
            page = await alice.post(path, data={"line": "/crisis ack", "version": "1",
                                                "csrf": token})
            assert page.status_code == 404, path
            assert "No incident, draft or task has a number as large as" in page.text


async def test_the_longest_text_a_form_takes_fits_in_any_script(console: Console) -> None:
    """The Revise box takes 8000 characters (its `maxlength`); Persian ones, percent-encoded
    UTF-8, are six bytes each on the wire and must not be refused as too large."""
    async with console.client("local:alice") as alice:
        token, room = await with_draft(alice, "متن")
        assert 'name="text" required maxlength="8000"' in room
        text = "خبر " * 2000
        revised = await alice.post("/incidents/1/drafts/1/revise",
                                   data={"text": text, "csrf": token})
        assert revised.status_code == 200, revised.text[-300:]
    assert (await console.bot.service.load(1))[1][0].current.text == text.strip()


async def test_numbers_are_written_in_the_readers_digits(console: Console) -> None:
    """In Persian the list's alert counts and the insights' tables use Persian digits, as
    the rest of the page does; in English, Latin ones."""
    await console.alert("Outage", "o1", severity="critical")
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        await alice.post("/language", data={"language": "fa", "csrf": token, "back": "/"})
        listed = (await alice.get("/")).text
        assert re.search(r"<td>۱</td>\s*</tr>", listed)  # one alert
        insights = (await alice.get("/insights?weeks=4")).text
        # Each week's first day too, in the reader's digits and calendar (month/day).
        week = re.findall(r"<tr><th scope=\"row\">[۰-۹]{1,2}/[۰-۹]{1,2}</th>"
                          r"((?:<td>[^<]*</td>)+)</tr>", insights)
        assert week[3] == "<td>۱</td><td>۰</td><td>۰</td><td>۰</td><td>۱</td>"  # SEV1, Σ
        assert "<td>1</td>" not in insights


async def test_the_signed_out_page_still_works_and_keeps_the_language(
        console: Console) -> None:
    """After signing out, the page's own forms (the language switch) are not refused as out
    of date, the chosen language stays, and the old token is worthless."""
    async with console.client("local:alice") as alice:
        token = csrf_of((await alice.get("/")).text)
        await alice.post("/language", data={"language": "ru", "csrf": token, "back": "/"})
        out = await alice.post("/signout", data={"csrf": token})
        assert out.status_code == 200
        assert '<html lang="ru"' in out.text
        fresh = csrf_of(out.text)
        assert fresh != token
        chosen = await alice.post("/language", data={"language": "fa", "csrf": fresh})
        assert chosen.status_code == 303
        assert (await alice.get("/")).status_code == 401
        assert (await alice.post("/language", data={"language": "en", "csrf": token})
                ).status_code == 403


async def test_a_revision_from_an_outdated_page_does_not_overwrite_a_newer_version(
        console: Console) -> None:
    """The Revise box is filled with the version the page showed; sent after someone else
    revised, it is refused instead of silently replacing their text."""
    async with console.client("local:alice") as alice:
        token, room = await with_draft(alice, "We know.")
        shown = re.search(r'action="/incidents/1/drafts/1/revise".*?</form>', room, re.S)
        assert shown is not None
        fields = dict(re.findall(r'name="(csrf|version)" value="([^"]*)"', shown.group(0)))
        assert fields["version"] == "1"
        await alice.post("/incidents/1/drafts/1/revise",
                         data={"text": "We know and fix it.", "version": "1", "csrf": token})
        stale = await alice.post("/incidents/1/drafts/1/revise",
                                 data={"text": "We know!", **fields})
        assert 'role="alert"' in stale.text
        assert "That is an old version of draft #1" in stale.text
    draft = (await console.bot.service.load(1))[1][0]
    assert (draft.version, draft.current.text) == (2, "We know and fix it.")


async def test_a_cards_approvers_read_right_to_left_as_in_chat(console: Console) -> None:
    """In Persian the approvers follow their step's colon, joined with the Persian comma,
    each isolated (as the chat's card writes them), not one left-to-right run with the
    colon inside it."""
    async with console.client("local:alice") as alice:
        token, _room = await with_draft(alice, "We know.")
        for line in ("/crisis severity SEV2", "/crisis role @bob approver",
                     "/crisis role @carol approver"):  # SEV2: two approvals
            await alice.post("/incidents/1/command", data={"line": line, "csrf": token})
        for person in ("local:bob", "local:carol"):
            async with console.client(person) as approver:
                mine = csrf_of((await approver.get("/")).text)
                await approver.post("/incidents/1/drafts/1/approve",
                                    data={"version": "1", "csrf": mine})
        await alice.post("/language", data={"language": "fa", "csrf": token})
        room = (await alice.get("/incidents/1")).text
    assert "): \u2068@bob\u2069،\u200f \u2068@carol\u2069" in room  # RLM after the comma


async def test_choosing_a_language_on_the_sign_in_page_stays_on_it(console: Console) -> None:
    """A person reading the link's page in the wrong language switches it and is back on
    the same page (the link still unused), not on a page asking them to sign in."""
    link = await console.link("local:alice")
    async with console.client() as browser:
        page = (await browser.get(link)).text
        back = re.search(r'name="back" value="([^"]*)"', page)
        assert back is not None
        chosen = await browser.post("/language", data={
            "language": "fa", "csrf": csrf_of(page), "back": back.group(1)})
        assert chosen.headers["location"] == link
        again = await browser.get(link)
        assert again.status_code == 200
        assert '<html lang="fa" dir="rtl">' in again.text


async def test_every_form_is_refused_without_the_sessions_token(console: Console) -> None:
    """Each POST the console takes, sent without the CSRF token (a forged cross-site form),
    is refused (403) and changes nothing."""
    link = await console.link("local:bob")
    async with console.client("local:alice") as alice:
        _token, _room = await with_draft(alice, "We know.")

        async def state() -> tuple[object, ...]:
            incident, drafts, events, _alerts = await console.bot.service.load(1)
            return (incident.status, [(d.version, d.state, d.decisions) for d in drafts],
                    [e.kind for e in events])

        before = await state()
        for path in ("/command", "/incidents/1/command", "/incidents/1/drafts/1/approve",
                     "/incidents/1/drafts/1/reject", "/incidents/1/drafts/1/revise",
                     "/incidents/1/drafts/1/publish", "/incidents/1/tasks/1", "/language",
                     "/signout", link):
            refused = await alice.post(path, data={
                "line": "/crisis resolve", "version": "1", "reason": "no", "text": "Forged",
                "done": "1", "language": "fa"})
            assert refused.status_code == 403, path
        assert await state() == before
        assert "Signed in as local:alice" in (await alice.get("/")).text
        assert await sign_in_links(console.bot).usable(link.rsplit("/", 1)[-1])


async def test_signing_out_ends_the_session_for_every_copy_of_its_cookie(
        console: Console) -> None:
    """A cookie copied before signing out (another tab's, a stolen one) is refused after it:
    the session ends on the server, not only in the browser that signed out."""
    async with console.client("local:alice") as alice:
        copied = alice.cookies["crisisbot_session"]
        token = csrf_of((await alice.get("/")).text)
        async with console.client() as thief:
            thief.cookies.set("crisisbot_session", copied)
            assert (await thief.get("/")).status_code == 200  # the copy works until then
            assert (await alice.post("/signout", data={"csrf": token})).status_code == 200
            for path in ("/", "/incidents/1", "/insights", "/live"):
                assert (await thief.get(path)).status_code == 401, path
            declared = await thief.post("/command", data={"line": "/crisis declare Outage",
                                                          "csrf": token})
            assert declared.status_code == 401
    assert (await console.bot.console.incident_page(Filters())).total == 0


async def test_the_sign_in_page_names_whom_the_link_signs_in_without_using_it(
        console: Console) -> None:
    """Someone could hand you their own link: its page says whom it signs in, as the console
    shows people, and reading it (twice) leaves the link usable."""
    link = await console.link("local:bob")
    async with console.client() as browser:
        for _ in range(2):
            page = await browser.get(link)
            assert page.status_code == 200
            assert "You are signing in as @bob" in page.text
        await signs_in_once(browser, link, "local:bob")
    link = await console.link("local:carol")
    async with console.client() as browser:
        page = await browser.get(link)
        await browser.post("/language", data={"language": "ru", "csrf": csrf_of(page.text),
                                              "back": link})
        assert "Вы входите как @carol." in (await browser.get(link)).text
