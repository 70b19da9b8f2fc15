"""`GET /status`, `/status/feed.atom` and `/status.json`: published statements only, no
sign-in, server-rendered (no scripts, no CDN).

What is shown comes from `Service.status_board` (core decides; nothing unpublished is in it).
The page's own words are in the team's language; each statement, its times and markers are
in the statement's language (right-to-left for Persian). The routes take no body: a request
carrying one is refused with 413, another method with 405, both as JSON.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from bot.core.status_board import Board, Statement
from bot.core.text import Text, _
from bot.fresh import Fresh
from bot.i18n import RTL

Render = Callable[[Text, str], str]
BoardSource = Callable[[], Awaitable[list[Board]]]

PAGE_WORDS = {
    "heading": _("Status"),
    "lead": _("Statements published by the team, newest first."),
    "none": _("No incidents right now."),
    "feed": _("Atom feed"),
}

GET_OR_HEAD = ["GET", "HEAD"]
"""Uptime checkers often ask with HEAD: the answer's status and headers, no body."""


FRESH_S = 2.0
"""How long one reading of the board serves the status routes. A statement's link travels
during a crisis, and a crowd on the page must not starve the alert intake and the chat
webhooks of the event loop they share: each reading and rendering costs a few milliseconds,
a cached answer almost nothing. A statement shows on every replica within this time."""


class Snapshot:
    """The board (`Fresh`: read at most every `fresh` seconds, shared meanwhile) and what each
    route made of the reading it serves."""

    def __init__(self, read: BoardSource, fresh: float = FRESH_S,
                 now: Callable[[], float] = time.monotonic) -> None:
        self._board = Fresh(read, fresh, now)
        self._made: dict[str, bytes] = {}
        self._made_at: float | None = None

    async def made(self, route: str, make: Callable[[list[Board]], bytes]) -> bytes:
        boards = await self._board()
        if self._made_at != self._board.read_at:
            self._made, self._made_at = {}, self._board.read_at
        if route not in self._made:
            self._made[route] = make(boards)
        return self._made[route]


def status_routes(board: BoardSource, render: Render, *, language: str,
                  base_url: str, fresh: float = FRESH_S) -> APIRouter:
    """The three routes, on a board read at most every `fresh` seconds (see `Snapshot`)."""
    templates = Environment(loader=PackageLoader("bot.status", "templates"),
                            autoescape=select_autoescape(["html", "xml", "j2"]),
                            enable_async=False)
    templates.filters["xml"] = xml_text
    router = APIRouter()
    base = base_url.rstrip("/")
    snapshot = Snapshot(board, fresh)

    def words(text: Text, lang: str) -> str:
        return render(text, lang)

    def view(boards: Sequence[Board]) -> list[dict[str, object]]:
        return [_board_view(b, words) for b in boards]

    def page_of(boards: list[Board]) -> bytes:
        return templates.get_template("status.html.j2").render(
            boards=view(boards), language=language, dir=_direction(language),
            words={k: words(v, language) for k, v in PAGE_WORDS.items()},
            feed=f"{base}/status/feed.atom").encode()

    def feed_of(boards: list[Board]) -> bytes:
        entries = sorted((s for b in view(boards) for s in b["statements"]),  # type: ignore[attr-defined]
                         key=lambda s: s["published_at"], reverse=True)
        updated = entries[0]["published_at"] if entries else _EPOCH
        return templates.get_template("feed.atom.j2").render(
            entries=entries, base=base, updated=updated,
            title=words(PAGE_WORDS["heading"], language), language=language).encode()

    def json_of(boards: list[Board]) -> bytes:
        return orjson.dumps({"incidents": view(boards)})

    @router.api_route("/status", methods=GET_OR_HEAD, summary="Public status page",
                      include_in_schema=False)
    async def page(request: Request) -> Response:
        if (refused := _refuse_body(request)) is not None:
            return refused
        return Response(await snapshot.made("page", page_of),
                        media_type="text/html; charset=utf-8",
                        headers={"cache-control": f"public, max-age={fresh:.0f}"})

    @router.api_route("/status/feed.atom", methods=GET_OR_HEAD,
                      summary="Atom feed of published statements", include_in_schema=False)
    async def feed(request: Request) -> Response:
        if (refused := _refuse_body(request)) is not None:
            return refused
        return Response(await snapshot.made("feed", feed_of),
                        media_type="application/atom+xml; charset=utf-8")

    @router.api_route("/status.json", methods=GET_OR_HEAD,
                      summary="Published statements as JSON", include_in_schema=False)
    async def as_json(request: Request) -> Response:
        if (refused := _refuse_body(request)) is not None:
            return refused
        return Response(await snapshot.made("json", json_of), media_type="application/json")

    return router


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC).isoformat()
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
"""What XML 1.0 cannot carry, even as a character reference."""


def xml_text(value: object) -> Markup:
    """`value` escaped for the feed: a character XML cannot carry (most C0 controls, U+FFFE)
    reads as U+FFFD, so one such character in a statement cannot make the whole feed
    unreadable; a CR is written as a reference, which parsers keep (a bare one they turn
    into LF). `/status.json` has the exact text and its SHA-256."""
    return escape(_NOT_XML.sub("\ufffd", str(value))).replace("\r", Markup("&#13;"))


def _board_view(board: Board, words: Callable[[Text, str], str]) -> dict[str, object]:
    language = board.latest.language
    return {
        "incident": board.incident,
        "title": board.title or words(_("Statement on {incident}", incident=board.incident),
                                      language),
        "language": language,
        "dir": _direction(language),
        "resolved_at": board.resolved_at.isoformat() if board.resolved_at else None,
        "resolved": (words(_("Resolved {time}", time=board.resolved_at), language)
                     if board.resolved_at else None),
        "statements": [_statement_view(board, s, words) for s in board.statements],
    }


def _statement_view(board: Board, s: Statement,
                    words: Callable[[Text, str], str]) -> dict[str, object]:
    return {
        "id": s.key, "incident": board.incident, "text": s.text, "title": s.title,
        "language": s.language, "dir": _direction(s.language), "sha256": s.sha256,
        "published_at": s.at.isoformat(),
        "updated_at": s.updated_at.isoformat() if s.updated_at else None,
        "published": words(_("Published {time}", time=s.at), s.language),
        "updated": (words(_("Updated {time}: a newer statement replaces this one.",
                            time=s.updated_at), s.language) if s.updated_at else None),
        "entry_title": s.title or words(_("Statement on {incident}", incident=board.incident),
                                        s.language),
    }


def _direction(language: str) -> str:
    return "rtl" if language in RTL else "ltr"


def _refuse_body(request: Request) -> Response | None:
    """These routes read nothing: any body is refused before it is read (a length other
    than zero, written any way, or a chunked body)."""
    length = request.headers.get("content-length", "0")
    if request.headers.get("transfer-encoding") or not length or length.strip("0"):
        return JSONResponse({"error": "this route takes no request body"}, status_code=413)
    return None
