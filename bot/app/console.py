"""What people read outside chat: the web console, its sign-in links, the report and the
status page."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter

from bot.app.team import team_renderer
from bot.app.wiring import Bot, links_on
from bot.chat.local import LocalChat
from bot.console.live import Changes
from bot.console.routes import Console
from bot.console.sessions import Sessions
from bot.console.signin import SignInLinks
from bot.core.status_board import Board
from bot.core.text import Renderer, Text, Who, _, plain_mention
from bot.report_html import html_report
from bot.status.routes import status_routes


def sign_in_links(bot: Bot) -> SignInLinks:
    """One-time sign-in links to the console, under `CRISISBOT_PUBLIC_URL`."""
    return links_on(bot.console, bot.clock, bot.settings)


def web_console(bot: Bot) -> Console:
    """The web console: sessions kept in the database, their cookies signed with the stored
    (or configured) key, Secure when the public URL is HTTPS; people shown as in the built-in
    chat."""
    settings = bot.settings
    rules = bot.service.rules

    def render_for(language: str) -> Renderer:
        return team_renderer(settings, language,
                             lambda who: plain_mention(Who(rules.on(LocalChat.platform,
                                                                    who.person))))

    async def report(number: int, language: str) -> str:
        return await report_text(bot, number, language, html=True)

    sessions = Sessions(bot.console_key, settings.web.session_ttl, bot.console,
                        secure=settings.base_url.startswith("https://"))
    return Console(bot.service, sessions, sign_in_links(bot), Changes(bot.console.last_event),
                   bot.console.incident_page, render_for, settings.language, report, rules,
                   bool(bot.service.publish_to))


async def report_text(bot: Bot, number: int, language: str | None = None, *,
                      html: bool = False) -> str:
    """The report in `language` (else the incident's, else the team's), as Markdown or
    HTML."""
    report = await bot.service.report(number)
    language = language or report.incident.language or bot.settings.language
    render = bot.renderer(language)
    lines = [render(line) for line in report.lines()]
    if not html:
        return "\n".join(lines)
    labels = (render(_("mentions per interval")), render(_("negative share, %")))
    return html_report(lines, language=language, series=report.series, chart_labels=labels,
                       words=render)


def status_page(bot: Bot) -> APIRouter:
    """`/status`, `/status/feed.atom`, `/status.json` (see `bot/status/routes.py`)."""
    keep = timedelta(days=bot.settings.publish.status_days)

    def render(text: Text, language: str) -> str:
        return team_renderer(bot.settings, language)(text)

    async def board() -> list[Board]:
        return await bot.service.status_board(keep)

    return status_routes(board, render, language=bot.settings.language,
                         base_url=bot.settings.base_url)
