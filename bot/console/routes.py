"""The web console's routes: the incident list, incident rooms, sign-in and sign-out, live
updates. A third chat adapter beside Slack and Telegram: every change goes through the same
use cases (`Service.execute` and the approval use case) with the signed-in person as actor.

Every page and form answer is HTML rendered on the server; `static/console.js` only swaps the
live parts of a page in place. Every POST carries the session's CSRF token and a small body.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import ClientDisconnect

from bot.console import pages
from bot.console.live import Changes
from bot.console.sessions import CSRF_FIELD, CSRF_HEADER, Session, Sessions
from bot.console.signin import SignInLinks
from bot.core import commands as cmd
from bot.core.access import Origin
from bot.core.context import Context, Reply
from bot.core.errors import CrisisError
from bot.core.insights import Insights
from bot.core.listing import Drills, Filters, Listing
from bot.core.models import (
    KIND_LABELS,
    STATUS_LABELS,
    Alert,
    CrisisKind,
    Draft,
    Incident,
    PersonId,
    Severity,
    Status,
    TimelineEvent,
    bounded,
)
from bot.core.playbooks import Task
from bot.core.publication import Publication
from bot.core.rules import Rules
from bot.core.text import LANGUAGES, Renderer, Text, Who, _
from bot.core.views import publishing_text

HERE = Path(__file__).parent
MAX_FORM = 60 * 1024
"""Console forms carry a command line or a statement: the Revise box's 8000 characters
(`maxlength`) of Russian or Persian, six bytes each as percent-encoded UTF-8, fit (under the
server's 64 KB for any body); larger bodies are refused (413)."""
RTL = frozenset({"fa"})
STATIC = {"console.js": "text/javascript", "console.css": "text/css"}
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # a sign-in link must not leak to another site
    "Cache-Control": "no-store",
}
CHAT_PLATFORM = "local"
"""Mentions typed in the console (`@alice`) name built-in chat people (`local:alice`)."""

RenderFor = Callable[[str], Renderer]
HtmlReport = Callable[[int, str], Awaitable[str]]


def web_context(person: PersonId) -> Context:
    """The one place the console says who acts and from where: the signed-in person, on the
    built-in chat (a team origin), where `@bob` is `local:bob`."""
    return Context(person, CHAT_PLATFORM, resolve=chat_person, origin=Origin.TEAM)


def chat_person(mention: cmd.Mention) -> PersonId:
    return f"{CHAT_PLATFORM}:{mention.value}"


class ConsoleService(Protocol):
    """What the console calls on the service, and nothing else."""

    def now(self) -> datetime: ...
    async def execute(self, command: cmd.Command, ctx: Context) -> Reply: ...
    async def load(self, number: int) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                                list[Alert]]: ...
    async def tasks(self, number: int) -> list[Task]: ...
    async def decide(self, number: int, actor: PersonId, *, approve: bool,
                     draft_number: int | None = None, reason: str = "",
                     message: str | None = None, version: int | None = None) -> Draft: ...
    async def publish(self, number: int, actor: PersonId, draft_number: int | None = None, *,
                      version: int | None = None) -> Publication: ...
    async def weekly_insights(self, weeks: int) -> Insights: ...


@dataclass(frozen=True)
class Console:
    """Everything the console needs, as plain values from the composition root."""

    service: ConsoleService
    sessions: Sessions
    links: SignInLinks
    changes: Changes
    listing: Listing
    render_for: RenderFor
    language: str
    html_report: HtmlReport
    rules: Rules
    """The team's rules, for what a room shows (approval progress, the summary)."""
    publishing: bool
    """Approved drafts offer Publish (a destination is configured)."""


class Refused(Exception):
    def __init__(self, status: int, text: Text) -> None:
        super().__init__(text.msgid)
        self.status = status
        self.text = text


