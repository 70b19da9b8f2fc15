"""What the core needs from the outside world, as Protocols: a store, a chat platform, a clock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.core.models import (
    Alert,
    Draft,
    Incident,
    KnownPerson,
    MentionMinute,
    Notice,
    PersonId,
    Question,
    RawDelivery,
    Space,
    TimelineEvent,
)
from bot.core.playbooks import Task
from bot.core.text import Text

if TYPE_CHECKING:  # publication.py names `Once` from here
    from bot.core.publication import Publication


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class Unit(Protocol):
    """One transaction: everything written through it commits together or not at all."""

    async def next_incident_number(self) -> int: ...
    async def add_incident(self, incident: Incident) -> None: ...
    async def get_incident(self, number: int) -> Incident | None: ...
    async def update_incident(self, incident: Incident) -> None: ...
    async def incident_by_space(self, platform: str, channel: str) -> Incident | None: ...
    async def open_incidents_by_group(self, group_keys: Collection[str]) -> dict[str, int]:
        """The open (not resolved) incident of each of these group keys that has one: the
        oldest, should there be several."""
        ...
    async def incidents(self, *, open_only: bool = False) -> list[Incident]: ...

    async def add_draft(self, draft: Draft) -> None: ...
    async def update_draft(self, draft: Draft) -> None: ...
    async def get_draft(self, incident: int, number: int) -> Draft | None: ...
    async def drafts(self, incident: int) -> list[Draft]: ...

    async def alerts_seen(self, dedup_keys: Collection[str]) -> set[str]:
        """Which of these dedup keys are stored already."""
        ...

    async def add_alerts(self, alerts: Sequence[Alert]) -> None:
        """Store alerts (dedup keys are unique; a clash fails the unit)."""
        ...

    async def add_deliveries(self, deliveries: Sequence[RawDelivery]) -> list[int]:
        """Store raw deliveries; their new ids, in order."""
        ...

    async def deliveries(self) -> list[RawDelivery]:
        """Every stored raw delivery, oldest first."""
        ...

    async def add_mentions(self, minutes: Sequence[MentionMinute]) -> None:
        """Add counts to the per-minute series (summing into minutes already stored)."""
        ...

    async def mentions(self, topic: str, since: datetime) -> list[MentionMinute]:
        """The topic's series from `since` on, oldest first."""
        ...

    async def alerts(self, incident: int) -> list[Alert]: ...
    async def alert_identities_since(self, incident: int, since: datetime) -> list[str]:
        """The identity (fingerprint, else dedup key) of each alert of the incident received
        after `since`."""
        ...

    async def append(self, event: TimelineEvent) -> None: ...
    async def timeline(self, incident: int) -> list[TimelineEvent]: ...

    async def enqueue(self, notice: Notice) -> None: ...
    async def pending_notices(self, limit: int) -> list[Notice]:
        """Undelivered notices, oldest first."""
        ...

    async def notice_done(self, notice_id: int, result: str | None = None) -> None:
        """Mark delivered (idempotent), keeping what the platform returned (e.g. a message id)."""
        ...

    async def claim_notices(self, now: datetime, lease_until: datetime,
                            limit: int) -> list[Notice]:
        """Take up to `limit` due notices for delivery, oldest first, counting the attempt.

        Due: undelivered, not leased and not waiting for a retry (`next_attempt_at <= now`).
        A notice is taken only when every older undelivered notice of its incident is taken
        too, so an incident's order holds across processes. Taken notices are leased until
        `lease_until`; a process that dies holding them leaves them to whoever claims after.
        """
        ...

    async def notice_retry(self, notice_id: int, at: datetime, result: str) -> None:
        """Try the notice again at `at`; `result` says what went wrong."""
        ...

    async def release_notices(self, notice_ids: Sequence[int]) -> None:
        """Give back claimed notices that were not attempted (their attempt is not counted)."""
        ...

    async def forget(self, before: datetime) -> int:
        """Drop what is only kept for a while (event ids first seen, questions asked) from
        before `before`; how many rows."""
        ...

    async def ask(self, question: Question) -> None: ...
    async def question(self, platform: str, chat: str, message: str) -> Question | None:
        """The question asked with that message, until it is answered."""
        ...

    async def answered(self, question: Question) -> None: ...

    async def first_sight(self, key: str, at: datetime) -> bool:
        """Remember an inbound event id; True the first time, False for a re-delivery."""
        ...

    async def add_task(self, task: Task) -> None:
        """Store a checklist item; (incident, number) is unique."""
        ...

    async def update_task(self, task: Task) -> None: ...
    async def tasks(self, incident: int) -> list[Task]:
        """The incident's checklist, in number order."""
        ...

    async def remember_person(self, person: KnownPerson) -> None:
        """Insert or refresh what a platform showed about someone (name, username)."""
        ...

    async def person_by_username(self, platform: str, username: str) -> PersonId | None:
        """The person on `platform` last seen with `username` (case-insensitive)."""
        ...

    async def known_people(self, platform: str) -> list[KnownPerson]: ...

    async def add_publication(self, publication: Publication) -> None:
        """Store a publication and set its id."""
        ...

    async def update_publication(self, publication: Publication) -> None:
        """Store its links, message ids and `updated_at`."""
        ...

    async def get_publication(self, publication_id: int) -> Publication | None: ...
    async def publications(self, incident: int | None = None) -> list[Publication]:
        """The incident's publications (every incident's when None), oldest first."""
        ...


class Store(Protocol):
    def unit(self) -> AbstractAsyncContextManager[Unit]:
        """Begin a transaction; it commits when the block exits cleanly, else rolls back."""
        ...


@dataclass(frozen=True)
class Once:
    """The outbox notice a chat call delivers, for adapters that can avoid posting twice.

    `retry` is set when an earlier attempt may have reached the platform before the process
    could record it; the adapter then looks for what it already posted (Slack: message metadata
    carrying the notice id) before posting again.
    """

    notice: int
    retry: bool = False


class RetryLater(Exception):
    """Raised by an adapter when the platform says "not now" (rate limit, 5xx, connection
    lost): the outbox tries again after `after` seconds (e.g. Slack's `Retry-After`), or after
    its own backoff when `after` is None."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = after


class Chat(Protocol):
    """The little a chat platform must do for crisisbot; adapters translate to their API."""

    platform: str

    async def open_space(self, incident: Incident, *, once: Once | None = None) -> Space:
        """Create the incident's channel / topic and return where it lives."""
        ...

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None: ...

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        """Post a message (a draft card when `draft` is given); return its message id."""
        ...

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None: ...

    async def pin(self, space: Space, message: str) -> None: ...

    async def close_space(self, space: Space) -> None:
        """The incident is resolved: close (or archive) its channel / topic."""
        ...

    async def reopen_space(self, space: Space) -> None: ...

    async def archive_space(self, space: Space) -> None:
        """Some days after resolution (`schedule.archive_after`, off by default): archive the
        channel for good. Must succeed when it is already archived (a retried notice)."""
        ...

    async def direct(self, person: PersonId, lines: Sequence[Text], *,
                     language: str | None = None, once: Once | None = None) -> None: ...
