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
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvloop

from bot.app import Bot, build, playbooks_from, report_text, serve, sign_in_links
from bot.console.pages import incident_lines
from bot.core.errors import CrisisError
from bot.core.listing import Filters
from bot.core.models import CrisisKind, parse_public_id
from bot.core.stats import stats_lines
from bot.core.text import LANGUAGES, _
from bot.demo import DEMO_START, ScriptedClock
from bot.i18n import renderer
from bot.settings import ConfigError, Settings, load, masked, parse_duration
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
    report.add_argument("--format", choices=("markdown", "html"), default="markdown",
                        help="Markdown (default) or a self-contained HTML page with the chart")
    report.add_argument("--out", type=Path, help="write to this file instead of printing")
    report.set_defaults(func=_report)

    serve = verbs.add_parser("serve", help="run the bot: HTTP server, alert intake, chat delivery")
    serve.set_defaults(func=_serve)

    stats = verbs.add_parser("stats", help="counts and median times across incidents")
    stats.add_argument("--since", type=_duration, default=timedelta(days=30),
                       help="how far back, e.g. 30d, 12h (default 30d)")
    stats.add_argument("--include-drills", action="store_true", help="count drills too")
    stats.set_defaults(func=_stats)

    drill = verbs.add_parser("drill", help="a training drill on SQLite and the local chat")
    drill.add_argument("kind", choices=[k.value for k in CrisisKind if k is not CrisisKind.OTHER])
    drill.add_argument("--db", type=Path, help="keep the drill database at this path")
    drill.add_argument("--lang", choices=LANGUAGES, help="language of the transcript and report")
    drill.set_defaults(func=_drill)

    _console_verbs(verbs)

    check = verbs.add_parser("check-config", help="validate and print settings (secrets masked)")
    check.set_defaults(func=_check_config)
    return parser


def _console_verbs(verbs: Any) -> None:
    login = verbs.add_parser("login", help="print a one-time sign-in link to the web console")
    login.add_argument("person", help="who signs in: local:alice, slack:U123, telegram:93372553")
    login.add_argument("--ttl", type=_duration, help="how long the link stays valid (default "
                       "CRISISBOT_WEB__LOGIN_TTL, 15m)")
    login.set_defaults(func=_login)

    incidents = verbs.add_parser("incidents", help="list incidents, open ones first")
    incidents.add_argument("--open", action="store_true", help="only open incidents")
    incidents.add_argument("--db", help="database URL (default CRISISBOT_DATABASE_URL)")
    incidents.set_defaults(func=_incidents)


def _login(args: argparse.Namespace) -> int:
    settings = load()

    async def work(bot: Bot) -> int:
        print(await sign_in_links(bot).issue(args.person, args.ttl or settings.web.login_ttl))
        return 0

    return _with_bot(settings, work)


def _incidents(args: argparse.Namespace) -> int:
    settings = load(**({"database_url": args.db} if args.db else {}))

    async def work(bot: Bot) -> int:
        page = await bot.console.incident_page(Filters(open_only=args.open, limit=100_000))
        lines = incident_lines(page.listed, renderer(settings.language), bot.clock.now())
        print("\n".join(lines))
        return 0

    return _with_bot(settings, work)


def _with_bot(settings: Settings, work: Callable[[Bot], Awaitable[int]]) -> int:
    async def go() -> int:
        bot = await build(settings)
        try:
            return await work(bot)
        finally:
            await bot.close()

    return asyncio.run(go())


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run

    return _scripted(args, "demo", run)


def _scripted(args: argparse.Namespace, name: str,
              play: Callable[[Bot, ScriptedClock, Callable[[str], None]], Awaitable[int]]
              ) -> int:
    """Play a scripted crisis (the demo, a drill) on a fresh SQLite file and the local chat,
    then print its report; `--db` keeps the file."""
    overrides = {"language": args.lang} if args.lang else {}
    with tempfile.TemporaryDirectory(prefix=f"crisisbot-{name}-") as scratch:
        path = args.db or Path(scratch) / f"{name}.db"
        if args.db and path.exists():
            path.unlink()
        settings = load(database_url=f"sqlite+aiosqlite:///{path}", **overrides)
        clock = ScriptedClock(DEMO_START)

        async def go() -> int:
            bot = await build(settings, clock=clock, echo=print)
            try:
                number = await play(bot, clock, print)
                print("\n" + renderer(settings.language)(_("== Post-incident report")) + "\n")
                print(await report_text(bot, number))
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
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # not a line per tick

    def stop(_signum: int, _frame: object) -> None:
        # uvicorn shuts down gracefully on SIGTERM / SIGINT, then re-raises it; land on a
        # clean exit.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)  # Ctrl-C after `make serve`: the same clean exit
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(serve(settings))
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
        text = await report_text(bot, number, html=args.format == "html")
        if args.out is None:
            print(text)
        else:
            args.out.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
        return 0

    return _with_bot(load(), work)


def _duration(value: str) -> timedelta:
    try:
        parsed = parse_duration(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if not isinstance(parsed, timedelta):
        raise argparse.ArgumentTypeError("a duration like 30d, 12h or 90m")
    return parsed


def _stats(args: argparse.Namespace) -> int:
    async def work(bot: Bot) -> int:
        since = bot.service.clock.now() - args.since
        stats = await bot.service.stats(since, include_drills=args.include_drills)
        render = renderer(bot.settings.language)
        print("\n".join(render(line) for line in stats_lines(stats, bot.service.fmt_time)))
        return 0

    return _with_bot(load(), work)


def _drill(args: argparse.Namespace) -> int:
    from bot.drill import run_drill

    kind = CrisisKind(args.kind)
    return _scripted(args, "drill",
                     lambda bot, clock, out: run_drill(bot, clock, kind, out))


def _check_config(args: argparse.Namespace) -> int:
    settings = load()
    print(json.dumps(masked(settings), indent=2, ensure_ascii=False))
    platforms = ["local"]
    platforms += ["slack"] if settings.slack.enabled else []
    platforms += ["telegram"] if settings.telegram.enabled else []
    print(f"chat platforms: {', '.join(platforms)}")
    playbooks = playbooks_from(settings)
    print(f"playbooks: {', '.join(sorted(k.value for k in playbooks))}")
    if settings.alerts.secret is None:
        print("alert webhooks: no CRISISBOT_ALERTS__SECRET, every alert will be refused (401)")
    return 0
