"""The SQL store: SQLAlchemy 2 async rows for the core's nouns, on SQLite or PostgreSQL.

Rows are mapped to and from the core dataclasses by hand, so the core never sees SQLAlchemy and
the schema can evolve (through the Alembic migrations next to this module) without touching it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Collection, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime, time, timedelta
from time import monotonic
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    URL,
    BigInteger,
    Boolean,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    TypeDecorator,
    UniqueConstraint,
    bindparam,
    create_engine,
    delete,
    event,
    false,
    func,
    make_url,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy import Text as SqlText
from sqlalchemy import (
    insert as sa_insert,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    aliased,
    mapped_column,
    orm_insert_sentinel,
    relationship,
    sessionmaker,
)
from sqlalchemy.pool import ConnectionPoolEntry

from bot.core.models import (
    Alert,
    AlertStatus,
    Answer,
    CrisisKind,
    Decision,
    Draft,
    DraftState,
    DraftVersion,
    EventKind,
    InboundJob,
    Incident,
    KnownPerson,
    MentionMinute,
    Notice,
    NoticeKind,
    PersonId,
    Question,
    RawDelivery,
    Severity,
    Space,
    Status,
    TimelineEvent,
    role_name,
)
from bot.core.playbooks import Task
from bot.core.publication import Publication
from bot.core.rooms import Reaction, RoomMessage, RoomSpace, direct_space_name
from bot.core.sending import SendRate, book, settle
from bot.core.text import Either, Joined, Lines, Localized, Percent, Prefixed, RoleName, Text, Who
from bot.storage.nesting import OpenUnit

DEFAULT_URL = "sqlite+aiosqlite:///./crisisbot.db"
BUSY_TIMEOUT_MS = 10
"""SQLite's own wait for a lock, which blocks the calling thread (here the event loop): kept
short. Waiting for another process's write lock happens in `_write_lock`, on the loop."""
LOCK_WAIT_S = 5.0
"""How long a unit waits for another process's write lock (a CLI command next to `serve`, say)
before it fails."""
PING_TIMEOUT_S = 5.0
HEALTH_PROBE_KEY = "crisisbot:health-probe"

IDLE_PING_S = 1.0
"""A pooled PostgreSQL connection idle this long is pinged before use (see `_ping_when_idle`)."""
IDLE_SINCE = "crisisbot_idle_since"
# PostgreSQL connections plan each statement for its arguments (`force_custom_plan`): the
# intake's statements are prepared once per connection (see `PG_LOOK_UP_BATCH`), and a plan
# cached while a table was small (a fresh database's first storm) would scan it whole as it
# grows: 673 full scans of `alerts`, 3.3 million rows read, in one 10,000-alert storm.
INCIDENT_COUNTER = "incident"

log = logging.getLogger(__name__)

# Deterministic constraint names, so later migrations can drop them by name on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BIG_ID = BigInteger().with_variant(Integer(), "sqlite")
"""Append-only tables can grow past 2**31 rows; SQLite only autoincrements `INTEGER` keys."""

PERSON = String(255)
CODE = String(32)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out: SQLite keeps no zone, so it stores naive UTC and gets
    the zone back on load; PostgreSQL keeps `timestamptz`. A naive value is a bug and refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}; crisisbot stores aware UTC times")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_space", "space_platform", "space_channel"),)

    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(SqlText)
    kind: Mapped[str] = mapped_column(CODE)
    severity: Mapped[str] = mapped_column(CODE)
    status: Mapped[str] = mapped_column(CODE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(PERSON)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    platform: Mapped[str] = mapped_column(CODE)
    space_platform: Mapped[str | None] = mapped_column(CODE)
    space_channel: Mapped[str | None] = mapped_column(String(255))
    space_thread: Mapped[str | None] = mapped_column(String(255))
    summary_message: Mapped[str | None] = mapped_column(String(255))
    summary_pinned: Mapped[bool] = mapped_column(Boolean, default=False,
                                                 server_default=false())
    group_key: Mapped[str | None] = mapped_column(SqlText, index=True)
    language: Mapped[str | None] = mapped_column(String(16))
    drill: Mapped[bool] = mapped_column(Boolean)
    publish_to: Mapped[list[str] | None] = mapped_column(JSON)

    roles: Mapped[list[RoleRow]] = relationship(
        order_by="RoleRow.position", cascade="all, delete-orphan", lazy="selectin"
    )


class RoleRow(Base):
    """One person holding one role; `position` keeps both the role order and the holder order."""

    __tablename__ = "incident_roles"
    __table_args__ = (UniqueConstraint("incident", "role", "person"),)

    incident: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(64))
    person: Mapped[str] = mapped_column(PERSON)


class DraftRow(Base):
    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("incident", "number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(PERSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    target: Mapped[str | None] = mapped_column(SqlText)
    state: Mapped[str] = mapped_column(CODE)

    versions: Mapped[list[VersionRow]] = relationship(
        order_by="VersionRow.number", cascade="all, delete-orphan", lazy="selectin"
    )
    decisions: Mapped[list[DecisionRow]] = relationship(
        primaryjoin="DraftRow.id == foreign(DecisionRow.draft_id)",
        order_by="DecisionRow.id", cascade="all, delete-orphan", lazy="selectin",
    )


class VersionRow(Base):
    __tablename__ = "draft_versions"

    draft_id: Mapped[int] = mapped_column(
        ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    text: Mapped[str] = mapped_column(SqlText)
    author: Mapped[str] = mapped_column(PERSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    message: Mapped[str | None] = mapped_column(String(255))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class DecisionRow(Base):
    """An approval or rejection; once per person and version, so a replayed click is refused."""

    __tablename__ = "draft_decisions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["draft_id", "version"], ["draft_versions.draft_id", "draft_versions.number"],
            ondelete="CASCADE",
        ),
        UniqueConstraint("draft_id", "version", "person"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    draft_id: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    person: Mapped[str] = mapped_column(PERSON)
    approve: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    step: Mapped[int | None] = mapped_column(Integer)
    role: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(SqlText)


class AlertRow(Base):
    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    source: Mapped[str] = mapped_column(CODE)
    dedup_key: Mapped[str] = mapped_column(SqlText, unique=True)
    group_key: Mapped[str] = mapped_column(SqlText)
    title: Mapped[str] = mapped_column(SqlText)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(CODE)
    description: Mapped[str] = mapped_column(SqlText)
    severity: Mapped[str | None] = mapped_column(CODE)
    kind: Mapped[str | None] = mapped_column(CODE)
    labels: Mapped[dict[str, str]] = mapped_column(JSON)
    url: Mapped[str | None] = mapped_column(SqlText)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    metrics: Mapped[dict[str, float]] = mapped_column(JSON)
    incident: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.number", ondelete="SET NULL"), index=True
    )
    fingerprint: Mapped[str | None] = mapped_column(SqlText)
    delivery: Mapped[int | None] = mapped_column(
        ForeignKey("deliveries.id", ondelete="SET NULL"), index=True
    )
    told: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    """False while the alert waits for its incident's next digest."""


Index("ix_alerts_untold", AlertRow.incident, postgresql_where=AlertRow.told.is_(False),
      sqlite_where=AlertRow.told.is_(False))


class DigestRow(Base):
    """Each alert-opened incident's digest window: it began at its last digest (or its
    opening). Stored, so replicas and restarts keep to one digest per window."""

    __tablename__ = "digests"

    incident: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), primary_key=True
    )
    since: Mapped[datetime] = mapped_column(UTCDateTime())


