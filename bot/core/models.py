"""The nouns of a crisis: incidents, roles, drafts and their approvals, alerts, timeline events."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from bot.core.errors import Invalid
from bot.core.sources import MENTIONS
from bot.core.text import Either, RoleName, Text, _

PersonId = str
"""A person as `platform:id`, e.g. `slack:U024BE7LH`, `telegram:93372553`, `local:alice`."""

SYSTEM: PersonId = "crisisbot"
"""The actor of what the bot does on its own (alerts, reminders)."""


class Severity(StrEnum):
    SEV1 = "SEV1"
    SEV2 = "SEV2"
    SEV3 = "SEV3"
    SEV4 = "SEV4"


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    RESPONDING = "responding"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class CrisisKind(StrEnum):
    NEGATIVE_REVIEWS = "negative_reviews"
    TROLLING = "trolling"
    DISINFORMATION = "disinformation"
    CONTENT_MISTAKE = "content_mistake"
    COMPETITOR_ATTACK = "competitor_attack"
    DATA_BREACH = "data_breach"
    ACCOUNT_COMPROMISE = "account_compromise"
    SERVICE_OUTAGE = "service_outage"
    OTHER = "other"


class DraftState(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


STATUS_LABELS: Mapping[Status, Text] = {
    Status.TRIGGERED: _("triggered"),
    Status.ACKNOWLEDGED: _("acknowledged"),
    Status.RESPONDING: _("responding"),
    Status.MONITORING: _("monitoring"),
    Status.RESOLVED: _("resolved"),
}

KIND_LABELS: Mapping[CrisisKind, Text] = {
    CrisisKind.NEGATIVE_REVIEWS: _("negative reviews"),
    CrisisKind.TROLLING: _("trolling / hater attack"),
    CrisisKind.DISINFORMATION: _("disinformation / fake news"),
    CrisisKind.CONTENT_MISTAKE: _("content mistake"),
    CrisisKind.COMPETITOR_ATTACK: _("competitor attack"),
    CrisisKind.DATA_BREACH: _("data breach"),
    CrisisKind.ACCOUNT_COMPROMISE: _("account compromise"),
    CrisisKind.SERVICE_OUTAGE: _("service outage"),
    CrisisKind.OTHER: _("other"),
}

ROLE_LABELS: Mapping[str, Text] = {
    "commander": _("commander"),
    "spokesperson": _("spokesperson"),
    "approver": _("approver"),
    "monitor": _("monitor"),
    "legal": _("legal"),
    "support": _("support"),
}
"""Names of the default roles; a team names its own roles in the settings (`role_names`)."""


def role_name(role: str, *, capital: bool = False) -> RoleName:
    """A role as people read it: its name in the reader's language (the id stays typed)."""
    return RoleName(role, ROLE_LABELS.get(role), capital)


def any_role(roles: Iterable[str]) -> Either:
    """"approver or legal": the roles any of which will do, by name."""
    return Either(tuple(role_name(role) for role in sorted(roles)))


DRAFT_STATE_LABELS: Mapping[DraftState, Text] = {
    DraftState.PENDING: _("pending approval"),
    DraftState.APPROVED: _("approved, ready to publish"),
    DraftState.REJECTED: _("rejected"),
}

_PUBLIC_ID = re.compile(r"^INC-(\d+)$", re.IGNORECASE)


def public_id(number: int) -> str:
    return f"INC-{number}"


MAX_NUMBER = 2**31 - 1
"""The largest incident, draft, version or task number: what a SQL INTEGER column holds."""


def parse_public_id(value: str) -> int | None:
    """`INC-7` (any case) -> 7; anything else -> None; `Invalid` past `MAX_NUMBER`."""
    match = _PUBLIC_ID.match(value.strip())
    return bounded(match.group(1), value) if match else None


def bounded(digits: str, word: str) -> int:
    """`digits` (decimal) as a number, or `Invalid` when no incident, draft or task can have
    it: a store could not even look it up (an `OverflowError` in the database driver)."""
    if len(digits.lstrip("0")) > len(str(MAX_NUMBER)) or int(digits) > MAX_NUMBER:
        shown = word if len(word) <= 24 else word[:20] + "…"
        raise Invalid(_("No incident, draft or task has a number as large as {word}.",
                        word=shown))
    return int(digits)


@dataclass(frozen=True)
class Space:
    """Where an incident's conversation lives: a Slack channel, a Telegram forum topic, ..."""

    platform: str
    channel: str
    thread: str | None = None


@dataclass(frozen=True)
class KnownPerson:
    """Someone a chat platform has shown us: lets `@username` in a command become their id,
    and a mention show their name."""

    person: PersonId
    name: str
    username: str | None = None


