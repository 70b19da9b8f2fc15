"""`report` and `stats`: what the database tells after the fact."""

from __future__ import annotations

import argparse
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import DB_HELP, Verb, duration, reason_of, settings_for, with_bot
from bot.core.errors import CrisisError, NotFound
from bot.core.models import parse_public_id, public_id
from bot.core.stats import stats_lines
from bot.core.text import Renderer, _

if TYPE_CHECKING:
    from bot.app.wiring import Bot

LARGEST_ID = 2**63 - 1
"""The largest incident number a database column holds; a larger one names no incident."""


def add_report(verb: Verb, render: Renderer) -> None:
    report = verb("report", _("print the post-incident report (Markdown)"))
    report.add_argument("incident", help=render(_("the incident, e.g. INC-1")))
    report.add_argument("--format", choices=("markdown", "html"), default="markdown",
                        help=render(_("Markdown (default) or a self-contained HTML page with "
                                      "the chart")))
    report.add_argument("--out", type=Path, help=render(_(
        "write to this file instead of printing")))
    report.add_argument("--db", type=Path, help=render(DB_HELP))
    report.set_defaults(func=_report)


def add_stats(verb: Verb, render: Renderer) -> None:
    stats = verb("stats", _("counts and median times across incidents"))
    stats.add_argument("--since", type=duration, default=timedelta(days=30),
                       help=render(_("how far back, e.g. 30d, 12h (default 30d)")))
    stats.add_argument("--include-drills", action="store_true",
                       help=render(_("count drills too")))
    stats.add_argument("--db", type=Path, help=render(DB_HELP))
    stats.set_defaults(func=_stats)


def _report(args: argparse.Namespace) -> int:
    from bot.app.console import report_text

    number = parse_public_id(args.incident)
    if number is None:
        raise CrisisError(_("“{value}” is not an incident id; use the form INC-7.",
                            value=args.incident))
    if number > LARGEST_ID:
        raise NotFound(_("There is no incident {incident}.", incident=public_id(number)))
    out: Path | None = args.out
    if out is not None and not out.parent.is_dir():
        raise CrisisError(_("--out: no such folder: {folder}", folder=str(out.parent)))

    async def work(bot: Bot) -> str:
        return await report_text(bot, number, html=args.format == "html")

    text = with_bot(settings_for(args, reading=True), work)
    if out is None:
        print(text)
        return 0
    try:
        out.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    except OSError as error:
        raise CrisisError(_("cannot write {path}: {reason}", path=str(out),
                            reason=reason_of(error))) from None
    return 0


def _stats(args: argparse.Namespace) -> int:
    async def work(bot: Bot) -> int:
        since = bot.clock.now() - args.since
        stats = await bot.service.stats(since, include_drills=args.include_drills)
        render = bot.renderer()
        print("\n".join(render(line) for line in stats_lines(stats)))
        return 0

    return with_bot(settings_for(args, reading=True), work)
