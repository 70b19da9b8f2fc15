"""The `crisisbot` verbs. Thin: parse arguments, load settings, call the app; refusals and bad
configuration are one readable line and a non-zero exit, never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot.app import Bot, build, serve
from bot.core.errors import CrisisError
from bot.core.models import parse_public_id
from bot.core.report import report_lines
from bot.core.text import _
from bot.i18n import renderer
from bot.settings import LANGUAGES, ConfigError, Settings, load, masked
from bot.storage.migrate import upgrade

EXIT_REFUSED, EXIT_CONFIG = 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        result: int = args.func(args)
        return result
    except ConfigError as error:
        print(f"crisisbot: invalid configuration:\n{error}", file=sys.stderr)
        return EXIT_CONFIG
    except CrisisError as refused:
        print(f"crisisbot: {refused}", file=sys.stderr)
        return EXIT_REFUSED


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crisisbot", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)

    demo = verbs.add_parser("demo", help="a scripted crisis on SQLite and the local chat")
    demo.add_argument("--db", type=Path, help="keep the demo database at this path")
    demo.add_argument("--lang", choices=LANGUAGES, help="language of the transcript and report")
    demo.set_defaults(func=_demo)

    db = verbs.add_parser("db", help="database maintenance")
    db_verbs = db.add_subparsers(dest="db_verb", required=True)
    db_verbs.add_parser("upgrade", help="apply migrations").set_defaults(func=_db_upgrade)

    report = verbs.add_parser("report", help="print the post-incident report (Markdown)")
    report.add_argument("incident", help="the incident, e.g. INC-1")
    report.set_defaults(func=_report)

    serve = verbs.add_parser("serve", help="run the bot: HTTP server, alert intake, chat delivery")
    serve.set_defaults(func=_serve)

    check = verbs.add_parser("check-config", help="validate and print settings (secrets masked)")
    check.set_defaults(func=_check_config)
    return parser


def _with_bot(settings: Settings, work: Callable[[Bot], Awaitable[int]]) -> int:
    async def go() -> int:
        bot = await build(settings)
        try:
            return await work(bot)
        finally:
            await bot.close()

    return asyncio.run(go())


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import DEMO_START, ScriptedClock, run

    overrides = {"language": args.lang} if args.lang else {}
    with tempfile.TemporaryDirectory(prefix="crisisbot-demo-") as scratch:
        path = args.db or Path(scratch) / "demo.db"
        if args.db and path.exists():
            path.unlink()
        settings = load(database_url=f"sqlite+aiosqlite:///{path}", **overrides)
        clock = ScriptedClock(DEMO_START)

        async def go() -> int:
            bot = await build(settings, clock=clock, echo=print)
            try:
                number = await run(bot, clock, print)
                print("\n" + renderer(settings.language)(_("== Post-incident report")) + "\n")
                print(await _report_text(bot, number))
            finally:
                await bot.close()
            return 0

        result = asyncio.run(go())
        if args.db:
            print(f"\n(database kept at {path})")
        return result


def _serve(args: argparse.Namespace) -> int:
    settings = load()
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    def stop(_signum: int, _frame: object) -> None:
        # uvicorn shuts down gracefully on SIGTERM, then re-raises it; land on a clean exit.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    asyncio.run(serve(settings))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    settings = load()
    asyncio.run(upgrade(settings.database_url))
    print("database is up to date")
    return 0


def _report(args: argparse.Namespace) -> int:
    number = parse_public_id(args.incident)
    if number is None:
        raise CrisisError(_("“{value}” is not an incident id; use the form INC-7.",
                            value=args.incident))

    async def work(bot: Bot) -> int:
        print(await _report_text(bot, number))
        return 0

    return _with_bot(load(), work)


async def _report_text(bot: Bot, number: int) -> str:
    incident, drafts, events, alerts = await bot.service.load(number)
    render = renderer(incident.language or bot.settings.language)
    lines = report_lines(incident, drafts, events, alerts, bot.service.fmt_time)
    return "\n".join(render(line) for line in lines)


def _check_config(args: argparse.Namespace) -> int:
    settings = load()
    print(json.dumps(masked(settings), indent=2, ensure_ascii=False))
    platforms = ["local"]
    platforms += ["slack"] if settings.slack.enabled else []
    platforms += ["telegram"] if settings.telegram.enabled else []
    print(f"chat platforms: {', '.join(platforms)}")
    if settings.alerts.secret is None:
        print("alert webhooks: no CRISISBOT_ALERTS__SECRET, every alert will be refused (401)")
    return 0
