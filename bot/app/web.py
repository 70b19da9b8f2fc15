"""The HTTP app of `serve`: alert intake, the chat platforms' endpoints, the console and the
status page, with the background work its lifespan starts and stops."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_sdk.signature import SignatureVerifier

from bot.app.chats import slack_secret
from bot.app.console import status_page, web_console
from bot.app.intake import INTAKE_WORKERS, alert_parsers, authenticator, feed_poller
from bot.app.wiring import Bot
from bot.chat.slack.api import refusal as slack_refusal
from bot.chat.telegram.inbound import TelegramUpdates
from bot.console.routes import console_router
from bot.ingest import SHAPES
from bot.ingest.common import json_schemas
from bot.intake import GroupCommit
from bot.web import Endpoint, create_app

log = logging.getLogger("crisisbot")


def web_app(bot: Bot) -> FastAPI:
    """The HTTP app of `serve`, with its background work (group commit, chat delivery,
    digests) started and stopped by the app's lifespan."""
    authenticate = authenticator(bot.settings, bot.clock)
    if not authenticate.configured:
        log.warning("no CRISISBOT_ALERTS__SECRET (or per-source secret) is set: every alert "
                    "webhook will be refused with 401")
    postgres = bot.settings.database_url.startswith("postgresql")
    intake = GroupCommit(bot.service.handle_alerts, workers=INTAKE_WORKERS if postgres else 1)
    feeds = feed_poller(bot.settings, intake.submit, bot.clock)
    posts: dict[str, Endpoint] = {}
    socket: AsyncSocketModeHandler | None = None
    if bot.slack is not None and bot.settings.slack.app_token is not None:
        socket = AsyncSocketModeHandler(bot.slack, slack_secret(bot.settings.slack.app_token))
    elif bot.slack is not None:
        handler = AsyncSlackRequestHandler(bot.slack)
        verifier = SignatureVerifier(slack_secret(bot.settings.slack.signing_secret))

        async def slack_events(request: Request) -> Response:
            refused = slack_refusal(verifier, request.headers, await request.body())
            if refused is not None:
                return JSONResponse({"error": refused[1]}, status_code=refused[0])
            return await handler.handle(request)

        posts["/slack/events"] = slack_events
    if bot.telegram is not None:
        posts["/telegram/webhook"] = telegram_endpoint(bot.telegram)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        intake.start()
        if bot.telegram is not None:
            await bot.telegram.start()
        if bot.scheduler is not None:
            bot.scheduler.start()
        bot.outbox.start()  # first delivers what an earlier run left behind
        bot.inbound.start()  # and does the event work it had accepted
        if socket is not None:
            await socket.connect_async()  # type: ignore[no-untyped-call]
        digests = asyncio.create_task(_digests_forever(bot))
        if feeds is not None:
            feeds.start()
        try:
            yield
        finally:
            if socket is not None:
                await socket.close_async()  # type: ignore[no-untyped-call]
            if feeds is not None:
                await feeds.stop()
            await intake.stop()
            if bot.scheduler is not None:
                await bot.scheduler.stop()
            digests.cancel()
            await asyncio.gather(digests, return_exceptions=True)
            await bot.outbox.stop()
            await bot.inbound.stop()
            try:
                await bot.service.send_digests()
                async with asyncio.timeout(bot.settings.outbox.drain_on_stop.total_seconds()):
                    await bot.outbox.drain()
            except Exception:
                log.exception("could not deliver every chat notice before stopping; they "
                              "stay queued for the next start")
            if bot.telegram is not None:
                await bot.telegram.stop()

    schemas, definitions = json_schemas(SHAPES)
    app = create_app(parsers=alert_parsers(bot.settings), authenticate=authenticate,
                     submit=intake.submit, ping=bot.store.writable, clock=bot.clock,
                     lifespan=lifespan, posts=posts, schemas=schemas, definitions=definitions)
    app.include_router(console_router(web_console(bot)))
    if bot.settings.publish.status_page:
        app.include_router(status_page(bot))
    return app


def telegram_endpoint(updates: TelegramUpdates) -> Endpoint:
    """`POST /telegram/webhook`: the adapter checks the secret token and handles the update."""

    async def receive(request: Request) -> Response:
        status, answer = await updates.webhook(request.headers, await request.body())
        return JSONResponse(answer, status_code=status)

    return receive


async def _digests_forever(bot: Bot) -> None:
    """Tell storm digests that came due after their storm went quiet."""
    interval = min(bot.settings.alerts.digest_seconds / 4, 5.0)
    while True:
        await asyncio.sleep(interval)
        try:
            await bot.service.send_digests()
        except Exception:
            log.exception("could not send alert digests")
