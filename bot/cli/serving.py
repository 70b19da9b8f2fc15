"""Running the bot: `check-config`, `db upgrade` and `serve`. The server, its platforms and the
migrations are imported by the verb that needs them: every other verb starts faster."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal

from bot.cli.common import Verb, say, using_database
from bot.core.errors import CrisisError
from bot.core.text import Renderer, _
from bot.logsafe import REDACTOR, guard
from bot.settings import ConfigError, Settings, half_configured, load, masked, secrets_of


def add_check_config(verb: Verb) -> None:
    verb("check-config", _("validate and print settings (secrets masked)")).set_defaults(
        func=_check_config)


def add_db(verb: Verb, render: Renderer) -> None:
    db = verb("db", _("database maintenance"))
    db_verbs = db.add_subparsers(dest="db_verb", required=True, metavar="VERB")
    db_verbs.add_parser("upgrade", help=render(_("apply migrations")),
                        render=render).set_defaults(func=_db_upgrade)


def add_serve(verb: Verb) -> None:
    verb("serve", _("run the bot: HTTP server, alert intake, chat delivery")).set_defaults(
        func=_serve)


def _check_config(args: argparse.Namespace) -> int:
    from bot.app.intake import alert_parsers
    from bot.app.team import playbooks_from

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
        say(render(warning))
    return 0


def _db_upgrade(args: argparse.Namespace) -> int:
    from bot.storage.migrate import upgrade

    settings = load()
    with using_database(settings.database_url):
        asyncio.run(upgrade(settings.database_url))
    print(args.render(_("database is up to date")))
    return 0


def _serve(args: argparse.Namespace) -> int:
    import uvloop

    from bot.app.server import CannotStart, serve
    from bot.storage.migrate import upgrade

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
        with using_database(settings.database_url):
            runner.run(upgrade(settings.database_url))
        runner.run(_telegram_accepts(settings))
        try:
            runner.run(serve(settings))
        except CannotStart as error:
            raise CrisisError(_("cannot start: {reason}", reason=str(error))) from None
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
    from telegram.error import InvalidToken, TelegramError

    from bot.chat.telegram.api import build_application

    try:
        async with build_application(token.get_secret_value(), settings.telegram.api_url).bot:
            pass
    except InvalidToken:
        raise ConfigError(_("Telegram refused CRISISBOT_TELEGRAM__BOT_TOKEN: check the token "
                            "with @BotFather (or CRISISBOT_TELEGRAM__API_URL).")) from None
    except TelegramError as error:
        raise CrisisError(_("cannot connect to the Telegram Bot API: {reason}",
                            reason=REDACTOR.redact(str(error)))) from None
