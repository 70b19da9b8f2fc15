"""`serve`: check that the bot can run here, then serve HTTP until SIGTERM."""

from __future__ import annotations

import gc
import logging

import uvicorn
from slack_sdk.errors import SlackApiError
from sqlalchemy.exc import SQLAlchemyError

from bot.app.intake import alert_parsers
from bot.app.web import web_app
from bot.app.wiring import Bot, build
from bot.chat.slack.api import PLATFORM as SLACK
from bot.chat.slack.outbound import SlackChat
from bot.core.ports import RetryLater
from bot.settings import Settings
from bot.storage.sql.store import failure_reason

GRACE_S = 5
"""On SIGTERM, how long in-flight requests may finish; then open console event streams (a tab
left open) are closed rather than holding the shutdown."""


class CannotStart(Exception):
    """`serve` cannot run here (the database takes no write, Slack refuses the token); the
    message is one line for the operator."""


async def ready(bot: Bot) -> None:
    """What `serve` checks before it takes requests. The database must take a write (else
    every alert would be refused while /healthz said all was well); Slack must confirm the
    token with `auth.test`, retried while it fails transiently, and the identity it answers
    is kept, so no request waits on Slack to be authorized."""
    problem = await bot.store.writable()
    if problem is not None:
        raise CannotStart(f"the database cannot take a write: {problem}")
    slack = bot.delivery.chats.get(SLACK)
    if not isinstance(slack, SlackChat):
        return
    try:
        await slack.identify()
    except (RetryLater, SlackApiError) as error:
        reason = error.reason if isinstance(error, RetryLater) else error.response.get("error")
        raise CannotStart(f"Slack did not confirm the bot token (auth.test): {reason}") from None


def _settle_heap() -> None:
    """What is built by now (modules, app, settings) lives as long as the process: collect
    once, then keep it out of the cycle collector's sight. Otherwise every full collection
    walks it again and pauses the event loop for 60-130 ms, the slowest requests of an alert
    storm."""
    gc.collect()
    gc.freeze()


async def serve(settings: Settings) -> None:
    """Run the bot until SIGTERM/SIGINT; uvicorn finishes in-flight requests, then the
    lifespan drains the intake and the outbox. The caller has migrated the database
    (`crisisbot serve`, where a database it cannot use is one line)."""
    alert_parsers(settings)  # bad mappings are refused before the bot is built
    try:
        bot = await build(settings, echo=logging.getLogger("crisisbot.chat.local").info,
                          migrate=False)
    except SQLAlchemyError as error:  # e.g. a read-only file
        raise CannotStart(f"the database cannot be prepared: {failure_reason(error)}") from None
    try:
        await ready(bot)
        # No access log, no `Server` header, no X-Forwarded-* rewriting: nothing here uses
        # the client's address, and each is work on every request of an alert storm.
        config = uvicorn.Config(web_app(bot), host=settings.host, port=settings.port,
                                log_config=None, lifespan="on", access_log=False,
                                proxy_headers=False, server_header=False,
                                timeout_graceful_shutdown=GRACE_S)
        server = uvicorn.Server(config)
        _settle_heap()
        await server.serve()
    finally:
        await bot.close()
