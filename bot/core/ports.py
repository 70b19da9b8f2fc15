"""What the core needs from the outside world, as Protocols: a store, a chat platform, a clock."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.core.models import (
    Alert,
    Answer,
    Draft,
    InboundJob,
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
from bot.core.sending import SendRate
from bot.core.text import Text

if TYPE_CHECKING:  # publication.py names `Once` from here
    from bot.core.publication import Publication


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SignIn(Protocol):
    """One-time sign-in links to the web console (`/crisis web`)."""

    async def issue(self, person: str, ttl: timedelta) -> str:
        """A link that signs `person` in once, within `ttl`; never logged, never stored."""
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
        oldest, should there be several.

        A group without one is held until the unit ends (PostgreSQL: a transaction advisory
        lock; SQLite and memory: units run one at a time), so of several processes taking the
        same group's first alerts at once only one opens its incident; the others wait, then
        find it."""
        ...
    async def incidents(self, *, open_only: bool = False) -> list[Incident]: ...

    async def add_draft(self, draft: Draft) -> None: ...
    async def update_draft(self, draft: Draft) -> None: ...
    async def get_draft(self, incident: int, number: int) -> Draft | None: ...
    async def drafts(self, incident: int) -> list[Draft]: ...

    async def alerts_seen(self, dedup_keys: Collection[str]) -> set[str]:
        """Which of these dedup keys are stored already."""
        ...

    async def look_up_batch(self, dedup_keys: Collection[str],
                            group_keys: Collection[str]) -> tuple[set[str], dict[str, int]]:
        """`alerts_seen` and the open incident of each group that has one, in one look (on a
        server, one round trip). Unlike `open_incidents_by_group` it holds no group."""
        ...

    async def add_alerts(self, alerts: Sequence[Alert], *,
                         untold: Collection[str] = ()) -> int:
        """Store alerts; how many were stored. An alert whose dedup key is stored already
        (another process stored it since `alerts_seen`) is skipped, not an error. Those with
        their dedup key in `untold` wait for their incident's next digest."""
        ...

    async def digest_windows(self, incidents: Collection[int]) -> dict[int, datetime]:
        """When each incident's current digest window began (its last digest, or its
        opening), for those that have one."""
        ...

    async def start_digest(self, incident: int, at: datetime) -> None:
        """Open the incident's first digest window at `at` (no change when it has one)."""
        ...

    async def claim_digest(self, incident: int, since: datetime, at: datetime) -> bool:
        """Move the incident's window from `since` to `at`; False when it no longer began at
        `since` (another unit told this window): at most one digest per window."""
        ...

    async def tell_untold(self, incident: int) -> list[str]:
        """Mark the incident's untold alerts told; their identities."""
        ...

    async def untold_incidents(self) -> list[int]:
        """Incidents with alerts a digest has yet to tell."""
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
                            limit: int, holder: str | None = None) -> list[Notice]:
        """Take up to `limit` due notices for delivery, oldest first, counting the attempt.

        Due: undelivered, not leased and not waiting for a retry (`next_attempt_at <= now`).
        A notice is taken only when every older undelivered notice of its incident is taken
        too, so an incident's order holds across processes. Taken notices are leased until
        `lease_until` and recorded as `holder`'s (the claiming process's identity); a process
        that dies holding them leaves them to whoever claims after the lease, or earlier to a
        process that finds the holder dead (`notice_holders`, `free_claims`).
        """
        ...

    async def notice_holders(self, now: datetime) -> list[str]:
        """The holders of notices claimed and still leased at `now`."""
        ...

    async def free_claims(self, holders: Sequence[str]) -> int:
        """Make what these (dead) holders had claimed due at once; return how many notices."""
        ...

    async def notice_retry(self, notice_id: int, at: datetime, result: str) -> None:
        """Try the notice again at `at`; `result` says what went wrong."""
        ...

    async def release_notices(self, notice_ids: Sequence[int]) -> None:
        """Give back claimed notices that were not attempted (their attempt is not counted)."""
        ...

    async def extend_notices(self, notice_ids: Sequence[int], lease_until: datetime) -> None:
        """Keep holding claimed notices still being delivered (a long wait for a chat's turn
        must not let another process claim them too)."""
        ...

    async def reserve_send(self, chat: str, now: float, rate: SendRate) -> float:
        """Book the next moment (epoch seconds, from `now` on) a message may go to `chat`
        under `rate`, counting what every process sharing the store has sent there."""
        ...

    async def sent(self, chat: str, slot: float, at: float) -> None:
        """The message booked for `slot` went out and was answered at `at`."""
        ...

    async def forget(self, before: datetime) -> int:
        """Drop what is only kept for a while (event ids first seen, questions asked, inbound
        jobs finished) from before `before`; how many rows."""
        ...

    async def ask(self, question: Question) -> None: ...
    async def question(self, platform: str, chat: str, message: str) -> Question | None:
        """The question asked with that message, until it is answered."""
        ...

    async def answered(self, question: Question) -> None: ...

    async def add_inbound(self, job: InboundJob) -> None:
        """Store inbound work to do (sets `job.id`)."""
        ...

    async def claim_inbound(self, now: datetime, lease_until: datetime,
                            limit: int, holder: str | None = None) -> list[InboundJob]:
        """Take up to `limit` due jobs until `lease_until` (counting the attempt), recorded as
        `holder`'s; a job whose worker died comes due again when its lease ends, or earlier
        for a process that finds the holder dead (`inbound_holders`, `free_inbound`)."""
        ...

    async def inbound_holders(self, now: datetime) -> list[str]:
        """The holders of inbound jobs claimed and still leased at `now`."""
        ...

    async def free_inbound(self, holders: Sequence[str]) -> int:
        """Make the jobs these (dead) holders had claimed due at once; return how many."""
        ...

    async def inbound_done(self, job_id: int, at: datetime, result: str | None = None) -> None:
        ...

    async def inbound_retry(self, job_id: int, at: datetime, result: str) -> None:
        """Try the job again at `at`; `result` says why it failed."""
        ...

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
        """Begin a transaction; it commits when the block exits cleanly, else rolls back.
        Opened inside another unit on the same task, it joins that one as a savepoint (see
        `Service.together`)."""
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
    subject: str | None = None
    """What is posted, when several notices may post it (`summary`: any earlier refresh whose
    answer was lost may have posted the incident's summary); a retry looks for it too."""


@runtime_checkable
class Answers(Protocol):
    """A chat that can answer someone in place (outside any incident space)."""

    async def answer(self, answer: Answer) -> str:
        """Send it, ahead of routine messages to the same chat; the id of the message sent
        (the last one, when a long answer took several)."""
        ...


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