def console_router(console: Console) -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                            autoescape=select_autoescape(default=True),
                            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    static = {name: (HERE / "static" / name).read_bytes() for name in STATIC}
    service = console.service

    def page(session: Session, name: str, language: str | None = None, status: int = 200,
             **values: Any) -> HTMLResponse:
        language = session.language or language or console.language
        render = console.render_for(language)

        def gettext(msgid: str, **fields: Any) -> str:
            return render(Text(msgid, fields))

        def ngettext(singular: str, plural: str, n: int, **fields: Any) -> str:
            return render(Text(singular, {"n": n, **fields}, plural=plural, count=n))

        html = templates.get_template(name).render(
            _=gettext, N_=ngettext, lang=language, dir="rtl" if language in RTL else "ltr",
            session=session, languages=LANGUAGES, **values)
        response = HTMLResponse(html, status_code=status, headers=HEADERS)
        if session.fresh:
            console.sessions.write(response, session)
        return response

    def notice(session: Session, text: Text, status: int) -> HTMLResponse:
        render = console.render_for(session.language or console.language)
        return page(session, "notice.html", status=status, message=render(text))

    async def form(request: Request, session: Session) -> dict[str, str]:
        """The urlencoded body (at most MAX_FORM bytes), once its CSRF token matches."""
        if request.headers.get("content-type", "").split(";")[0].strip() != \
                "application/x-www-form-urlencoded":
            raise Refused(415, _("Send the form as application/x-www-form-urlencoded."))
        too_large = Refused(413, _("The form is too large (over {limit} KB): shorten the text "
                                   "and send it again.", limit=MAX_FORM // 1024))
        declared = _count(request.headers.get("content-length", ""))
        if declared is not None and declared > MAX_FORM:
            raise too_large
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                raise too_large
        try:
            fields = dict(parse_qsl(body.decode(), keep_blank_values=True))
        except (UnicodeDecodeError, ValueError):
            raise Refused(400, _("The form could not be read.")) from None
        if not session.accepts(fields.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)):
            raise Refused(403, pages.CSRF_REFUSED)
        return fields

    async def signed_in(request: Request) -> tuple[Session, PersonId]:
        session = await console.sessions.read(request)
        if session.person is None:
            raise Refused(401, pages.SIGN_IN_NEEDED)
        return session, session.person

    async def posted(request: Request) -> tuple[Session, PersonId, dict[str, str]]:
        session, person = await signed_in(request)
        return session, person, await form(request, session)

    def guarded(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        """Refusals as a page in the reader's language, with their status."""

        @wraps(handler)
        async def run(request: Request, **kwargs: Any) -> Response:
            try:
                for value in kwargs.values():  # a path's incident, draft or task number
                    if isinstance(value, int):
                        _number(value)
                return await handler(request, **kwargs)
            except Refused as refused:
                return notice(await console.sessions.read(request), refused.text,
                              refused.status)
            except ClientDisconnect:
                return Response(status_code=400)

        return run

    # -- the list -----------------------------------------------------------------------------

    def filters_from(query: Mapping[str, str]) -> Filters:
        def pick(kind: Any, name: str) -> Any:
            value = query.get(name, "")
            return kind(value) if value in {m.value for m in kind} else None

        return Filters(status=pick(Status, "status"), severity=pick(Severity, "severity"),
                       kind=pick(CrisisKind, "kind"),
                       drills=pick(Drills, "drills") or Drills.WITH,
                       text=query.get("q", "")[:200])

    async def list_page(session: Session, query: Mapping[str, str],
                        answer: tuple[list[Text], bool] | None = None) -> HTMLResponse:
        filters = filters_from(query)
        found = await console.listing(filters)
        render = console.render_for(session.language or console.language)
        shown = (pages.answer_lines(answer[0], render), answer[1]) if answer else None
        return page(session, "list.html",
                    rows=pages.rows(found.listed, render, service.now()),
                    total=found.total, filters=filters, mark=await console.changes.mark(),
                    statuses=[(s.value, render(STATUS_LABELS[s])) for s in Status],
                    severities=[s.value for s in Severity],
                    kinds=[(k.value, render(KIND_LABELS[k])) for k in CrisisKind],
                    drills=[d.value for d in Drills], answer=shown)

    async def incident_list(request: Request) -> Response:
        session, _person = await signed_in(request)
        return await list_page(session, request.query_params)

    async def list_command(request: Request) -> Response:
        """The list's Command box, where a web-only team opens incidents (`/crisis declare`,
        `/crisis drill`): an answer naming an incident goes to its room."""
        session, person, fields = await posted(request)
        try:
            reply = await service.execute(cmd.parse(fields.get("line", "")),
                                          web_context(person))
        except CrisisError as error:
            return await list_page(session, {}, ([error.text], True))
        if reply.incident is not None:
            return RedirectResponse(f"/incidents/{reply.incident}", status_code=303,
                                    headers=HEADERS)
        return await list_page(session, {}, (reply.lines, False))

    router.add_api_route("/", guarded(incident_list), methods=["GET"])
    router.add_api_route("/command", guarded(list_command), methods=["POST"])

    # -- a room ---------------------------------------------------------------------------------

    async def loaded(number: int) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                           list[Alert]]:
        """The incident behind a path, or a 404."""
        try:
            return await service.load(number)
        except CrisisError:
            raise Refused(404, Text(pages.NO_INCIDENT.msgid,
                                    {"incident": f"INC-{number}"})) from None

    async def room_page(session: Session, number: int,
                        answer: tuple[list[Text], bool] | None = None) -> HTMLResponse:
        incident, drafts, events, _alerts = await loaded(number)
        tasks = await service.tasks(number)
        language = session.language or incident.language or console.language
        render = console.render_for(language)
        room = pages.room(incident, drafts, events, tasks, console.rules, render,
                          publishing=console.publishing)
        shown = (pages.answer_lines(answer[0], render), answer[1]) if answer else None
        return page(session, "room.html", language, room=room, answer=shown,
                    mark=await console.changes.mark())

    async def room(request: Request, number: int) -> Response:
        session, _person = await signed_in(request)
        return await room_page(session, number)

    router.add_api_route("/incidents/{number}", guarded(room), methods=["GET"])

    async def act(session: Session, number: int,
                  work: Callable[[], Awaitable[list[Text]]]) -> Response:
        """Run a use case; its answer (or refusal) shows in the room, in the reader's language.
        A refusal is an answer too (200): the page tells the person why. A room that does not
        exist is a 404 before anything runs (a command on no incident would run, unseen)."""
        await loaded(number)
        try:
            lines, refused = await work(), False
        except CrisisError as error:
            lines, refused = [error.text], True
        return await room_page(session, number, (lines, refused))

    async def command(request: Request, number: int) -> Response:
        session, person, fields = await posted(request)

        async def work() -> list[Text]:
            parsed = cmd.parse(fields.get("line", ""))
            if parsed.incident is None:  # the room's (a command on no incident ignores it)
                parsed = replace(parsed, incident=number)
            return (await service.execute(parsed, web_context(person))).lines

        return await act(session, number, work)

    router.add_api_route("/incidents/{number}/command", guarded(command), methods=["POST"])

    async def decide(request: Request, number: int, draft: int, verdict: str) -> Response:
        session, person, fields = await posted(request)
        version = fields.get("version", "")

        async def work() -> list[Text]:
            if verdict == "publish":
                published = await service.publish(
                    number, person, draft, version=_count(version))
                return [publishing_text(published)]
            if verdict == "revise":  # the version the page showed: a newer one stays
                action: cmd.Action = cmd.ReviseDraft(draft, fields.get("text", ""),
                                                     _count(version))
                return (await service.execute(cmd.Command(action, number),
                                              web_context(person))).lines
            approve = verdict == "approve"
            await service.decide(number, person, approve=approve, draft_number=draft,
                                 reason=fields.get("reason", ""),
                                 version=_count(version))
            if approve:
                return [_("You approved draft #{number}.", number=draft)]
            return [_("You rejected draft #{number}.", number=draft)]

        return await act(session, number, work)

    def on_draft(verdict: str) -> Callable[..., Awaitable[Response]]:
        async def decided(request: Request, number: int, draft: int) -> Response:
            return await decide(request, number, draft, verdict)

        return decided

    for verdict in ("approve", "reject", "revise", "publish"):
        router.add_api_route(f"/incidents/{{number}}/drafts/{{draft}}/{verdict}",
                             guarded(on_draft(verdict)), methods=["POST"])

    async def task(request: Request, number: int, item: int) -> Response:
        session, person, fields = await posted(request)
        action = cmd.TaskDone(item, done=fields.get("done") == "1")

        async def work() -> list[Text]:
            return (await service.execute(cmd.Command(action, number),
                                          web_context(person))).lines

        return await act(session, number, work)

    router.add_api_route("/incidents/{number}/tasks/{item}", guarded(task), methods=["POST"])

    async def report(request: Request, number: int) -> Response:
        session, _person = await signed_in(request)
        incident = (await loaded(number))[0]
        html = await console.html_report(
            number, session.language or incident.language or console.language)
        headers = {**HEADERS, "Content-Security-Policy":
                   "default-src 'none'; style-src 'unsafe-inline'; img-src data:"}
        return HTMLResponse(html, headers=headers)

    router.add_api_route("/incidents/{number}/report", guarded(report), methods=["GET"])

    # -- insights -------------------------------------------------------------------------------

    async def insights(request: Request) -> Response:
        session, _person = await signed_in(request)
        asked = _count(request.query_params.get("weeks", ""))
        weeks = 12 if asked is None else min(max(asked, 1), 52)
        found = await service.weekly_insights(weeks)
        render = console.render_for(session.language or console.language)
        return page(session, "insights.html", weeks=weeks, drills=found.drills,
                    incidents=sum(w.incidents for w in found.weeks),
                    medians=pages.median_rows(found, render),
                    charts=pages.insight_charts(found, render))

    router.add_api_route("/insights", guarded(insights), methods=["GET"])

    # -- live -----------------------------------------------------------------------------------

    async def live(request: Request) -> Response:
        await signed_in(request)
        since = request.query_params.get("since", "")
        last = request.headers.get("last-event-id", since)
        stream = console.changes.stream(_count(last))
        return StreamingResponse(stream, media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store",
                                          "X-Accel-Buffering": "no"})

    router.add_api_route("/live", guarded(live), methods=["GET"])

    # -- signing in and out ---------------------------------------------------------------------

    async def sign_in_page(request: Request, token: str) -> Response:
        """The link's page names whom it signs in (someone may have handed over their own
        link), in the console's way of showing people; reading it does not use the link."""
        session = await console.sessions.read(request)
        person = await console.links.usable(token)
        if person is None:
            raise Refused(410, pages.LINK_REFUSED)
        render = console.render_for(session.language or console.language)
        return page(session, "signin.html", token=token,
                    signing_in_as=render(_("You are signing in as {person}.",
                                           person=Who(person))))

    async def sign_in(request: Request, token: str) -> Response:
        session = await console.sessions.read(request)
        await form(request, session)
        person = await console.links.redeem(token)
        if person is None:
            raise Refused(410, pages.LINK_REFUSED)
        response = RedirectResponse("/", status_code=303, headers=HEADERS)
        console.sessions.write(response, await console.sessions.sign_in(session, person))
        return response

    router.add_api_route("/signin/{token}", guarded(sign_in_page), methods=["GET"])
    router.add_api_route("/signin/{token}", guarded(sign_in), methods=["POST"])

    async def sign_out(request: Request) -> Response:
        session, _person, _fields = await posted(request)
        return notice(await console.sessions.sign_out(session), pages.SIGNED_OUT, 200)

    router.add_api_route("/signout", guarded(sign_out), methods=["POST"])

    async def language(request: Request) -> Response:
        session = await console.sessions.read(request)
        fields = await form(request, session)
        chosen = fields.get("language", "")
        if chosen not in LANGUAGES:
            raise Refused(422, _("Choose one of the languages offered."))
        back = fields.get("back", "/")
        target = back if _local(back) else "/"
        response = RedirectResponse(target, status_code=303, headers=HEADERS)
        console.sessions.write(response, session.speaking(chosen))
        return response

    router.add_api_route("/language", guarded(language), methods=["POST"])

    async def asset(name: str) -> Response:
        if name not in STATIC:
            return Response(status_code=404)
        return Response(static[name], media_type=STATIC[name],
                        headers={"Cache-Control": "max-age=300",
                                 "X-Content-Type-Options": "nosniff"})

    router.add_api_route("/console/static/{name}", asset, methods=["GET"])
    return router


def _local(path: str) -> bool:
    """A path on this site: browsers read `//host`, `/\\host` (and either with a tab or a
    newline in between, which they drop) as another site."""
    return (path.startswith("/") and path.isprintable()
            and path[1:2] not in ("/", "\\"))


def _number(value: int) -> None:
    """Refuse a path number no incident, draft or task can have, as chat refuses it (a store
    could not even look it up)."""
    try:
        bounded(str(value), str(value))
    except CrisisError as error:
        raise Refused(404, error.text) from None


def _count(text: str) -> int | None:
    """A count written in ASCII digits (`str.isdigit` takes "²", which `int` refuses, and
    thousands of digits, which it refuses too), or None."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