class DeliveryRow(Base):
    """A raw alert delivery as received: the exact body, headers without secrets."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    source: Mapped[str] = mapped_column(CODE)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    webhook_id: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    headers: Mapped[dict[str, str]] = mapped_column(JSON)
    _sentinel: Mapped[int] = orm_insert_sentinel()
    """Lets a batch insert match RETURNING ids to its rows in one statement (migration 0009)."""


class MentionMinuteRow(Base):
    """Per-minute mention counts per topic; summed on write, read by spike checks and pulses."""

    __tablename__ = "mention_minutes"

    topic: Mapped[str] = mapped_column(SqlText, primary_key=True)
    minute: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer)
    negative: Mapped[int] = mapped_column(Integer)
    reach: Mapped[float] = mapped_column(Float)


class EventRow(Base):
    """The timeline: append-only, `seq` gives the order events happened in."""

    __tablename__ = "timeline_events"

    seq: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    incident: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[str] = mapped_column(CODE)
    actor: Mapped[str | None] = mapped_column(PERSON)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class NoticeRow(Base):
    """The outbox. The delivery columns (attempts, next attempt, result) are for retries;
    `queue` (see `Notice.queue`) and `priority` decide who delivers what first."""

    __tablename__ = "notices"
    __table_args__ = (Index("ix_notices_pending", "delivered_at", "id"),
                      Index("ix_notices_due", "delivered_at", "next_attempt_at"),
                      Index("ix_notices_queue", "queue", "delivered_at"))

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    incident: Mapped[int | None] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"))
    queue: Mapped[str] = mapped_column(String(255))
    priority: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    answer: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    kind: Mapped[str] = mapped_column(CODE)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    person: Mapped[str | None] = mapped_column(PERSON)
    draft: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int | None] = mapped_column(Integer)
    thread_of_draft: Mapped[bool] = mapped_column(Boolean)
    message: Mapped[str | None] = mapped_column(String(255))
    destination: Mapped[str | None] = mapped_column(CODE)
    publication: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(String(255))
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    """The identity of the process holding the lease (see `bot/chat/claimant.py`)."""


class SendRow(Base):
    """When the last messages went to a chat (epoch seconds), shared by every process that
    writes there, so a chat's sending limit holds for all of them together."""

    __tablename__ = "chat_sends"

    chat: Mapped[str] = mapped_column(String(255), primary_key=True)
    sent: Mapped[list[float]] = mapped_column(JSON)


class InboundJobRow(Base):
    """Inbound event work, stored before the platform is answered (see `InboundJob`)."""

    __tablename__ = "inbound_jobs"
    __table_args__ = (Index("ix_inbound_jobs_due", "done_at", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    platform: Mapped[str] = mapped_column(CODE)
    kind: Mapped[str] = mapped_column(CODE)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    result: Mapped[str | None] = mapped_column(String(255))
    claimed_by: Mapped[str | None] = mapped_column(String(255))


class SeenEventRow(Base):
    """An inbound event id already handled (e.g. `slack:Ev123`)."""

    __tablename__ = "seen_events"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class QuestionRow(Base):
    """A question waiting for its asker's reply (see `Question`), keyed by the message."""

    __tablename__ = "questions"

    platform: Mapped[str] = mapped_column(CODE, primary_key=True)
    chat: Mapped[str] = mapped_column(String(255), primary_key=True)
    message: Mapped[str] = mapped_column(String(255), primary_key=True)
    kind: Mapped[str] = mapped_column(CODE)
    incident: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    draft: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    person: Mapped[str] = mapped_column(PERSON)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class PersonRow(Base):
    """People a chat platform has shown us; `username_key` is the lowercased @username."""

    __tablename__ = "people"
    __table_args__ = (Index("ix_people_username", "platform", "username_key"),)

    person: Mapped[str] = mapped_column(PERSON, primary_key=True)
    platform: Mapped[str] = mapped_column(CODE)
    name: Mapped[str] = mapped_column(String(255))
    username: Mapped[str | None] = mapped_column(String(255))
    username_key: Mapped[str | None] = mapped_column(String(255))


class SignInLinkRow(Base):
    """A sign-in link: the SHA-256 of its token (the token itself is never stored), whom it
    signs in, until when, and when it was used (once)."""

    __tablename__ = "sign_in_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(PERSON)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class ConsoleKeyRow(Base):
    """Keys the console generates once and keeps across restarts (the cookie-signing key)."""

    __tablename__ = "console_keys"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))


class PublicationRow(Base):
    """A published statement: the exact text, its SHA-256, and where each delivery landed."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("incident", "draft", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident: Mapped[int] = mapped_column(ForeignKey("incidents.number", ondelete="CASCADE"))
    draft: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(SqlText)
    sha256: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(CODE)
    destinations: Mapped[list[str]] = mapped_column(JSON)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_by: Mapped[str] = mapped_column(PERSON)
    title: Mapped[str | None] = mapped_column(SqlText)
    replaces: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    links: Mapped[dict[str, str]] = mapped_column(JSON)
    messages: Mapped[dict[str, str]] = mapped_column(JSON)


class CounterRow(Base):
    """Named sequences that must not skip or repeat (incident numbers are public)."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(CODE, primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class TaskRow(Base):
    """One checklist item; the title keeps every language the playbook gave."""

    __tablename__ = "incident_tasks"

    incident: Mapped[int] = mapped_column(
        ForeignKey("incidents.number", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(64))
    title: Mapped[dict[str, str]] = mapped_column(JSON)
    assignee: Mapped[str | None] = mapped_column(PERSON)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    done_by: Mapped[str | None] = mapped_column(PERSON)


class ChatSpaceRow(Base):
    """A space of the built-in chat (see `bot.core.rooms`)."""

    __tablename__ = "chat_spaces"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime())
    direct: Mapped[bool] = mapped_column(Boolean)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)


class ChatMemberRow(Base):
    __tablename__ = "chat_members"

    space: Mapped[str] = mapped_column(
        ForeignKey("chat_spaces.name", ondelete="CASCADE"), primary_key=True
    )
    person: Mapped[str] = mapped_column(PERSON, primary_key=True)
    joined: Mapped[int] = mapped_column(BIG_ID)
    """Order of joining (the space's next number when added)."""


