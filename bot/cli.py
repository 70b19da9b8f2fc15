"""The `crisisbot` verbs. Thin: parse arguments, load settings, call the app; refusals and bad
configuration are one readable line each in the team's language and a non-zero exit, never a
traceback."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import uvloop
from alembic.util.exc import CommandError
from sqlalchemy.exc import SQLAlchemyError
from telegram.error import InvalidToken, TelegramError

from bot.app.console import report_text, sign_in_links
from bot.app.intake import alert_parsers
from bot.app.server import CannotStart, serve
from bot.app.team import playbooks_from
from bot.app.wiring import Bot, build
from bot.chat.telegram import build_application
from bot.console.pages import incident_lines
from bot.core.errors import CrisisError, NotFound
from bot.core.intake import PayloadError
from bot.core.listing import Filters
from bot.core.models import Alert, CrisisKind, parse_public_id, public_id
from bot.core.stats import stats_lines
from bot.core.text import LANGUAGES, Renderer, Text, _
from bot.demo import DEMO_START, ScriptedClock
from bot.i18n import renderer
from bot.intake import Inbound
from bot.logsafe import REDACTOR, guard
from bot.settings import (
    ConfigError,
    Settings,
    half_configured,
    language_hint,
    load,
    masked,
    secrets_of,
)
from bot.settings.database import database_place
from bot.settings.durations import parse_duration
from bot.storage.migrate import upgrade

EXIT_REFUSED, EXIT_CONFIG, EXIT_INTERRUPTED = 1, 2, 130
T = TypeVar("T")
LARGEST_ID = 2**63 - 1
"""The largest incident number a database column holds; a larger one names no incident."""
DATABASE_ERRORS = (OSError, SQLAlchemyError, CommandError)
"""What opening a database raises when it cannot be reached or used (refused connection, bad
password, not a database file, a schema newer than this version)."""


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    render = renderer(_language(arguments))
    try:
        args = _parser(render).parse_args(arguments)
        result: int = args.func(args)
        return result
    except ConfigError as error:
        for problem in error.problems:
            _say(render(problem) if isinstance(problem, Text) else problem)
        return EXIT_CONFIG
    except CrisisError as refused:
        _say(render(refused.text))
        return EXIT_REFUSED
    except BrokenPipeError:
        # The reader went away (`crisisbot demo | head`): stop quietly; point stdout at
        # /dev/null so the interpreter's last flush cannot complain either.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_REFUSED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except CannotStart as error:
        _say(render(_("cannot start: {reason}", reason=str(error))))
        return EXIT_REFUSED


def _say(line: str) -> None:
    print(f"crisisbot: {line}", file=sys.stderr)


def _language(argv: Sequence[str]) -> str:
    """The language of the CLI's own words: `--lang`, else the settings' (else, when they
    cannot be read, `CRISISBOT_LANGUAGE`), else English."""
    for index, arg in enumerate(argv):
        value = (argv[index + 1] if arg == "--lang" and index + 1 < len(argv)
                 else arg.removeprefix("--lang=") if arg.startswith("--lang=") else None)
        if value in LANGUAGES:
            return str(value)
    try:
        return load().language
    except ConfigError:
        return language_hint()


class _Parser(argparse.ArgumentParser):
    """argparse with its own frame words (usage, the group titles, `-h`) in the CLI's language;
    its error messages stay as argparse words them."""

    def __init__(self, *, render: Renderer, **kwargs: Any) -> None:
        class Formatter(argparse.HelpFormatter):
            def add_usage(self, usage: str | None, actions: Any, groups: Any,
                          prefix: str | None = None) -> None:
                super().add_usage(usage, actions, groups,
                                  render(_("usage: ")) if prefix is None else prefix)

        super().__init__(add_help=False, formatter_class=Formatter, **kwargs)
        self._positionals.title = render(_("positional arguments"))
        self._optionals.title = render(_("options"))
        self.add_argument("-h", "--help", action="help",
                          help=render(_("show this help message and exit")))
        self.render = render

    def error(self, message: str) -> NoReturn:
        """A usage mistake is one line too (argparse's words), and where to read more."""
        self.exit(EXIT_CONFIG, f"crisisbot: {message} "
                               f"({self.render(_('see: {command} --help', command=self.prog))})\n")


def _parser(render: Renderer) -> argparse.ArgumentParser:
    parser = _Parser(render=render, prog="crisisbot", description=render(_(
        "crisisbot: a chatbot for crisis response teams. Every refusal is one line on stderr; "
        "exit 1, or 2 for bad configuration.")))
    parser.set_defaults(render=render)
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")

    def verb(name: str, help_text: Text) -> argparse.ArgumentParser:
        said = render(help_text)
        return verbs.add_parser(name, help=said, description=said, render=render)

    db_help = render(_("the SQLite file to use instead of CRISISBOT_DATABASE_URL"))
    lang_help = render(_("language of the transcript and report"))

    demo = verb("demo", _("a scripted crisis on SQLite and the local chat"))
    demo.add_argument("--db", type=Path, help=render(_(
        "keep the demo database at this path (a new file)")))
    demo.add_argument("--force", action="store_true", help=render(_(
        "replace the --db file if it exists (its incidents are lost)")))
    demo.add_argument("--lang", choices=LANGUAGES, help=lang_help)
    demo.set_defaults(func=_demo)

    db = verb("db", _("database maintenance"))
    db_verbs = db.add_subparsers(dest="db_verb", required=True, metavar="VERB")
    db_verbs.add_parser("upgrade", help=render(_("apply migrations")),
                        render=render).set_defaults(func=_db_upgrade)

    report = verb("report", _("print the post-incident report (Markdown)"))
    report.add_argument("incident", help=render(_("the incident, e.g. INC-1")))
    report.add_argument("--format", choices=("markdown", "html"), default="markdown",
                        help=render(_("Markdown (default) or a self-contained HTML page with "
                                      "the chart")))
    report.add_argument("--out", type=Path, help=render(_(
        "write to this file instead of printing")))
    report.add_argument("--db", type=Path, help=db_help)
    report.set_defaults(func=_report)

    verb("serve", _("run the bot: HTTP server, alert intake, chat delivery")).set_defaults(
        func=_serve)

    stats = verb("stats", _("counts and median times across incidents"))
    stats.add_argument("--since", type=_duration, default=timedelta(days=30),
                       help=render(_("how far back, e.g. 30d, 12h (default 30d)")))
    stats.add_argument("--include-drills", action="store_true",
                       help=render(_("count drills too")))
    stats.add_argument("--db", type=Path, help=db_help)
    stats.set_defaults(func=_stats)

    drill = verb("drill", _("a training drill on SQLite and the local chat"))
    drill.add_argument("kind", choices=[k.value for k in CrisisKind if k is not CrisisKind.OTHER])
    drill.add_argument("--db", type=Path, help=render(_(
        "run the drill in this database (kept; an existing one is added to, never wiped)")))
    drill.add_argument("--lang", choices=LANGUAGES, help=lang_help)
    drill.set_defaults(func=_drill)

    verb("check-config", _("validate and print settings (secrets masked)")).set_defaults(
        func=_check_config)
    _add_alerts_verbs(verbs, render)
    _console_verbs(verbs, render)
    return parser


def _settings(args: argparse.Namespace, *, reading: bool = False, **overrides: Any) -> Settings:
    """The settings, with `--db FILE` (where the verb has it) as the database; a verb that only
    reads (`reading`) refuses a file that is not there rather than create an empty one."""
    db: Path | None = getattr(args, "db", None)
    if db is not None:
        if not db.parent.is_dir():
            raise CrisisError(_("--db: no such folder: {folder}", folder=str(db.parent)))
        if reading and not db.is_file():
            raise CrisisError(_("--db: no such database file: {path}", path=str(db)))
        overrides["database_url"] = f"sqlite+aiosqlite:///{db}"
    return load(**overrides)


@contextmanager
def _database(url: str) -> Iterator[None]:
    """A database that cannot be reached or used is one line: where it is and the driver's
    reason (first line only, never the URL's password)."""
    try:
        yield
    except DATABASE_ERRORS as error:
        raise CrisisError(_("cannot use the database at {place}: {reason}",
                            place=database_place(url), reason=_reason(error))) from None


def _reason(error: BaseException) -> str:
    cause = getattr(error, "orig", None) or error
    if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
        return os.strerror(cause.errno)
    lines = str(cause).strip().splitlines()
    return lines[0] if lines else type(cause).__name__


async def _open(settings: Settings, **kwargs: Any) -> Bot:
    with _database(settings.database_url):
        return await build(settings, **kwargs)


def _with_bot(settings: Settings, work: Callable[[Bot], Awaitable[T]]) -> T:
    async def go() -> T:
        bot = await _open(settings)
        try:
            return await work(bot)
        finally:
            await bot.close()

    return asyncio.run(go())


def _demo(args: argparse.Namespace) -> int:
    from bot.demo import run

    if args.db is not None and args.db.exists():
        if not args.force:
            raise CrisisError(_("{path} already exists; the demo needs a new database. Choose "
                                "another --db, or add --force to replace it (its incidents "
                                "are lost).", path=str(args.db)))
        _settings(args)  # refuse bad settings before deleting anything
        args.db.unlink()
    return _scripted(args, "demo", run)


def _scripted(args: argparse.Namespace, name: str,
              play: Callable[[Bot, ScriptedClock, Callable[[str], None]], Awaitable[int]]
              ) -> int:
    """Play a scripted crisis (the demo, a drill) on SQLite and the local chat, then print
    its report: in a scratch file, or in `--db` (kept, never wiped here)."""
    overrides: dict[str, Any] = {"language": args.lang} if args.lang else {}
    # Only the local chat, even where the team's platforms are configured: a rehearsal never
    # opens a channel or posts in the team's real chats.
    overrides |= {"slack": {"bot_token": None, "signing_secret": None, "app_token": None},
                  "telegram": {"bot_token": None}}
    with tempfile.TemporaryDirectory(prefix=f"crisisbot-{name}-") as scratch:
        if args.db is None:
            overrides["database_url"] = f"sqlite+aiosqlite:///{Path(scratch) / f'{name}.db'}"
        settings = _settings(args, **overrides)
        render = renderer(settings.language)
        clock = ScriptedClock(DEMO_START)

        async def go() -> int:
            bot = await _open(settings, clock=clock, echo=print)
            try:
                number = await play(bot, clock, print)
                print("\n" + render(_("== Post-incident report")) + "\n")
                print(await report_text(bot, number))
            finally:
                await bot.close()
            return 0

        result = asyncio.run(go())
        if args.db:
            print("\n" + render(_("(database kept at {path})", path=str(args.db))))
        return result


def _serve(args: argparse.Namespace) -> int:
    settings = load()
    guard(secrets_of(settings))
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
        with _database(settings.database_url):
            runner.run(upgrade(settings.database_url))
        runner.run(_telegram_accepts(settings))
        try:
            runner.run(serve(settings))
        except SystemExit as stopped:  # uvicorn exits 1 (cannot bind) or 3 (start-up failed)
            if stopped.code not in (0, None):
                raise CrisisError(_("the server did not start on {host}:{port}; the log above "
                                    "says why.", host=settings.host,
                                    port=str(settings.port))) from None
    return 0


async def _telegram_accepts(settings: Settings) -> None:
    """Meet the Telegram bot (`getMe`) before serving, so a rejected token is one line
    without the token, not a start-up traceback whose exception text holds it."""
    token = settings.telegram.bot_token
    if token is None:
        return
    try:
        async with build_application(token.get_secret_value(), settings.telegram.api_url).bot:
            pass
    except InvalidToken:
        raise ConfigError(_("Telegram refused CRISISBOT_TELEGRAM__BOT_TOKEN: check the token "
                            "with @BotFather (or CRISISBOT_TELEGRAM__API_URL).")) from None
    except TelegramError as error:
        raise CrisisError(_("cannot connect to the Telegram Bot API: {reason}",
                            reason=REDACTOR.redact(str(error)))) from None


def _db_upgrade(args: argparse.Namespace) -> int:
    settings = load()
    with _database(settings.database_url):
        asyncio.run(upgrade(settings.database_url))
    print(args.render(_("database is up to date")))
    return 0


def _report(args: argparse.Namespace) -> int:
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

    text = _with_bot(_settings(args, reading=True), work)
    if out is None:
        print(text)
        return 0
    try:
        out.write_text(text + ("" if text.endswith("\n") else "\n"), encoding="utf-8")
    except OSError as error:
        raise CrisisError(_("cannot write {path}: {reason}", path=str(out),
                            reason=_reason(error))) from None
    return 0


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
        render = bot.renderer()
        print("\n".join(render(line) for line in stats_lines(stats)))
        return 0

    return _with_bot(_settings(args, reading=True), work)


def _drill(args: argparse.Namespace) -> int:
    from bot.drill import run_drill

    kind = CrisisKind(args.kind)
    return _scripted(args, "drill",
                     lambda bot, clock, out: run_drill(bot, clock, kind, out))


def _check_config(args: argparse.Namespace) -> int:
    settings = load()
    alert_parsers(settings)  # compiles every mapping's expressions
    render: Renderer = args.render
    print(json.dumps(masked(settings), indent=2, ensure_ascii=False))
    platforms = ["local"]
    platforms += ["slack"] if settings.slack.enabled else []
    platforms += ["telegram"] if settings.telegram.enabled else []
    print(render(_("chat platforms: {names}", names=", ".join(platforms))))
    playbooks = playbooks_from(settings)
    print(render(_("playbooks: {names}", names=", ".join(sorted(k.value for k in playbooks)))))
    if settings.alerts.secret is None:
        print(render(_("alert webhooks: no CRISISBOT_ALERTS__SECRET, every alert will be "
                       "refused (401)")))
    for warning in half_configured(settings):
        _say(render(warning))
    return 0


def _add_alerts_verbs(verbs: Any, render: Renderer) -> None:
    alerts = verbs.add_parser("alerts", help=render(_("alert sources and mappings")),
                              render=render)
    alerts_verbs = alerts.add_subparsers(dest="alerts_verb", required=True, metavar="VERB")
    try_ = alerts_verbs.add_parser("try", help=render(_("show what a sample body becomes")),
                                   render=render)
    try_.add_argument("source", help=render(_("a mapping's name (or a built-in source)")))
    try_.add_argument("file", type=Path, help=render(_("a sample body (JSON)")))
    try_.set_defaults(func=_alerts_try)


def _alerts_try(args: argparse.Namespace) -> int:
    """Parse a sample body as the source would, without storing anything: one line per
    alert, or one line per problem."""
    render: Renderer = args.render
    parsers = alert_parsers(load())
    parser = parsers.get(args.source)
    if parser is None:
        raise CrisisError(_("unknown source {source}; use one of {names}", source=args.source,
                            names=", ".join(sorted(parsers))))
    try:
        body = args.file.read_bytes()
    except OSError as error:
        raise CrisisError(_("cannot read {path}: {reason}", path=str(args.file),
                            reason=error.strerror or str(error))) from None
    try:
        alerts = parser(Inbound(args.source, body, datetime.now(UTC)))
    except PayloadError as bad:
        for problem in bad.problems:
            _say(f"{args.file}: {problem.loc}: {problem.msg}")
        return EXIT_REFUSED
    for alert in alerts:
        print(_described(alert))
    if not alerts:
        print(render(_("no alerts (accepted and not stored)")))
    return 0


def _described(alert: Alert) -> str:
    fields = [alert.status.value, alert.severity.value if alert.severity else "-",
              f"title={alert.title!r}", f"group={alert.group_key!r}",
              f"dedup={alert.dedup_key!r}", f"fingerprint={alert.fingerprint!r}"]
    fields += [f"kind={alert.kind.value}"] if alert.kind else []
    fields += [f"url={alert.url}"] if alert.url else []
    fields += [f"labels={dict(alert.labels)}"] if alert.labels else []
    fields += [f"update={alert.update}"] if alert.update else []
    fields += [f"truncated={alert.truncated}"] if alert.truncated else []
    return " ".join(fields)


def _console_verbs(verbs: Any, render: Renderer) -> None:
    login = verbs.add_parser("login", help=render(_(
        "print a one-time sign-in link to the web console")), render=render)
    login.add_argument("person", help=render(_(
        "who signs in: local:alice, slack:U123, telegram:93372553")))
    login.add_argument("--ttl", type=_duration, help=render(_(
        "how long the link stays valid (default CRISISBOT_WEB__LOGIN_TTL, 10m)")))
    login.set_defaults(func=_login)

    incidents = verbs.add_parser("incidents", help=render(_(
        "list incidents, open ones first")), render=render)
    incidents.add_argument("--open", action="store_true", help=render(_(
        "only open incidents")))
    incidents.add_argument("--db", type=Path, help=render(_(
        "the SQLite file to use instead of CRISISBOT_DATABASE_URL")))
    incidents.set_defaults(func=_incidents)


def _login(args: argparse.Namespace) -> int:
    settings = load()

    async def work(bot: Bot) -> str:
        return await sign_in_links(bot).issue(args.person, args.ttl or settings.web.login_ttl)

    print(_with_bot(settings, work))
    return 0


def _incidents(args: argparse.Namespace) -> int:
    settings = _settings(args, reading=True)

    async def work(bot: Bot) -> list[str]:
        page = await bot.console.incident_page(Filters(open_only=args.open, limit=100_000))
        return incident_lines(page.listed, bot.renderer(), bot.clock.now())

    print("\n".join(_with_bot(settings, work)))
    return 0
