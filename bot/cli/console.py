"""The web console's verbs: `login` (a one-time sign-in link) and `incidents` (the list)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.cli.common import DB_HELP, duration, settings_for, with_bot
from bot.console.pages import incident_lines
from bot.core.listing import Filters
from bot.core.text import Renderer, _
from bot.settings import load

if TYPE_CHECKING:
    from bot.app.wiring import Bot


def add_console_verbs(verbs: Any, render: Renderer) -> None:
    login = verbs.add_parser("login", help=render(_(
        "print a one-time sign-in link to the web console")), render=render)
    login.add_argument("person", help=render(_(
        "who signs in: local:alice, slack:U123, telegram:93372553")))
    login.add_argument("--ttl", type=duration, help=render(_(
        "how long the link stays valid (default CRISISBOT_WEB__LOGIN_TTL, 10m)")))
    login.set_defaults(func=_login)

    incidents = verbs.add_parser("incidents", help=render(_(
        "list incidents, open ones first")), render=render)
    incidents.add_argument("--open", action="store_true", help=render(_(
        "only open incidents")))
    incidents.add_argument("--db", type=Path, help=render(DB_HELP))
    incidents.set_defaults(func=_incidents)


def _login(args: argparse.Namespace) -> int:
    from bot.app.console import sign_in_links

    settings = load()

    async def work(bot: Bot) -> str:
        return await sign_in_links(bot).issue(args.person, args.ttl or settings.web.login_ttl)

    print(with_bot(settings, work))
    return 0


def _incidents(args: argparse.Namespace) -> int:
    settings = settings_for(args, reading=True)

    async def work(bot: Bot) -> list[str]:
        page = await bot.console.incident_page(Filters(open_only=args.open, limit=100_000))
        return incident_lines(page.listed, bot.renderer(), bot.clock.now())

    print("\n".join(with_bot(settings, work)))
    return 0