class ChatMessageRow(Base):
    __tablename__ = "chat_messages"

    id: Mapped[int] = mapped_column(BIG_ID, primary_key=True)
    space: Mapped[str] = mapped_column(
        ForeignKey("chat_spaces.name", ondelete="CASCADE"), index=True
    )
    author: Mapped[str] = mapped_column(PERSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    text: Mapped[str] = mapped_column(SqlText)
    thread: Mapped[str | None] = mapped_column(String(32))
    draft: Mapped[int | None] = mapped_column(Integer)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    edits: Mapped[int] = mapped_column(Integer, default=0)


class ChatReactionRow(Base):
    __tablename__ = "chat_reactions"

    message: Mapped[int] = mapped_column(
        ForeignKey("chat_messages.id", ondelete="CASCADE"), primary_key=True
    )
    person: Mapped[str] = mapped_column(PERSON, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


# -- Text <-> JSON ---------------------------------------------------------------------------
# A notice's text is rendered at delivery, maybe in another process after a restart, so its
# parameters must come back exactly: people stay `Who` (a mention), lists stay `Joined`.


def encode_text(text: Text) -> dict[str, Any]:
    return {"msgid": text.msgid, "params": {k: _encode(v) for k, v in text.params.items()},
            "plural": text.plural, "count": text.count}


def decode_text(data: Mapping[str, Any]) -> Text:
    return Text(data["msgid"], {k: _decode(v) for k, v in data["params"].items()},
                plural=data["plural"], count=data["count"])


def _encode(value: Any) -> Any:
    """Scalars as themselves, the text types as one-key tagged objects; anything else is
    refused now rather than silently stringified."""
    match value:
        case Text():
            return {"$text": encode_text(value)}
        case Who():
            return {"$who": value.person}
        case Prefixed():
            return {"$prefixed": [value[0], _encode(value[1])]}
        case Joined():
            return {"$joined": [_encode(v) for v in value]}
        case Lines():
            return {"$lines": [_encode(v) for v in value]}
        case Either():
            return {"$either": [_encode(v) for v in value]}
        case Localized():
            return {"$localized": dict(value.texts)}
        case RoleName():
            return {"$role": [value.id, value.capital]}
        case Percent():
            return {"$percent": [value.value, value.signed]}
        case datetime():
            return {"$datetime": value.isoformat()}
        case time():
            return {"$time": value.isoformat()}
        case timedelta():
            return {"$seconds": value.total_seconds()}
        case str():
            return str(value)
        case None | bool() | int() | float():
            return value
    raise TypeError(f"cannot store a {type(value).__name__} in a message parameter")


def _decode(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    [(tag, body)] = value.items()
    match tag:
        case "$text":
            return decode_text(body)
        case "$who":
            return Who(body)
        case "$prefixed":
            return Prefixed(body[0], _decode(body[1]))
        case "$joined":
            return Joined(_decode(v) for v in body)
        case "$lines":
            return Lines(_decode(v) for v in body)
        case "$localized":
            return Localized.of(body)
        case "$either":
            return Either(_decode(v) for v in body)
        case "$role":
            return role_name(body[0], capital=body[1])
        case "$percent":
            return Percent(body[0], signed=body[1])
        case "$datetime":
            return datetime.fromisoformat(body)
        case "$time":
            return time.fromisoformat(body)
        case "$seconds":
            return timedelta(seconds=body)
    raise ValueError(f"unknown message parameter tag {tag!r}")


# -- rows <-> core ---------------------------------------------------------------------------


def _fill_incident(row: IncidentRow, incident: Incident) -> None:
    space = incident.space
    row.title = incident.title
    row.kind = incident.kind.value
    row.severity = incident.severity.value
    row.status = incident.status.value
    row.created_at = incident.created_at
    row.created_by = incident.created_by
    row.acknowledged_at = incident.acknowledged_at
    row.resolved_at = incident.resolved_at
    row.platform = incident.platform
    row.space_platform = space.platform if space else None
    row.space_channel = space.channel if space else None
    row.space_thread = space.thread if space else None
    row.summary_message = incident.summary_message
    row.summary_pinned = incident.summary_pinned
    row.group_key = incident.group_key
    row.language = incident.language
    row.drill = incident.drill
    row.publish_to = None if incident.publish_to is None else list(incident.publish_to)


def _role_rows(incident: Incident) -> list[RoleRow]:
    pairs = [(role, person) for role, people in incident.roles.items() for person in people]
    return [RoleRow(position=i, role=role, person=person) for i, (role, person) in
            enumerate(pairs)]


def _incident(row: IncidentRow) -> Incident:
    roles: dict[str, list[str]] = {}
    for role in row.roles:
        roles.setdefault(role.role, []).append(role.person)
    space = None
    if row.space_platform is not None and row.space_channel is not None:
        space = Space(row.space_platform, row.space_channel, row.space_thread)
    return Incident(
        number=row.number, title=row.title, kind=CrisisKind(row.kind),
        severity=Severity(row.severity), status=Status(row.status), created_at=row.created_at,
        created_by=row.created_by, acknowledged_at=row.acknowledged_at,
        resolved_at=row.resolved_at, roles=roles, platform=row.platform, space=space,
        summary_message=row.summary_message, summary_pinned=bool(row.summary_pinned),
        group_key=row.group_key, language=row.language,
        drill=row.drill,
        publish_to=None if row.publish_to is None else tuple(row.publish_to),
    )


def _version_row(version: DraftVersion) -> VersionRow:
    return VersionRow(number=version.number, text=version.text, author=version.author,
                      created_at=version.created_at, message=version.message,
                      published_at=version.published_at)


def _decision_row(decision: Decision) -> DecisionRow:
    return DecisionRow(version=decision.version, person=decision.person,
                       approve=decision.approve, at=decision.at, step=decision.step,
                       role=decision.role, reason=decision.reason)


def _draft(row: DraftRow) -> Draft:
    return Draft(
        incident=row.incident, number=row.number, author=row.author, created_at=row.created_at,
        versions=[DraftVersion(v.number, v.text, v.author, v.created_at, v.message,
                               v.published_at)
                  for v in row.versions],
        target=row.target, state=DraftState(row.state),
        decisions=[Decision(d.version, d.person, d.approve, d.at, d.step, d.role, d.reason)
                   for d in row.decisions],
    )


def _alert(row: AlertRow) -> Alert:
    return Alert(
        source=row.source, dedup_key=row.dedup_key, group_key=row.group_key, title=row.title,
        received_at=row.received_at, status=AlertStatus(row.status),
        description=row.description,
        severity=Severity(row.severity) if row.severity else None,
        kind=CrisisKind(row.kind) if row.kind else None, labels=row.labels, url=row.url,
        occurred_at=row.occurred_at, metrics=row.metrics, incident=row.incident, id=row.id,
        fingerprint=row.fingerprint, delivery=row.delivery,
    )


def _notice(row: NoticeRow) -> Notice:
    return Notice(
        incident=row.incident, kind=NoticeKind(row.kind), created_at=row.created_at,
        text=decode_text(row.text) if row.text is not None else None, person=row.person,
        draft=row.draft, version=row.version, thread_of_draft=row.thread_of_draft,
        message=row.message, destination=row.destination, publication=row.publication,
        id=row.id, attempts=row.attempts,
        answer=_answer(row.answer) if row.answer is not None else None,
    )


def _answer_json(answer: Answer) -> dict[str, Any]:
    return {"platform": answer.platform, "chat": answer.chat,
            "lines": [encode_text(line) for line in answer.lines], "thread": answer.thread,
            "reply_to": answer.reply_to, "language": answer.language, "ask": answer.ask}


def _answer(data: Mapping[str, Any]) -> Answer:
    return Answer(data["platform"], data["chat"], tuple(map(decode_text, data["lines"])),
                  thread=data["thread"], reply_to=data["reply_to"], language=data["language"],
                  ask=data["ask"])


def _publication(row: PublicationRow) -> Publication:
    return Publication(
        incident=row.incident, draft=row.draft, version=row.version, text=row.text,
        sha256=row.sha256, language=row.language, destinations=tuple(row.destinations),
        at=row.published_at, by=row.published_by, title=row.title, replaces=row.replaces,
        updated_at=row.updated_at, links=dict(row.links), messages=dict(row.messages),
        id=row.id)


def _fill_task(row: TaskRow, task: Task) -> None:
    row.role = task.role
    row.title = dict(task.title.texts)
    row.assignee = task.assignee
    row.done_at = task.done_at
    row.done_by = task.done_by


def _task(row: TaskRow) -> Task:
    return Task(row.incident, row.number, row.role, Localized.of(row.title), row.assignee,
                row.done_at, row.done_by)


# The alert intake's statements, built once and on the tables rather than the mapped classes:
# in a storm the ORM's statement handling cost more than the statements themselves.
_ALERTS = Base.metadata.tables["alerts"]
_DELIVERIES = Base.metadata.tables["deliveries"]
_INCIDENTS = Base.metadata.tables["incidents"]
ALERTS_SEEN = select(_ALERTS.c.dedup_key).where(
    _ALERTS.c.dedup_key.in_(bindparam("keys", expanding=True)))
OPEN_BY_GROUP = (
    select(_INCIDENTS.c.group_key, func.min(_INCIDENTS.c.number))
    .where(_INCIDENTS.c.group_key.in_(bindparam("keys", expanding=True)),
           _INCIDENTS.c.status != Status.RESOLVED.value)
    .group_by(_INCIDENTS.c.group_key)
)
GROUP_LOCKS = 0x67726F75
"""The first key of the transaction advisory locks on group keys ("grou"): its own key space,
apart from the leader's one-number lock."""
LOCK_GROUPS = text(
    "SELECT count(pg_advisory_xact_lock(:space, h)) FROM "
    "(SELECT DISTINCT hashtext(k) AS h FROM unnest(CAST(:keys AS text[])) AS k ORDER BY h) AS g"
)
"""In one order (by hash), so two units locking overlapping groups never deadlock."""
UNTOLD = _ALERTS.c.told.is_(False)
ADD_ALERTS = {
    dialect: insert(_ALERTS).on_conflict_do_nothing(index_elements=[_ALERTS.c.dedup_key])
    .returning(_ALERTS.c.id)
    for dialect, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}
ADD_DELIVERIES = sa_insert(_DELIVERIES).returning(_DELIVERIES.c.id, sort_by_parameter_order=True)

# On PostgreSQL the batch statements take arrays, so their text is the same whatever the batch
# size: asyncpg prepares each once per connection (a multi-row VALUES or an expanding IN list
# is new SQL for every size, and each new text costs a round trip to prepare it).
PG_LOOK_UP_BATCH = text(
    "SELECT true, dedup_key, NULL::integer FROM alerts "
    "WHERE dedup_key = ANY(CAST(:keys AS text[])) "
    "UNION ALL "
    "SELECT false, group_key, min(number) FROM incidents "
    "WHERE group_key = ANY(CAST(:groups AS text[])) AND status <> :resolved GROUP BY group_key"
)
PG_ADD_DELIVERIES = text(
    "INSERT INTO deliveries (source, received_at, webhook_id, body, headers, _sentinel) "
    "SELECT s, r, w, b, CAST(h AS json), n FROM unnest("
    "CAST(:source AS text[]), CAST(:received_at AS timestamptz[]), CAST(:webhook_id AS text[]),"
    " CAST(:body AS bytea[]), CAST(:headers AS text[]), CAST(:n AS integer[])"
    ") AS d(s, r, w, b, h, n) ORDER BY n RETURNING id, _sentinel"
)
_ALERT_ARRAYS = {
    "source": "text", "dedup_key": "text", "group_key": "text", "title": "text",
    "received_at": "timestamptz", "status": "text", "description": "text", "severity": "text",
    "kind": "text", "labels": "json", "url": "text", "occurred_at": "timestamptz",
    "metrics": "json", "incident": "integer", "fingerprint": "text", "delivery": "bigint",
    "told": "boolean",
}
"""The columns of `PG_ADD_ALERTS`, in its order, and how each is sent."""
PG_ADD_ALERTS = text(
    "INSERT INTO alerts (source, dedup_key, group_key, title, received_at, status, description,"
    " severity, kind, labels, url, occurred_at, metrics, incident, fingerprint, delivery, told)"
    " SELECT source, dedup_key, group_key, title, received_at, status, description, severity,"
    " kind, CAST(labels AS json), url, occurred_at, CAST(metrics AS json), incident,"
    " fingerprint, delivery, told FROM unnest(CAST(:source AS text[]),"
    " CAST(:dedup_key AS text[]), CAST(:group_key AS text[]), CAST(:title AS text[]),"
    " CAST(:received_at AS timestamptz[]), CAST(:status AS text[]),"
    " CAST(:description AS text[]), CAST(:severity AS text[]), CAST(:kind AS text[]),"
    " CAST(:labels AS text[]), CAST(:url AS text[]), CAST(:occurred_at AS timestamptz[]),"
    " CAST(:metrics AS text[]), CAST(:incident AS integer[]), CAST(:fingerprint AS text[]),"
    " CAST(:delivery AS bigint[]), CAST(:told AS boolean[]))"
    " AS a(source, dedup_key, group_key, title, received_at, status, description, severity,"
    " kind, labels, url, occurred_at, metrics, incident, fingerprint, delivery, told)"
    " ORDER BY dedup_key ON CONFLICT (dedup_key) DO NOTHING RETURNING id"
)
"""Rows in dedup key order, so two units inserting the same keys wait on each other in one
order."""


def _utc(value: datetime | None) -> datetime | None:
    """What `UTCDateTime` does to a bound value, for the array statements that bypass it."""
    if value is not None and value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}; crisisbot stores aware UTC times")
    return value


def _columns(rows: Sequence[Mapping[str, Any]], types: Mapping[str, str]) -> dict[str, list[Any]]:
    """Rows as one array per column (JSON columns as JSON text), for the `unnest` statements."""
    encode = {"timestamptz": _utc, "json": _json_dumps}
    columns: dict[str, list[Any]] = {}
    for name, kind in types.items():
        values = [row[name] for row in rows]
        columns[name] = list(map(encode[kind], values)) if kind in encode else values
    return columns


# -- the unit of work ------------------------------------------------------------------------


class SqlUnit:
    """One session in one transaction. Every write is flushed at once, so a broken constraint
    raises at the call that broke it (as the memory store's checks do), not at commit."""

    def __init__(self, session: AsyncSession | _Blocking, dialect: str) -> None:
        self._s = session
        self._dialect = dialect

    @property
    def session(self) -> AsyncSession | _Blocking:
        """For the store's sibling repositories (e.g. `storage/console.py`), in this unit."""
        return self._s

    async def next_incident_number(self) -> int:
        """An upsert that increments in place: the row lock serializes concurrent units on
        PostgreSQL, SQLite's single writer does the same, and a rollback gives the number back."""
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(CounterRow).values(name=INCIDENT_COUNTER, value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=[CounterRow.name], set_={"value": CounterRow.value + 1}
        )
        value: int = (await self._s.execute(stmt.returning(CounterRow.value))).scalar_one()
        return value

    async def add_incident(self, incident: Incident) -> None:
        row = IncidentRow(number=incident.number, roles=_role_rows(incident))
        _fill_incident(row, incident)
        self._s.add(row)
        await self._s.flush()

    async def get_incident(self, number: int) -> Incident | None:
        # Row lock on PostgreSQL (ignored by SQLite, whose units are serialized already), so
        # two units changing one incident cannot both write from a stale read.
        row = await self._s.get(IncidentRow, number, with_for_update=True)
        return _incident(row) if row else None

    async def update_incident(self, incident: Incident) -> None:
        row = await self._s.get(IncidentRow, incident.number)
        if row is None:
            raise LookupError(f"no incident {incident.number} to update")
        _fill_incident(row, incident)
        wanted = _role_rows(incident)
        key = [(r.role, r.person) for r in wanted]
        if [(r.role, r.person) for r in row.roles] != key:
            # Delete first: rewriting rows in place could collide on (incident, role, person).
            row.roles.clear()
            await self._s.flush()
            row.roles.extend(wanted)
        await self._s.flush()

    async def incident_by_space(self, platform: str, channel: str) -> Incident | None:
        row = await self._s.scalar(
            select(IncidentRow)
            .where(IncidentRow.space_platform == platform, IncidentRow.space_channel == channel)
            .order_by(IncidentRow.number).limit(1)
        )
        return _incident(row) if row else None

    async def open_incidents_by_group(self, group_keys: Collection[str]) -> dict[str, int]:
        """On PostgreSQL the groups found without an open incident are locked (transaction
        advisory locks), then looked up again: a unit that opened one meanwhile has committed
        by the time the lock is ours. A group with an open incident (a storm's usual case)
        takes no lock, so replicas attaching alerts to it never wait on each other."""
        found = await self._open_by_group(group_keys)
        missing = sorted(set(group_keys) - found.keys())
        if missing and self._dialect == "postgresql":
            await self._s.execute(LOCK_GROUPS, {"space": GROUP_LOCKS, "keys": missing})
            found |= await self._open_by_group(missing)
        return found

    async def _open_by_group(self, group_keys: Collection[str]) -> dict[str, int]:
        if not group_keys:
            return {}
        rows = await self._s.execute(OPEN_BY_GROUP, {"keys": list(group_keys)})
        return {key: number for key, number in rows if key is not None}

    async def incidents(self, *, open_only: bool = False) -> list[Incident]:
        stmt = select(IncidentRow).order_by(IncidentRow.number)
        if open_only:
            stmt = stmt.where(IncidentRow.status != Status.RESOLVED.value)
        return [_incident(row) for row in await self._s.scalars(stmt)]

    async def add_draft(self, draft: Draft) -> None:
        row = DraftRow(incident=draft.incident, number=draft.number, author=draft.author,
                       created_at=draft.created_at, target=draft.target,
                       state=draft.state.value,
                       versions=[_version_row(v) for v in draft.versions], decisions=[])
        self._s.add(row)
        await self._s.flush()  # versions before the decisions that reference them
        row.decisions.extend(_decision_row(d) for d in draft.decisions)
        await self._s.flush()

    async def update_draft(self, draft: Draft) -> None:
        """Versions and decisions are history: new ones are added, a version's message id may
        be set, nothing is removed, and a decision already stored is not stored twice."""
        row = await self._draft_row(draft.incident, draft.number)
        if row is None:
            raise LookupError(f"no draft {draft.incident}/{draft.number} to update")
        row.target = draft.target
        row.state = draft.state.value
        stored = {v.number: v for v in row.versions}
        for version in draft.versions:
            if version.number in stored:
                stored[version.number].message = version.message
                stored[version.number].published_at = version.published_at
            else:
                row.versions.append(_version_row(version))
        await self._s.flush()  # versions before the decisions that reference them
        decided = {(d.version, d.person) for d in row.decisions}
        row.decisions.extend(_decision_row(d) for d in draft.decisions
                             if (d.version, d.person) not in decided)
        await self._s.flush()

    async def get_draft(self, incident: int, number: int) -> Draft | None:
        row = await self._draft_row(incident, number)
        return _draft(row) if row else None

    async def drafts(self, incident: int) -> list[Draft]:
        rows = await self._s.scalars(
            select(DraftRow).where(DraftRow.incident == incident).order_by(DraftRow.number)
        )
        return [_draft(row) for row in rows]

    async def _draft_row(self, incident: int, number: int) -> DraftRow | None:
        row: DraftRow | None = await self._s.scalar(
            select(DraftRow).where(DraftRow.incident == incident, DraftRow.number == number)
        )
        return row

    async def alerts_seen(self, dedup_keys: Collection[str]) -> set[str]:
        if not dedup_keys:
            return set()
        found = await self._s.scalars(ALERTS_SEEN, {"keys": list(dedup_keys)})
        return set(found)

    async def look_up_batch(self, dedup_keys: Collection[str],
                            group_keys: Collection[str]) -> tuple[set[str], dict[str, int]]:
        if self._dialect != "postgresql":  # no round trips to save
            return await self.alerts_seen(dedup_keys), await self._open_by_group(group_keys)
        rows = await self._s.execute(PG_LOOK_UP_BATCH, {
            "keys": list(dedup_keys), "groups": list(group_keys),
            "resolved": Status.RESOLVED.value})
        seen: set[str] = set()
        groups: dict[str, int] = {}
        for is_alert, key, number in rows:
            if is_alert:
                seen.add(key)
            else:
                groups[key] = number
        return seen, groups

    async def add_alerts(self, alerts: Sequence[Alert], *,
                         untold: Collection[str] = ()) -> int:
        """One multi-row INSERT for the whole batch: a storm costs one statement, not one ORM
        flush per alert. `ON CONFLICT DO NOTHING` on the dedup key: a unit that stored the same
        alert first (another replica) wins and this one counts fewer rows; rows go in dedup key
        order, so two units inserting the same keys wait on each other in one order."""
        if not alerts:
            return 0
        ordered = sorted(alerts, key=lambda a: a.dedup_key)
        rows = [
            {
                "source": a.source, "dedup_key": a.dedup_key, "group_key": a.group_key,
                "title": a.title, "received_at": a.received_at, "status": a.status.value,
                "description": a.description,
                "severity": a.severity.value if a.severity else None,
                "kind": a.kind.value if a.kind else None, "labels": dict(a.labels),
                "url": a.url, "occurred_at": a.occurred_at, "metrics": dict(a.metrics),
                "incident": a.incident, "fingerprint": a.fingerprint, "delivery": a.delivery,
                "told": a.dedup_key not in untold,
            }
            for a in ordered
        ]
        postgres = self._dialect == "postgresql"
        result = await self._s.execute(
            PG_ADD_ALERTS if postgres else ADD_ALERTS[self._dialect],
            _columns(rows, _ALERT_ARRAYS) if postgres else rows)
        return len(result.all())

    async def digest_windows(self, incidents: Collection[int]) -> dict[int, datetime]:
        rows = await self._s.execute(select(DigestRow.incident, DigestRow.since)
                                     .where(DigestRow.incident.in_(list(incidents))))
        return {number: since for number, since in rows}

    async def start_digest(self, incident: int, at: datetime) -> None:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        await self._s.execute(insert(DigestRow).values(incident=incident, since=at)
                              .on_conflict_do_nothing(index_elements=[DigestRow.incident]))

    async def claim_digest(self, incident: int, since: datetime, at: datetime) -> bool:
        """A compare-and-set: a concurrent claimer waits for this row's lock, then finds the
        window moved and updates nothing."""
        moved = await self._s.execute(
            update(DigestRow).where(DigestRow.incident == incident, DigestRow.since == since)
            .values(since=at).returning(DigestRow.incident))
        return moved.first() is not None

    async def tell_untold(self, incident: int) -> list[str]:
        rows = await self._s.execute(
            update(_ALERTS).where(_ALERTS.c.incident == incident, UNTOLD).values(told=True)
            .returning(_ALERTS.c.fingerprint, _ALERTS.c.dedup_key))
        return [fingerprint or dedup_key for fingerprint, dedup_key in rows]

    async def untold_incidents(self) -> list[int]:
        rows = await self._s.scalars(select(_ALERTS.c.incident).where(UNTOLD).distinct())
        return sorted(number for number in rows if number is not None)

    async def add_deliveries(self, deliveries: Sequence[RawDelivery]) -> list[int]:
        """One multi-row INSERT ... RETURNING for the batch, ids in the given order."""
        if not deliveries:
            return []
        if self._dialect == "postgresql":
            numbered = await self._s.execute(PG_ADD_DELIVERIES, {
                "source": [d.source for d in deliveries],
                "received_at": [_utc(d.received_at) for d in deliveries],
                "webhook_id": [d.webhook_id for d in deliveries],
                "body": [d.body for d in deliveries],
                "headers": [_json_dumps(dict(d.headers)) for d in deliveries],
                "n": list(range(len(deliveries)))})
            return [number for number, _n in sorted(numbered, key=lambda row: row[1])]
        ids = await self._s.execute(ADD_DELIVERIES, [
            {"source": d.source, "received_at": d.received_at, "webhook_id": d.webhook_id,
             "body": d.body, "headers": dict(d.headers)}
            for d in deliveries
        ])
        return list(ids.scalars())

    async def deliveries(self) -> list[RawDelivery]:
        rows = await self._s.scalars(select(DeliveryRow).order_by(DeliveryRow.id))
        return [RawDelivery(r.source, r.received_at, r.body, r.headers,
                            webhook_id=r.webhook_id, id=r.id) for r in rows]

    async def add_mentions(self, minutes: Sequence[MentionMinute]) -> None:
        """Upsert that sums into existing minutes (both dialects speak ON CONFLICT)."""
        if not minutes:
            return
        rows = [{"topic": m.topic, "minute": m.minute, "mentions": m.mentions,
                 "negative": m.negative, "reach": m.reach}
                for m in sorted(minutes, key=lambda m: (m.topic, m.minute))]  # one lock order
        upsert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = upsert(MentionMinuteRow).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=[MentionMinuteRow.topic, MentionMinuteRow.minute],
            set_={
                "mentions": MentionMinuteRow.mentions + stmt.excluded.mentions,
                "negative": MentionMinuteRow.negative + stmt.excluded.negative,
                "reach": MentionMinuteRow.reach + stmt.excluded.reach,
            },
        )
        await self._s.execute(stmt)

    async def mentions(self, topic: str, since: datetime) -> list[MentionMinute]:
        rows = await self._s.scalars(
            select(MentionMinuteRow)
            .where(MentionMinuteRow.topic == topic, MentionMinuteRow.minute >= since)
            .order_by(MentionMinuteRow.minute)
        )
        return [MentionMinute(r.topic, r.minute, r.mentions, r.negative, r.reach) for r in rows]

    async def alerts(self, incident: int) -> list[Alert]:
        rows = await self._s.scalars(
            select(AlertRow).where(AlertRow.incident == incident).order_by(AlertRow.id)
        )
        return [_alert(row) for row in rows]

    async def append(self, event: TimelineEvent) -> None:
        self._s.add(EventRow(incident=event.incident, at=event.at, kind=event.kind.value,
                             actor=event.actor, data=dict(event.data)))
        await self._s.flush()

    async def timeline(self, incident: int) -> list[TimelineEvent]:
        rows = await self._s.scalars(
            select(EventRow).where(EventRow.incident == incident).order_by(EventRow.seq)
        )
        return [TimelineEvent(row.incident, row.at, EventKind(row.kind), row.actor, row.data,
                              seq=row.seq) for row in rows]

    async def enqueue(self, notice: Notice) -> None:
        row = NoticeRow(
            incident=notice.incident, kind=notice.kind.value, created_at=notice.created_at,
            text=encode_text(notice.text) if notice.text is not None else None,
            person=notice.person, draft=notice.draft, version=notice.version,
            thread_of_draft=notice.thread_of_draft, message=notice.message,
            queue=notice.queue, priority=notice.priority,
            answer=_answer_json(notice.answer) if notice.answer is not None else None,
            destination=notice.destination, publication=notice.publication,
        )
        self._s.add(row)
        await self._s.flush()
        notice.id = row.id

    async def pending_notices(self, limit: int) -> list[Notice]:
        rows = await self._s.scalars(
            select(NoticeRow).where(NoticeRow.delivered_at.is_(None))
            .order_by(NoticeRow.id).limit(limit)
        )
        return [_notice(row) for row in rows]

    async def notice_done(self, notice_id: int, result: str | None = None) -> None:
        """Idempotent: the first delivery time and result are kept."""
        await self._s.execute(
            update(NoticeRow)
            .where(NoticeRow.id == notice_id, NoticeRow.delivered_at.is_(None))
            .values(delivered_at=datetime.now(UTC), next_attempt_at=None,
                    result=result[:255] if result else None)
        )

    async def add_task(self, task: Task) -> None:
        row = TaskRow(incident=task.incident, number=task.number)
        _fill_task(row, task)
        self._s.add(row)
        await self._s.flush()

    async def update_task(self, task: Task) -> None:
        row = await self._s.get(TaskRow, (task.incident, task.number))
        if row is None:
            raise LookupError(f"no task {task.incident}/{task.number} to update")
        _fill_task(row, task)
        await self._s.flush()

    async def tasks(self, incident: int) -> list[Task]:
        rows = await self._s.scalars(
            select(TaskRow).where(TaskRow.incident == incident).order_by(TaskRow.number)
        )
        return [_task(row) for row in rows]

    async def claim_notices(self, now: datetime, lease_until: datetime,
                            limit: int, holder: str | None = None) -> list[Notice]:
        """Urgent ones (answers) first, passing over queues held by an older notice (leased
        or waiting for its retry), so a long queue being delivered elsewhere hides no other.
        `FOR UPDATE SKIP LOCKED` on PostgreSQL: a concurrent claimer passes over rows being
        claimed here (and then sees them as older undelivered rows that hold their queue back);
        SQLite's write lock serializes claims anyway."""
        older = aliased(NoticeRow)
        held = (select(older.id)
                .where(older.queue == NoticeRow.queue, older.delivered_at.is_(None),
                       older.id < NoticeRow.id, older.next_attempt_at > now)
                .exists())
        stmt = (select(NoticeRow)
                .where(NoticeRow.delivered_at.is_(None),
                       or_(NoticeRow.next_attempt_at.is_(None),
                           NoticeRow.next_attempt_at <= now),
                       ~held)
                .order_by(NoticeRow.priority, NoticeRow.id).limit(limit))
        if self._dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await self._s.scalars(stmt))
        if not rows:
            return []
        taken = [row.id for row in rows]
        blockers = await self._s.execute(
            select(NoticeRow.queue, func.min(NoticeRow.id))
            .where(NoticeRow.delivered_at.is_(None),
                   NoticeRow.queue.in_({row.queue for row in rows}),
                   NoticeRow.id.not_in(taken))
            .group_by(NoticeRow.queue)
        )
        first_held: dict[str, int] = {queue: first for queue, first in blockers.all()}
        kept = [row for row in rows if row.id < first_held.get(row.queue, row.id + 1)]
        for row in kept:
            row.attempts += 1
            row.next_attempt_at = lease_until
            row.claimed_by = holder
        await self._s.flush()
        return [_notice(row) for row in kept]

    async def notice_holders(self, now: datetime) -> list[str]:
        holders = await self._s.scalars(
            select(NoticeRow.claimed_by).distinct()
            .where(NoticeRow.delivered_at.is_(None), NoticeRow.next_attempt_at > now,
                   NoticeRow.claimed_by.is_not(None))
        )
        return [holder for holder in holders if holder is not None]

    async def free_claims(self, holders: Sequence[str]) -> int:
        if not holders:
            return 0
        freed = await self._s.execute(
            update(NoticeRow)
            .where(NoticeRow.claimed_by.in_(list(holders)), NoticeRow.delivered_at.is_(None))
            .values(next_attempt_at=None, claimed_by=None)
        )
        return int(getattr(freed, "rowcount", 0) or 0)

    async def notice_retry(self, notice_id: int, at: datetime, result: str) -> None:
        await self._s.execute(
            update(NoticeRow).where(NoticeRow.id == notice_id)
            .values(next_attempt_at=at, result=result[:255], claimed_by=None)
        )

    async def release_notices(self, notice_ids: Sequence[int]) -> None:
        if notice_ids:
            await self._s.execute(
                update(NoticeRow)
                .where(NoticeRow.id.in_(list(notice_ids)), NoticeRow.delivered_at.is_(None))
                .values(next_attempt_at=None, attempts=NoticeRow.attempts - 1,
                        claimed_by=None)
            )

    async def extend_notices(self, notice_ids: Sequence[int], lease_until: datetime) -> None:
        if notice_ids:
            await self._s.execute(
                update(NoticeRow)
                .where(NoticeRow.id.in_(list(notice_ids)), NoticeRow.delivered_at.is_(None))
                .values(next_attempt_at=lease_until)
            )

    async def reserve_send(self, chat: str, now: float, rate: SendRate) -> float:
        """The chat's row is locked for the rest of the unit (`FOR UPDATE` on PostgreSQL,
        the write lock on SQLite), so two processes never book one slot."""
        row = await self._send_row(chat)
        slot, row.sent = book(row.sent, now, rate)
        await self._s.flush()
        return slot

    async def sent(self, chat: str, slot: float, at: float) -> None:
        row = await self._send_row(chat)
        row.sent = settle(row.sent, slot, at)
        await self._s.flush()

    async def _send_row(self, chat: str) -> SendRow:
        """The chat's row, locked (made on its first message)."""
        locked = (select(SendRow).where(SendRow.chat == chat)
                  .with_for_update().execution_options(populate_existing=True))
        row: SendRow | None = (await self._s.scalars(locked)).first()
        if row is None:
            insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
            await self._s.execute(insert(SendRow).values(chat=chat, sent=[])
                                  .on_conflict_do_nothing(index_elements=[SendRow.chat]))
            row = (await self._s.scalars(locked)).one()
        return row

    async def forget(self, before: datetime) -> int:
        forgotten = 0
        for stmt in (delete(SeenEventRow).where(SeenEventRow.seen_at < before),
                     delete(QuestionRow).where(QuestionRow.asked_at < before),
                     delete(InboundJobRow).where(InboundJobRow.done_at < before)):
            forgotten += int(getattr(await self._s.execute(stmt), "rowcount", 0))
        return forgotten

    async def ask(self, question: Question) -> None:
        row = await self._s.get(QuestionRow, (question.platform, question.chat,
                                              question.message))
        if row is None:
            row = QuestionRow(platform=question.platform, chat=question.chat,
                              message=question.message)
            self._s.add(row)
        row.kind, row.incident, row.person = question.kind, question.incident, question.person
        row.draft, row.version = question.draft, question.version
        row.asked_at = question.asked_at
        await self._s.flush()

    async def question(self, platform: str, chat: str, message: str) -> Question | None:
        row = await self._s.get(QuestionRow, (platform, chat, message))
        if row is None:
            return None
        return Question(row.platform, row.chat, row.message, row.kind, row.incident, row.draft,
                        row.version, row.person, row.asked_at)

    async def answered(self, question: Question) -> None:
        await self._s.execute(delete(QuestionRow).where(
            QuestionRow.platform == question.platform, QuestionRow.chat == question.chat,
            QuestionRow.message == question.message))

    async def add_inbound(self, job: InboundJob) -> None:
        row = InboundJobRow(platform=job.platform, kind=job.kind, payload=job.payload,
                            received_at=job.received_at, attempts=0)
        self._s.add(row)
        await self._s.flush()
        job.id = row.id

    async def claim_inbound(self, now: datetime, lease_until: datetime,
                            limit: int, holder: str | None = None) -> list[InboundJob]:
        stmt = (select(InboundJobRow)
                .where(InboundJobRow.done_at.is_(None),
                       or_(InboundJobRow.next_attempt_at.is_(None),
                           InboundJobRow.next_attempt_at <= now))
                .order_by(InboundJobRow.id).limit(limit))
        if self._dialect == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(await self._s.scalars(stmt))
        for row in rows:
            row.attempts += 1
            row.next_attempt_at = lease_until
            row.claimed_by = holder
        await self._s.flush()
        return [InboundJob(row.platform, row.kind, row.payload, row.received_at, row.id,
                           row.attempts) for row in rows]

    async def inbound_holders(self, now: datetime) -> list[str]:
        holders = await self._s.scalars(
            select(InboundJobRow.claimed_by).distinct()
            .where(InboundJobRow.done_at.is_(None), InboundJobRow.next_attempt_at > now,
                   InboundJobRow.claimed_by.is_not(None))
        )
        return [holder for holder in holders if holder is not None]

    async def free_inbound(self, holders: Sequence[str]) -> int:
        if not holders:
            return 0
        freed = await self._s.execute(
            update(InboundJobRow)
            .where(InboundJobRow.claimed_by.in_(list(holders)), InboundJobRow.done_at.is_(None))
            .values(next_attempt_at=None, claimed_by=None)
        )
        return int(getattr(freed, "rowcount", 0) or 0)

    async def inbound_done(self, job_id: int, at: datetime, result: str | None = None) -> None:
        await self._s.execute(update(InboundJobRow).where(InboundJobRow.id == job_id)
                              .values(done_at=at, result=result[:255] if result else None,
                                      claimed_by=None))

    async def inbound_retry(self, job_id: int, at: datetime, result: str) -> None:
        await self._s.execute(update(InboundJobRow).where(InboundJobRow.id == job_id)
                              .values(next_attempt_at=at, result=result[:255], claimed_by=None))

    async def first_sight(self, key: str, at: datetime) -> bool:
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(SeenEventRow).values(key=key[:255], seen_at=at)
        stmt = stmt.on_conflict_do_nothing(index_elements=[SeenEventRow.key])
        added = await self._s.execute(stmt.returning(SeenEventRow.key))
        return added.first() is not None

    async def probe_write(self, at: datetime) -> None:
        """Rewrite one row (the health probe's): proof that a write commits."""
        insert = postgresql.insert if self._dialect == "postgresql" else sqlite.insert
        stmt = insert(SeenEventRow).values(key=HEALTH_PROBE_KEY, seen_at=at)
        await self._s.execute(stmt.on_conflict_do_update(index_elements=[SeenEventRow.key],
                                                         set_={"seen_at": at}))

    async def remember_person(self, person: KnownPerson) -> None:
        row = await self._s.get(PersonRow, person.person)
        if row is None:
            row = PersonRow(person=person.person, platform=person.person.split(":", 1)[0])
            self._s.add(row)
        row.name = person.name[:255]
        row.username = person.username
        row.username_key = person.username.lower() if person.username else None
        await self._s.flush()

    async def person_by_username(self, platform: str, username: str) -> PersonId | None:
        found: str | None = await self._s.scalar(
            select(PersonRow.person)
            .where(PersonRow.platform == platform, PersonRow.username_key == username.lower())
            .limit(1)
        )
        return found

    async def known_people(self, platform: str) -> list[KnownPerson]:
        rows = await self._s.scalars(select(PersonRow).where(PersonRow.platform == platform))
        return [KnownPerson(row.person, row.name, row.username) for row in rows]

    async def add_publication(self, publication: Publication) -> None:
        p = publication
        row = PublicationRow(
            incident=p.incident, draft=p.draft, version=p.version, text=p.text,
            sha256=p.sha256, language=p.language, destinations=list(p.destinations),
            published_at=p.at, published_by=p.by, title=p.title, replaces=p.replaces,
            updated_at=p.updated_at, links=dict(p.links), messages=dict(p.messages))
        self._s.add(row)
        await self._s.flush()
        publication.id = row.id

    async def update_publication(self, publication: Publication) -> None:
        row = await self._s.get(PublicationRow, publication.id, with_for_update=True)
        if row is None:
            raise LookupError(f"no publication {publication.id} to update")
        row.updated_at = publication.updated_at
        row.links = dict(publication.links)
        row.messages = dict(publication.messages)
        await self._s.flush()

    async def get_publication(self, publication_id: int) -> Publication | None:
        row = await self._s.get(PublicationRow, publication_id)
        return _publication(row) if row else None

    async def publications(self, incident: int | None = None) -> list[Publication]:
        stmt = select(PublicationRow).order_by(PublicationRow.id)
        if incident is not None:
            stmt = stmt.where(PublicationRow.incident == incident)
        return [_publication(row) for row in await self._s.scalars(stmt)]