@dataclass(frozen=True)
class Question:
    """A question the bot asked one person in a chat and answers when they reply to it
    (Telegram's ForceReply: the reason for rejecting a draft, or its new text). Stored, so a
    restart between the question and the reply loses nothing."""

    platform: str
    chat: str
    message: str
    kind: str  # "reject" or "revise"
    incident: int
    draft: int
    version: int
    person: PersonId
    asked_at: datetime


@dataclass
class InboundJob:
    """Work an inbound event asks for (a 📌, a button press, a thread reply), stored before
    the platform is told "received" and carried out after, retried while it fails for a
    transient reason: an acknowledged event is never lost. `payload` is the platform's own."""

    platform: str
    kind: str
    payload: dict[str, Any]
    received_at: datetime
    id: int | None = None
    attempts: int = 0
    """Attempts so far, counted when a worker claims the job."""


@dataclass
class Incident:
    number: int
    title: str
    kind: CrisisKind
    severity: Severity
    status: Status
    created_at: datetime
    created_by: PersonId
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    roles: dict[str, list[PersonId]] = field(default_factory=dict)
    platform: str = "local"
    space: Space | None = None
    summary_message: str | None = None
    summary_pinned: bool = False
    """The summary message is pinned (posting and pinning are two calls; either may fail)."""
    group_key: str | None = None
    language: str | None = None
    drill: bool = False
    publish_to: tuple[str, ...] | None = None
    """The destinations the routing rule that opened it allows (None: every configured one)."""

    @property
    def public_id(self) -> str:
        return public_id(self.number)

    @property
    def is_open(self) -> bool:
        return self.status is not Status.RESOLVED

    def holders(self, role: str) -> list[PersonId]:
        return self.roles.get(role, [])

    @property
    def commander(self) -> PersonId | None:
        return next(iter(self.holders("commander")), None)

    def roles_of(self, person: PersonId) -> set[str]:
        return {role for role, people in self.roles.items() if person in people}

    @property
    def responders(self) -> set[PersonId]:
        return {person for people in self.roles.values() for person in people}


@dataclass
class DraftVersion:
    number: int
    text: str
    author: PersonId
    created_at: datetime
    message: str | None = None
    published_at: datetime | None = None
    """When this version was published: its card then says so and offers Publish no more."""


@dataclass(frozen=True)
class Decision:
    """One approval or rejection of one version of a draft."""

    version: int
    person: PersonId
    approve: bool
    at: datetime
    step: int | None = None
    role: str | None = None
    reason: str | None = None


@dataclass
class Draft:
    incident: int
    number: int
    author: PersonId
    created_at: datetime
    versions: list[DraftVersion]
    target: str | None = None
    state: DraftState = DraftState.PENDING
    decisions: list[Decision] = field(default_factory=list)

    @property
    def current(self) -> DraftVersion:
        return self.versions[-1]

    @property
    def version(self) -> int:
        return self.current.number

    def decisions_on(self, version: int) -> list[Decision]:
        return [d for d in self.decisions if d.version == version]

    def version_by_message(self, message: str) -> DraftVersion | None:
        return next((v for v in self.versions if v.message == message), None)


@dataclass
class Alert:
    """A normalized alert from any source; `dedup_key` makes re-deliveries idempotent.

    `fingerprint` names the thing that alerts (its firing and resolved alerts share it), so an
    incident knows when everything that fired has recovered.
    """

    source: str
    dedup_key: str
    group_key: str
    title: str
    received_at: datetime
    status: AlertStatus = AlertStatus.FIRING
    description: str = ""
    severity: Severity | None = None
    kind: CrisisKind | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    url: str | None = None
    occurred_at: datetime | None = None
    metrics: Mapping[str, float] = field(default_factory=dict)
    fingerprint: str | None = None
    incident: int | None = None
    id: int | None = None
    delivery: int | None = None
    """The stored raw delivery (`RawDelivery.id`) the alert came in, if any."""
    update: str | None = None
    """What the sender changed about an alert it already sent (e.g. PagerDuty `acknowledged`):
    told in the incident's timeline, never opens one; `description` holds the detail."""
    truncated: int = 0
    """How many more alerts the sender's group held than it sent (Alertmanager's and
    Grafana's `truncatedAlerts`), on the first alert of that delivery."""

    @property
    def identity(self) -> str:
        return self.fingerprint or self.dedup_key

    @property
    def is_mention(self) -> bool:
        """A social-media mention (counted into its topic's series) rather than a monitor's
        alert."""
        return self.source == MENTIONS


@dataclass(frozen=True)
class RawDelivery:
    """One delivery as it came in (the exact body, headers without secrets), kept beside the
    alerts it produced so what a sender really sent can be looked at later."""

    source: str
    received_at: datetime
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    webhook_id: str | None = None
    id: int | None = None


RawAlerts = tuple[RawDelivery, Sequence[Alert]]
"""A raw delivery and the alerts parsed from it: what an intake adapter hands the core."""


