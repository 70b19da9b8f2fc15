"""The composition root: the only place that names concrete classes and reads settings."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import uvicorn
from fastapi import FastAPI

from bot.chat.local import LocalChat, LocalSession
from bot.chat.telegram import TelegramChat, TelegramUpdates, build_application
from bot.core.delivery import Delivery
from bot.core.intake import GroupCommit
from bot.core.pace import EscalationStep, Schedule, Timers
from bot.core.ports import Chat, Clock
from bot.core.rules import ApprovalStep, Route, Rules
from bot.core.service import Service
from bot.core.text import Renderer, Who
from bot.i18n import renderer
from bot.ingest import PARSERS
from bot.ingest.auth import Authenticator
from bot.scheduler import Leader, Pacemaker
from bot.settings import WEEKDAYS, Settings
from bot.storage.leader import AdvisoryLock
from bot.storage.migrate import upgrade
from bot.storage.sql import SqlStore
from bot.web import create_app

log = logging.getLogger("crisisbot")


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


def rules_from(settings: Settings) -> Rules:
    return Rules(
        roles=tuple(settings.roles),
        policies={
            severity: tuple(ApprovalStep(frozenset(s.roles), s.count) for s in steps)
            for severity, steps in settings.approval.items()
        },
        veto_roles=frozenset(settings.veto_roles),
        default_severity=settings.default_severity,
        routes=tuple(
            Route(source=r.match.source, labels=r.match.labels, kind=r.match.kind,
                  severity=r.severity, set_kind=r.kind, platform=r.platform,
                  invite=tuple(r.invite), playbook=r.playbook)
            for r in settings.alerts.routes
        ),
        digest_seconds=settings.alerts.digest_seconds,
    )


def authenticator(settings: Settings) -> Authenticator:
    alerts = settings.alerts
    return Authenticator(
        alerts.secret.get_secret_value() if alerts.secret else None,
        {name: s.secret.get_secret_value() for name, s in alerts.sources.items() if s.secret},
    )


def schedule_from(settings: Settings) -> Schedule:
    """Plain values for the core: timedeltas and a zoneinfo, no pydantic."""
    config = settings.schedule
    return Schedule(
        timers={severity: Timers(t.ack_timeout, t.update_every, t.approval_reminder)
                for severity, t in config.severity.items()},
        escalation=tuple(EscalationStep(step.after, tuple(step.people), tuple(step.groups))
                         for step in config.escalation),
        timezone=ZoneInfo(settings.timezone),
        review_time=config.review_time,
        working_days=frozenset(WEEKDAYS.index(day) for day in config.working_days),
        pulse_every=config.pulse_every,
        pulse_severities=frozenset(config.pulse_severities),
    )


@dataclass
class Bot:
    settings: Settings
    store: SqlStore
    service: Service
    delivery: Delivery
    local: LocalChat
    clock: Clock
    outbox: asyncio.Event = field(default_factory=asyncio.Event)
    """Set after every commit that queued chat notices; the delivery task waits on it."""
    scheduler: Pacemaker | None = None
    telegram: TelegramUpdates | None = None

    def session(self) -> LocalSession:
        return LocalSession(self.service, self.local, self.delivery)

    async def close(self) -> None:
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.store.close()


def build_scheduler(bot: Bot) -> Pacemaker:
    """Tick, then deliver what is queued (retrying what failed before); on PostgreSQL only the
    lock holder ticks. Not started here: `serve` starts it inside its event loop."""

    async def tick() -> None:
        await bot.service.tick()
        await bot.delivery.flush()

    url = bot.settings.database_url
    leader: Leader | None = AdvisoryLock(url) if url.startswith("postgresql") else None
    return Pacemaker(tick, bot.settings.schedule.tick, leader=leader)


async def build(settings: Settings, *, clock: Clock | None = None,
                echo: Callable[[str], None] | None = None) -> Bot:
    """Wire store, rules, chat adapters and the service from settings (migrating the DB)."""
    await upgrade(settings.database_url)
    store = SqlStore(settings.database_url)
    rules = rules_from(settings)

    def render_for(language: str | None) -> Renderer:
        return renderer(language or settings.language)

    local = LocalChat(render_for, echo)
    chats: dict[str, Chat] = {local.platform: local}
    telegram = telegram_chat(settings) if settings.telegram.enabled else None
    if telegram is not None:
        chats[telegram.platform] = telegram
    clock = clock or SystemClock()
    outbox = asyncio.Event()
    service = Service(store, clock, rules, after_commit=outbox.set,
                      platform=telegram.platform if telegram else local.platform,
                      schedule=schedule_from(settings))
    bot = Bot(settings, store, service, Delivery(store, chats, rules), local, clock, outbox)
    bot.scheduler = build_scheduler(bot)
    if telegram is not None:
        secret = settings.telegram.webhook_secret
        bot.telegram = TelegramUpdates(telegram, service, store,
                                       secret=secret.get_secret_value() if secret else None)
    return bot


def telegram_chat(settings: Settings) -> TelegramChat:
    """The Telegram chat on its PTB `Application` (Telegram mentions, the configured language
    unless the incident has its own)."""
    config = settings.telegram
    if config.bot_token is None:
        raise ValueError("Telegram needs CRISISBOT_TELEGRAM__BOT_TOKEN")

    def render_for(language: str | None, mention: Callable[[Who], str]) -> Renderer:
        return renderer(language or settings.language, mention)

    app = build_application(config.bot_token.get_secret_value(), config.api_url)
    return TelegramChat(app, config.chat_id, render_for)


def web_app(bot: Bot) -> FastAPI:
    """The HTTP app of `serve`, with its background work (group commit, chat delivery,
    digests) started and stopped by the app's lifespan."""
    authenticate = authenticator(bot.settings)
    if not authenticate.configured:
        log.warning("no CRISISBOT_ALERTS__SECRET (or per-source secret) is set: every alert "
                    "webhook will be refused with 401")
    intake = GroupCommit(bot.service.handle_alerts)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        intake.start()
        if bot.telegram is not None:
            await bot.telegram.start()
        if bot.scheduler is not None:
            bot.scheduler.start()
        bot.outbox.set()  # deliver what an earlier run left behind
        tasks = [asyncio.create_task(_deliver_forever(bot)),
                 asyncio.create_task(_digests_forever(bot))]
        try:
            yield
        finally:
            await intake.stop()
            if bot.scheduler is not None:
                await bot.scheduler.stop()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            try:
                await bot.service.send_digests()
                await bot.delivery.flush()
            except Exception:
                log.exception("could not deliver every chat notice before stopping; they "
                              "stay queued for the next start")
            if bot.telegram is not None:
                await bot.telegram.stop()

    hooks = {"/telegram/webhook": bot.telegram.webhook} if bot.telegram else {}
    return create_app(parsers=PARSERS, authenticate=authenticate, submit=intake.submit,
                      ping=bot.store.ping, clock=bot.clock, lifespan=lifespan, hooks=hooks)


async def _deliver_forever(bot: Bot) -> None:
    """Deliver chat notices whenever a commit queued some (retrying a failure every second)."""
    while True:
        await bot.outbox.wait()
        bot.outbox.clear()
        try:
            await bot.delivery.flush()
        except Exception:
            log.exception("chat delivery failed; retrying")
            await asyncio.sleep(1)
            bot.outbox.set()


async def _digests_forever(bot: Bot) -> None:
    """Tell storm digests that came due after their storm went quiet."""
    interval = min(bot.settings.alerts.digest_seconds / 4, 5.0)
    while True:
        await asyncio.sleep(interval)
        try:
            await bot.service.send_digests()
        except Exception:
            log.exception("could not send alert digests")


async def serve(settings: Settings) -> None:
    """Run the bot until SIGTERM/SIGINT; uvicorn finishes in-flight requests, then the
    lifespan drains the intake and the outbox."""
    bot = await build(settings, echo=logging.getLogger("crisisbot.chat.local").info)
    try:
        config = uvicorn.Config(web_app(bot), host=settings.host, port=settings.port,
                                log_config=None, lifespan="on", access_log=False)
        await uvicorn.Server(config).serve()
    finally:
        await bot.close()