# -- the store -------------------------------------------------------------------------------


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    """WAL lets readers work beside the writer; SQLite leaves foreign keys off unless asked.
    The driver's own transaction handling is switched off so `_sqlite_begin` can take over."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    """Take the write lock when a unit starts: units run one at a time (see `_write_lock`) and
    read-then-write never fails on, or overwrites, a snapshot gone stale."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


async def _write_lock(session: Session) -> None:
    """Begin the unit (`BEGIN IMMEDIATE`, see `_sqlite_begin`), waiting in short sleeps while
    another process holds SQLite's write lock, so the event loop goes on serving meanwhile."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LOCK_WAIT_S
    pause = 0.002
    while True:
        try:
            session.connection()
            return
        except OperationalError as error:
            if "locked" not in str(error).lower() or loop.time() > deadline:
                raise
            session.rollback()
        await asyncio.sleep(pause)
        pause = min(pause * 2, 0.05)


class _Blocking:
    """The part of `AsyncSession` that `SqlUnit` uses, over a plain `Session` on SQLite.

    SQLite answers in microseconds from the calling thread, while every statement through an
    async driver costs several hops to a worker thread and back through a busy event loop (in
    an alert storm most of a commit's time went to those hops). So on SQLite a unit runs its
    statements on the loop's own thread, one unit at a time (`SqlStore` holds a lock)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    def add(self, row: Any) -> None:
        self._s.add(row)

    async def flush(self) -> None:
        self._s.flush()

    async def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.execute(*args, **kwargs)

    async def scalar(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.scalar(*args, **kwargs)

    async def scalars(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.scalars(*args, **kwargs)

    async def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._s.get(*args, **kwargs)

    @asynccontextmanager
    async def begin_nested(self) -> AsyncIterator[None]:
        with self._s.begin_nested():
            yield


class SqlStore:
    """The durable Store: one engine per instance, one session and transaction per unit.

    PostgreSQL goes through asyncpg. SQLite is reached with the standard `sqlite3` driver on
    the calling (event loop) thread, one unit at a time (see `_Blocking`): a unit holds the
    write lock for well under a millisecond per statement, and the loop never waits on a
    thread hop. Only the commit, where SQLite waits for the disk (`fsync`, several
    milliseconds), goes to a worker thread while the unit still holds the lock: the loop goes
    on parsing and answering other requests meanwhile (sixteen Telegram commands at once each
    waited for all the others' commits before; see docs/benchmarks.md). A unit opened inside
    another on the same task joins it as a savepoint (`bot.storage.nesting`); the memory store
    does the same."""

    def __init__(self, url: str = DEFAULT_URL) -> None:
        parsed = make_url(url)
        self._dialect = parsed.get_backend_name()
        if self._dialect not in {"sqlite", "postgresql"}:
            raise ValueError(f"unsupported database {self._dialect!r}: use SQLite or PostgreSQL")
        self._lock = asyncio.Lock()
        self._open: OpenUnit[AsyncSession | _Blocking] = OpenUnit()
        self._sqlite: Engine | None = None
        self._blocking: sessionmaker[Session] | None = None
        if self._dialect == "sqlite":
            self._sqlite = _sqlite_engine(parsed)
            self._blocking = sessionmaker(self._sqlite, expire_on_commit=False)
            return
        self._engine: AsyncEngine = create_async_engine(
            url, connect_args={"server_settings": {"plan_cache_mode": "force_custom_plan"}},
            **JSON_CODEC)
        _ping_when_idle(self._engine)
        self._sessions = async_sessionmaker(self._engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self._dialect

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[SqlUnit]:
        async with self.transaction() as session:
            yield SqlUnit(session, self._dialect)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession | _Blocking]:
        """A session in a transaction that commits when the block exits cleanly."""
        outer = self._open.current()
        if outer is not None:  # joins it, as a savepoint (see `bot.storage.nesting`)
            async with outer.begin_nested():
                yield outer
            return
        if self._blocking is None:
            async with self._sessions.begin() as session:
                with self._open.opened(session):
                    yield session
            return
        async with self._lock:
            with self._blocking() as blocking:  # closing it rolls back what did not commit
                await _write_lock(blocking)
                with self._open.opened(wrapped := _Blocking(blocking)):
                    yield wrapped
                await asyncio.to_thread(blocking.commit)  # the fsync, off the loop

    async def ping(self) -> bool:
        """For /healthz: can we run a query right now? Bounded, so a black-holed database
        server makes the check fail instead of hanging it."""
        try:
            if self._blocking is not None:
                with self._blocking() as session:
                    session.execute(select(1))
                return True
            async with asyncio.timeout(PING_TIMEOUT_S), self._engine.connect() as connection:
                await connection.execute(select(1))
        except (SQLAlchemyError, OSError) as error:
            log.warning("database ping failed: %s: %s", type(error).__name__, error)
            return False
        return True

    async def writable(self) -> str | None:
        """For /healthz and `serve`'s start: can the database take a write right now? A tiny
        upsert, committed (a full disk or a read-only file shows only when something is
        written), bounded in time. None when it can; otherwise why not, in one line."""
        try:
            async with asyncio.timeout(PING_TIMEOUT_S), self.unit() as unit:
                await unit.probe_write(datetime.now(UTC))
        except (SQLAlchemyError, OSError) as error:
            reason = str(getattr(error, "orig", None) or error).splitlines()[0]
            log.warning("database write probe failed: %s", reason)
            return reason
        except TimeoutError:
            return f"no write within {PING_TIMEOUT_S:.0f} s"
        return None

    async def close(self) -> None:
        if self._sqlite is not None:
            self._sqlite.dispose()
            return
        await self._engine.dispose()


def _ping_when_idle(engine: AsyncEngine) -> None:
    """A server can drop idle connections (a local file cannot), so a connection that sat in
    the pool for `IDLE_PING_S` is pinged on checkout and replaced if dead. One used a moment
    ago is not: a ping is three round trips (SQLAlchemy's `pool_pre_ping` on asyncpg), as
    many as the rest of an alert batch's reads, and in a storm connections never sit idle."""

    def checkin(_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[IDLE_SINCE] = monotonic()

    def checkout(connection: Any, record: ConnectionPoolEntry, _proxy: Any) -> None:
        idle_since = record.info.get(IDLE_SINCE)
        if idle_since is None or monotonic() - idle_since < IDLE_PING_S:
            return
        try:
            alive = engine.dialect.do_ping(connection)
        except Exception as error:  # whatever the driver raises for a dead connection
            raise DisconnectionError(str(error)) from error
        if not alive:
            raise DisconnectionError("ping failed")

    pool = engine.sync_engine.pool
    event.listen(pool, "checkin", checkin)
    event.listen(pool, "checkout", checkout)


def _json_dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


JSON_CODEC: dict[str, Any] = {"json_serializer": _json_dumps, "json_deserializer": orjson.loads}
"""JSON columns (labels, metrics, headers, timeline data) through orjson: in an alert storm
the standard library's encoder was a tenth of the commit."""


def _sqlite_engine(url: URL) -> Engine:
    """The standard library's driver whatever the URL names (`sqlite+aiosqlite://` is the
    documented form)."""
    engine = create_engine(url.set(drivername="sqlite+pysqlite"), **JSON_CODEC)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


class SqlRooms:
    """The built-in chat's rooms in the database (see `bot.core.rooms.Rooms`), so they are
    shared by replicas and kept across restarts. Each call is a transaction of its own."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store
        self._insert = postgresql.insert if store.dialect == "postgresql" else sqlite.insert

    async def open_space(self, base: str, *, direct: bool = False) -> str:
        """`ON CONFLICT DO NOTHING` per candidate name: of two replicas opening the same name
        at once, one gets it and the other tries the next."""
        n = 1
        async with self._store.transaction() as s:
            while True:
                name = base if n == 1 else f"{base}-{n}"
                added = await s.execute(
                    self._insert(ChatSpaceRow)
                    .values(name=name, opened_at=datetime.now(UTC), direct=direct,
                            closed=False, archived=False)
                    .on_conflict_do_nothing(index_elements=[ChatSpaceRow.name])
                    .returning(ChatSpaceRow.name))
                if added.first() is not None:
                    return name
                n += 1

    async def direct_space(self, person: PersonId) -> str:
        name = direct_space_name(person)
        async with self._store.transaction() as s:
            await s.execute(
                self._insert(ChatSpaceRow)
                .values(name=name, opened_at=datetime.now(UTC), direct=True, closed=False,
                        archived=False)
                .on_conflict_do_nothing(index_elements=[ChatSpaceRow.name]))
            await s.execute(
                self._insert(ChatMemberRow).values(space=name, person=person, joined=1)
                .on_conflict_do_nothing())
        return name

    async def space(self, name: str) -> RoomSpace | None:
        async with self._store.transaction() as s:
            row = await s.get(ChatSpaceRow, name)
            return await _room_space(s, row) if row else None

    async def spaces(self) -> list[RoomSpace]:
        async with self._store.transaction() as s:
            rows = list(await s.scalars(
                select(ChatSpaceRow).order_by(ChatSpaceRow.opened_at, ChatSpaceRow.name)))
            return [await _room_space(s, row) for row in rows]

    async def add_members(self, space: str, people: Sequence[PersonId]) -> list[PersonId]:
        async with self._store.transaction() as s:
            if await s.get(ChatSpaceRow, space, with_for_update=True) is None:
                raise LookupError(f"no space {space!r}")
            members = await s.scalars(
                select(ChatMemberRow.person).where(ChatMemberRow.space == space))
            known = set(members)
            new = [p for p in dict.fromkeys(people) if p not in known]
            start = len(known)
            for i, person in enumerate(new, start=start + 1):
                s.add(ChatMemberRow(space=space, person=person, joined=i))
            await s.flush()
            return new

    async def set_state(self, space: str, *, closed: bool, archived: bool) -> None:
        async with self._store.transaction() as s:
            await s.execute(update(ChatSpaceRow).where(ChatSpaceRow.name == space)
                            .values(closed=closed, archived=archived))

    async def post(self, message: RoomMessage) -> str:
        async with self._store.transaction() as s:
            row = ChatMessageRow(space=message.space, author=message.author, at=message.at,
                                 text=message.text, thread=message.thread,
                                 draft=message.draft, pinned=message.pinned,
                                 edits=message.edits)
            s.add(row)
            await s.flush()
            return str(row.id)

    async def edit(self, space: str, message: str, text: str) -> None:
        async with self._store.transaction() as s:
            await s.execute(
                update(ChatMessageRow).where(*_the_message(space, message))
                .values(text=text, edits=ChatMessageRow.edits + 1))

    async def pin(self, space: str, message: str) -> None:
        async with self._store.transaction() as s:
            await s.execute(update(ChatMessageRow).where(*_the_message(space, message))
                            .values(pinned=True))

    async def messages(self, space: str) -> list[RoomMessage]:
        async with self._store.transaction() as s:
            rows = await s.scalars(select(ChatMessageRow).where(ChatMessageRow.space == space)
                                   .order_by(ChatMessageRow.id))
            return [_room_message(row) for row in rows]

    async def message(self, space: str, message: str) -> RoomMessage | None:
        async with self._store.transaction() as s:
            row = await s.scalar(select(ChatMessageRow).where(*_the_message(space, message)))
            return _room_message(row) if row else None

    async def react(self, reaction: Reaction) -> None:
        async with self._store.transaction() as s:
            await s.execute(
                self._insert(ChatReactionRow)
                .values(message=int(reaction.message), person=reaction.person,
                        name=reaction.name, at=reaction.at)
                .on_conflict_do_nothing())

    async def reactions(self, message: str) -> list[Reaction]:
        async with self._store.transaction() as s:
            rows = await s.scalars(select(ChatReactionRow)
                                   .where(ChatReactionRow.message == int(message))
                                   .order_by(ChatReactionRow.at))
            return [Reaction(str(r.message), r.person, r.name, r.at) for r in rows]


def _the_message(space: str, message: str) -> tuple[Any, ...]:
    number = int(message) if message.isdigit() else -1
    return ChatMessageRow.space == space, ChatMessageRow.id == number


async def _room_space(s: AsyncSession | _Blocking, row: ChatSpaceRow) -> RoomSpace:
    members = await s.scalars(select(ChatMemberRow.person)
                              .where(ChatMemberRow.space == row.name)
                              .order_by(ChatMemberRow.joined))
    return RoomSpace(row.name, row.direct, list(members), row.closed, row.archived)


def _room_message(row: ChatMessageRow) -> RoomMessage:
    return RoomMessage(row.space, row.author, row.at, row.text, row.thread, row.draft,
                       row.pinned, row.edits, str(row.id))
