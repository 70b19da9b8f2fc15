"""The composition root: the only place that names concrete classes and reads settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from bot.chat.local import LocalChat, LocalSession
from bot.content import PLAYBOOKS, TEMPLATES
from bot.content.loader import load_playbooks
from bot.content.statements import JinjaTemplates
from bot.core.delivery import Delivery
from bot.core.models import KIND_LABELS, CrisisKind
from bot.core.pace import EscalationStep, Schedule, Timers
from bot.core.playbooks import Playbook, PlaybookError
from bot.core.ports import Chat, Clock
from bot.core.rules import ApprovalStep, Rules
from bot.core.service import Service
from bot.core.text import Renderer
from bot.i18n import renderer
from bot.scheduler import Leader, Pacemaker
from bot.settings import WEEKDAYS, ConfigError, Settings
from bot.storage.leader import AdvisoryLock
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


def playbooks_from(settings: Settings) -> dict[CrisisKind, Playbook]:
    """The shipped playbooks, each replaced by the team's own of the same kind."""
    directories = [PLAYBOOKS, *([settings.playbooks_dir] if settings.playbooks_dir else [])]
    try:
        return load_playbooks(directories)
    except PlaybookError as error:
        raise ConfigError(f"CRISISBOT_PLAYBOOKS_DIR: {error}") from None


def templates_from(settings: Settings) -> JinjaTemplates:
    """The team's templates first, then the shipped ones; the kind is named in the template's
    language."""

    def kind_label(kind: CrisisKind, language: str) -> str:
        return renderer(language)(KIND_LABELS[kind])

    directories = [*([settings.templates_dir] if settings.templates_dir else []), TEMPLATES]
    return JinjaTemplates(directories, kind_label)


@dataclass
class Bot:
    settings: Settings
    store: SqlStore
    service: Service
    delivery: Delivery
    local: LocalChat
    scheduler: Pacemaker | None = None

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
    playbooks = playbooks_from(settings)  # a broken playbook is refused before any migration
    await upgrade(settings.database_url)
    store = SqlStore(settings.database_url)
    rules = rules_from(settings)

    def render_for(language: str | None) -> Renderer:
        return renderer(language or settings.language)

    local = LocalChat(render_for, echo)
    chats: dict[str, Chat] = {local.platform: local}
    service = Service(store, clock or SystemClock(), rules, platform=local.platform,
                      schedule=schedule_from(settings), playbooks=playbooks,
                      templates=templates_from(settings), language=settings.language)
    bot = Bot(settings, store, service, Delivery(store, chats, rules), local)
    bot.scheduler = build_scheduler(bot)
    return bot