@dataclass(frozen=True)
class AlertOutcome:
    """What became of one alert: the incident it joined (None: a resolve of nothing open),
    whether it opened that incident, whether it was a re-delivery."""

    incident: int | None
    opened: bool
    duplicate: bool


@dataclass(frozen=True)
class MentionMinute:
    """Mentions of one topic (an alert group key) in one UTC minute.

    The per-minute series is what spike detection, pulses and reports read, so none of them
    has to load every mention.
    """

    topic: str
    minute: datetime
    mentions: int
    negative: int = 0
    reach: float = 0.0


class EventKind(StrEnum):
    DECLARED = "declared"
    ACKNOWLEDGED = "acknowledged"
    ALERT_ATTACHED = "alert_attached"
    ALERTS_DIGEST = "alerts_digest"
    ALERTS_RESOLVED = "alerts_resolved"
    ALERT_UPDATE = "alert_update"
    ALERTS_TRUNCATED = "alerts_truncated"
    STATUS_CHANGED = "status_changed"
    STATUS_UPDATE = "status_update"
    SEVERITY_CHANGED = "severity_changed"
    ROLE_ASSIGNED = "role_assigned"
    ROLE_REMOVED = "role_removed"
    DRAFT_POSTED = "draft_posted"
    DRAFT_REVISED = "draft_revised"
    DRAFT_APPROVAL = "draft_approval"
    DRAFT_APPROVED = "draft_approved"
    DRAFT_REJECTED = "draft_rejected"
    NOTE = "note"
    MESSAGE_PINNED = "message_pinned"
    REMINDER_SENT = "reminder_sent"
    ESCALATION = "escalation"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    TASK_DONE = "task_done"
    TASK_REOPENED = "task_reopened"
    TASK_ASSIGNED = "task_assigned"
    LANGUAGE_CHANGED = "language_changed"
    LESSON = "lesson"
    SPACE_ARCHIVED = "space_archived"
    STATEMENT_PUBLISHED = "statement_published"
    STATEMENT_DELIVERED = "statement_delivered"


@dataclass(frozen=True)
class TimelineEvent:
    incident: int
    at: datetime
    kind: EventKind
    actor: PersonId | None
    data: Mapping[str, Any] = field(default_factory=dict)
    seq: int | None = None


class NoticeKind(StrEnum):
    """What the bot has to tell a chat platform; delivered from the outbox after commit."""

    OPEN_SPACE = "open_space"
    SUMMARY = "summary"
    MESSAGE = "message"
    DRAFT = "draft"
    DIRECT = "direct"
    INVITE = "invite"
    CLOSE_SPACE = "close_space"
    REOPEN_SPACE = "reopen_space"
    ARCHIVE_SPACE = "archive_space"
    ANSWER = "answer"
    PUBLISH = "publish"


URGENT, ROUTINE = 0, 1
"""Notice priorities: answers to someone who is waiting go out before routine notices."""


@dataclass(frozen=True)
class Answer:
    """A reply to someone who just spoke to the bot (a command's answer, a refusal, a question
    to answer), sent by the outbox so the webhook that brought the command is not held.

    `chat` and `thread` are the platform's own ids; `ask` ("reject" or "revise") makes it a
    question whose reply the bot waits for (a `Question`, recorded once it is sent)."""

    platform: str
    chat: str
    lines: tuple[Text, ...]
    thread: str | None = None
    reply_to: str | None = None
    language: str | None = None
    ask: str | None = None


@dataclass
class Notice:
    """An outbound chat action, stored in the same transaction as the change that causes it.

    It names the incident, not a channel id: the space may not exist yet when the notice is
    written, and summaries and draft cards are rendered from current state when delivered.
    An ANSWER names its chat instead (and an incident only when it is about one).
    """

    incident: int | None
    kind: NoticeKind
    created_at: datetime
    text: Text | None = None
    person: PersonId | None = None
    draft: int | None = None
    version: int | None = None
    thread_of_draft: bool = False
    message: str | None = None
    destination: str | None = None
    """Where a PUBLISH notice delivers its statement (`status`, `telegram`, `slack`, ...)."""
    publication: int | None = None
    id: int | None = None
    attempts: int = 0
    """Delivery attempts so far, counted when the outbox claims the notice."""
    answer: Answer | None = None

    @property
    def queue(self) -> str:
        """Notices of one queue are delivered in order, by one process at a time: an
        incident's, its statements to one destination, or the answers in one chat."""
        if self.answer is not None:
            return f"{self.answer.platform}:{self.answer.chat}"
        if self.kind is NoticeKind.PUBLISH:  # a destination that is down holds up no other
            return f"incident:{self.incident}:{self.destination}"
        return f"incident:{self.incident}"

    @property
    def priority(self) -> int:
        return URGENT if self.answer is not None else ROUTINE
