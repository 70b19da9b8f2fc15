"""`build`: the `Bot`, every part wired from settings (store, chats, outbox, service,
scheduler), for `serve` and every CLI verb."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.app.chats import (
    destinations_from,
    pacing_from,
    slack_chat,
    slack_client,
    slack_secret,
    telegram_chat,
)
from bot.app.team import playbooks_from, rules_from, schedule_from, team_renderer, templates_from
from bot.chat.inbound import InboundWorker
from bot.chat.local import LocalChat, LocalSession
from bot.chat.outbox import Outbox
from bot.console.signin import SignInLinks
from bot.core.delivery import Delivery
from bot.core.ports import Chat, Clock
from bot.core.publishing import PublishDelivery
from bot.core.service import Service
from bot.core.text import Renderer, Who, plain_mention
from bot.logsafe import guard
from bot.scheduler import Leader, Pacemaker
from bot.settings import Settings, secrets_of
from bot.storage.console import ConsoleStore
from bot.storage.leader import AdvisoryLock
from bot.storage.migrate import upgrade
from bot.storage.sql.rooms import SqlRooms
from bot.storage.sql.store import SqlStore

if TYPE_CHECKING:  # imported by `build` when the settings enable the platform (see chats)
    from slack_bolt.async_app import AsyncApp

    from bot.chat.telegram.inbound import TelegramUpdates


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class Bot:
    settings: Settings
    store: SqlStore
    service: Service
    delivery: Delivery
    local: LocalChat
    clock: Clock
    outbox: Outbox
    inbound: InboundWorker
    console: ConsoleStore
    console_key: str
    scheduler: Pacemaker | None = None
    slack: AsyncApp | None = None
    telegram: TelegramUpdates | None = None

    def renderer(self, language: str | None = None) -> Renderer:
        """Text as the team reads it (the CLI's report and stats)."""
        return team_renderer(self.settings, language)

    def session(self) -> LocalSession:
        return LocalSession(self.service, self.local, self.delivery)

    async def close(self) -> None:
        await self.outbox.stop()
        await self.inbound.stop()
        if self.scheduler is not None:
            await self.scheduler.stop()
        await self.store.close()


def build_scheduler(bot: Bot) -> Pacemaker:
    """Tick; on PostgreSQL only the lock holder ticks. What a tick queues is the outbox
    worker's to deliver (the commit wakes it); a bot whose worker is not running (a test, a
    one-shot) delivers it in the tick. Not started here: `serve` starts it inside its event
    loop. (Draining in every tick while the worker ran let a steady flow of notices hold one
    tick, and the reminders behind it, for as long as the flow lasted.)"""

    async def tick() -> None:
        await bot.service.tick()
        if not bot.outbox.running:
            await bot.outbox.drain()

    url = bot.settings.database_url
    leader: Leader | None = AdvisoryLock(url) if url.startswith("postgresql") else None
    return Pacemaker(tick, bot.settings.schedule.tick, leader=leader)


async def build(settings: Settings, *, clock: Clock | None = None,
                echo: Callable[[str], None] | None = None, migrate: bool = True) -> Bot:
    """Wire store, rules, chat adapters and the service from settings, migrating the DB
    first unless the caller just did (`serve`: one Alembic run, not two)."""
    guard(secrets_of(settings))  # no secret in any log line from here on
    playbooks = playbooks_from(settings)  # a broken playbook is refused before any migration
    if migrate:
        await upgrade(settings.database_url)
    store = SqlStore(settings.database_url)
    rules = rules_from(settings)

    def render_for(language: str | None) -> Renderer:
        return team_renderer(
            settings, language,
            lambda who: plain_mention(Who(rules.on(LocalChat.platform, who.person))))

    clock = clock or SystemClock()
    local = LocalChat(render_for, SqlRooms(store), echo, now=clock.now)
    chats: dict[str, Chat] = {local.platform: local}
    slack = slack_chat(settings, rules) if settings.slack.enabled else None
    if slack is not None:
        chats[slack.platform] = slack
    telegram = telegram_chat(settings, rules, store) if settings.telegram.enabled else None
    if telegram is not None:
        chats[telegram.platform] = telegram
    destinations = destinations_from(settings, rules, slack, telegram)
    delivery = Delivery(store, chats, rules, PublishDelivery(store, clock, destinations))
    outbox = Outbox(store, delivery, clock, pacing_from(settings))
    console = ConsoleStore(store)
    service = Service(store, clock, rules, platform=(slack or telegram or local).platform,
                      after_commit=outbox.wake, schedule=schedule_from(settings),
                      playbooks=playbooks, templates=templates_from(settings),
                      language=settings.language, publish_to=tuple(destinations),
                      sign_in=links_on(console, clock, settings),
                      sign_in_ttl=settings.web.login_ttl)
    key = settings.web.secret.get_secret_value() if settings.web.secret else \
        await console.session_key()
    bot = Bot(settings, store, service, delivery, local, clock, outbox,
              InboundWorker(store, clock, pacing_from(settings)), console, key)
    bot.scheduler = build_scheduler(bot)
    if slack is not None:
        from bot.chat.slack.inbound import slack_app

        bot.slack = slack_app(service, slack, client=slack_client(settings, interactive=True),
                              signing_secret=slack_secret(settings.slack.signing_secret),
                              jobs=bot.inbound, pin_reaction=settings.slack.pin_reaction)
    if telegram is not None:
        from bot.chat.telegram.inbound import TelegramUpdates

        secret = settings.telegram.webhook_secret
        bot.telegram = TelegramUpdates(telegram, service,
                                       secret=secret.get_secret_value() if secret else None)
    return bot


def links_on(console: ConsoleStore, clock: Clock, settings: Settings) -> SignInLinks:
    return SignInLinks(console.add_link, console.use_link, console.link_usable, clock,
                       settings.base_url)
