"""The team's settings as the core's plain values: rules, schedule, playbooks, templates and
the renderer of its words (language, timezone, calendar, names of its roles)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.content import PLAYBOOKS, TEMPLATES
from bot.content.loader import load_playbooks
from bot.content.statements import JinjaTemplates
from bot.core.models import KIND_LABELS, CrisisKind, role_name
from bot.core.pace import EscalationStep, Schedule, Timers
from bot.core.playbooks import Playbook, PlaybookError
from bot.core.rules import ApprovalStep, Route, Rules
from bot.core.spikes import SpikeRule, SpikeWatch
from bot.core.text import LANGUAGES, Localized, Renderer, Text, Who, plain_mention, unescaped
from bot.i18n import renderer
from bot.settings import ConfigError, Settings
from bot.settings.schedule import WEEKDAYS


def team_renderer(settings: Settings, language: str | None = None,
                  mention: Callable[[Who], str] = plain_mention,
                  escape: Callable[[str], str] = unescaped) -> Renderer:
    """A renderer in `language` (else the team's) with the team's timezone, calendar and names
    of its roles: the one way every adapter's words are written."""
    return renderer(language or settings.language, mention, escape,
                    timezone=ZoneInfo(settings.timezone), calendar=settings.calendar,
                    role_names=role_names_from(settings))


def role_names_from(settings: Settings) -> dict[str, Localized]:
    return {role: Localized.of(names) for role, names in settings.role_names.items()}


def role_aliases_from(settings: Settings) -> dict[str, str]:
    """Each role's name in every language (the team's and the catalogue's), lowercased -> the
    role: what people may type besides the id. A name two roles share is left out."""
    named: dict[str, set[str]] = {}
    for language in LANGUAGES:
        for render in (team_renderer(settings, language), renderer(language)):
            for role in settings.roles:
                name = render(Text("{role}", {"role": role_name(role)}))
                named.setdefault(" ".join(name.lower().split()), set()).add(role)
    return {name: next(iter(roles)) for name, roles in named.items()
            if len(roles) == 1 and name not in roles}


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
                  invite=tuple(r.invite), playbook=r.playbook,
                  publish_to=None if r.publish_to is None else tuple(r.publish_to))
            for r in settings.alerts.routes
        ),
        digest_seconds=settings.alerts.digest_seconds,
        spike=spike_from(settings),
        people=people_from(settings),
        assign_roles=frozenset(settings.access.assign_roles),
        role_aliases=role_aliases_from(settings),
    )


def people_from(settings: Settings) -> dict[str, str]:
    """`[[people]]` -> each bound id mapped to the person's first id."""
    return {person_id: person.ids[0] for person in settings.people for person_id in person.ids}


def spike_from(settings: Settings) -> SpikeWatch:
    spike = settings.alerts.spike
    return SpikeWatch(
        SpikeRule(z=spike.z, min_count=spike.min_count, negative_share=spike.negative_share,
                  negative_margin=spike.negative_margin,
                  min_negative_count=spike.min_negative_count),
        window=timedelta(minutes=spike.window_minutes), baseline_days=spike.baseline_days,
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
        archive_after=config.archive_after,
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
        return team_renderer(settings, language)(KIND_LABELS[kind])

    def moment(at: datetime, language: str) -> str:
        return team_renderer(settings, language)(Text("{at}", {"at": at}))

    directories = [*([settings.templates_dir] if settings.templates_dir else []), TEMPLATES]
    return JinjaTemplates(directories, kind_label, moment=moment)
