"""The composition root: the only place that names concrete classes and reads settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.chat.local import LocalChat, LocalSession
from bot.core.delivery import Delivery
from bot.core.ports import Chat, Clock
from bot.core.rules import ApprovalStep, Rules
from bot.core.service import Service
from bot.core.text import Renderer
from bot.i18n import renderer
from bot.settings import Settings
from bot.storage.migrate import upgrade
from bot.storage.sql import SqlStore


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
    )


@dataclass
class Bot:
    settings: Settings
    store: SqlStore
    service: Service
    delivery: Delivery
    local: LocalChat

    def session(self) -> LocalSession:
        return LocalSession(self.service, self.local, self.delivery)

    async def close(self) -> None:
        await self.store.close()


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
    service = Service(store, clock or SystemClock(), rules, platform=local.platform)
    return Bot(settings, store, service, Delivery(store, chats, rules), local)
