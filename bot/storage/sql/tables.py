"""The database tables, as SQLAlchemy 2 declarative rows: one metadata for the store, the
console and the Alembic migrations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
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
    false,
    true,
)
from sqlalchemy import Text as SqlText
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, orm_insert_sentinel, relationship

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


class ConsoleSessionRow(Base):
    """A signed-in console session: the SHA-256 of its id (the cookie carries the id), whose
    it is, and until when. Signing out deletes the row, which ends every copy of the cookie."""

    __tablename__ = "console_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    person: Mapped[str] = mapped_column(PERSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


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
