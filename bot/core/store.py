"""What the core needs from a store, as Protocols: one small port per role, and the unit of
work (one transaction) that offers them all.

A use case that needs only one role can name that role's port; `Unit` is what a store's
transaction gives."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol

from bot.core.models import (
    Alert,
    Draft,
    InboundJob,
    Incident,
    KnownPerson,
    MentionMinute,
    Notice,
    PersonId,
    Question,
    RawDelivery,
    TimelineEvent,
)
from bot.core.playbooks import Task
from bot.core.publication import Publication
from bot.core.sending import SendRate


class Incidents(Protocol):
    """Incidents: numbered, found by their space or alert group."""

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

    async def incidents(self, *, open_only: bool = False,
                        resolved_since: datetime | None = None) -> list[Incident]:
        """All incidents by number; only the open ones (`open_only`), or the open ones and
        those resolved at or after `resolved_since`."""
        ...


class Drafts(Protocol):
    """Statement drafts, their versions and decisions."""

    async def add_draft(self, draft: Draft) -> None: ...
    async def update_draft(self, draft: Draft) -> None: ...
    async def get_draft(self, incident: int, number: int) -> Draft | None: ...
    async def drafts(self, incident: int) -> list[Draft]: ...


class Timeline(Protocol):
    """The incident's append-only history."""

    async def append(self, event: TimelineEvent) -> None: ...
    async def timeline(self, incident: int) -> list[TimelineEvent]: ...


class Alerts(Protocol):
    """Alerts taken in, deduplicated and attached to incidents."""

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

    async def alerts(self, incident: int) -> list[Alert]: ...


class Digests(Protocol):
    """One digest per incident per window, of the alerts not yet told."""

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


class Deliveries(Protocol):
    """Raw alert deliveries as received."""

    async def add_deliveries(self, deliveries: Sequence[RawDelivery]) -> list[int]:
        """Store raw deliveries; their new ids, in order."""
        ...

    async def deliveries(self) -> list[RawDelivery]:
        """Every stored raw delivery, oldest first."""
        ...


class Mentions(Protocol):
    """Per-minute mention counts per topic."""

    async def add_mentions(self, minutes: Sequence[MentionMinute]) -> None:
        """Add counts to the per-minute series (summing into minutes already stored)."""
        ...

    async def mentions(self, topic: str, since: datetime) -> list[MentionMinute]:
        """The topic's series from `since` on, oldest first."""
        ...


class Outbox(Protocol):
    """Notices to deliver, claimed and leased across processes."""

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


class Pacing(Protocol):
    """Each chat's sending limit, shared by every process."""

    async def reserve_send(self, chat: str, now: float, rate: SendRate) -> float:
        """Book the next moment (epoch seconds, from `now` on) a message may go to `chat`
        under `rate`, counting what every process sharing the store has sent there."""
        ...

    async def sent(self, chat: str, slot: float, at: float) -> None:
        """The message booked for `slot` went out and was answered at `at`."""
        ...


class InboundJobs(Protocol):
    """Inbound platform work, stored before the platform is answered."""

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


class SeenEvents(Protocol):
    """Inbound event ids already handled, and what is only kept for a while."""

    async def first_sight(self, key: str, at: datetime) -> bool:
        """Remember an inbound event id; True the first time, False for a re-delivery."""
        ...

    async def forget(self, before: datetime) -> int:
        """Drop what is only kept for a while (event ids first seen, questions asked, inbound
        jobs finished) from before `before`; how many rows."""
        ...


class Questions(Protocol):
    """Questions waiting for their asker's reply (Telegram)."""

    async def ask(self, question: Question) -> None: ...

    async def question(self, platform: str, chat: str, message: str) -> Question | None:
        """The question asked with that message, until it is answered."""
        ...

    async def answered(self, question: Question) -> None: ...


class People(Protocol):
    """People a chat platform has shown us."""

    async def remember_person(self, person: KnownPerson) -> None:
        """Insert or refresh what a platform showed about someone (name, username)."""
        ...

    async def person_by_username(self, platform: str, username: str) -> PersonId | None:
        """The person on `platform` last seen with `username` (case-insensitive)."""
        ...

    async def known_people(self, platform: str) -> list[KnownPerson]: ...


class Tasks(Protocol):
    """The incident's checklist."""

    async def add_task(self, task: Task) -> None:
        """Store a checklist item; (incident, number) is unique."""
        ...

    async def update_task(self, task: Task) -> None: ...

    async def tasks(self, incident: int) -> list[Task]:
        """The incident's checklist, in number order."""
        ...


class Publications(Protocol):
    """Published statements and where they landed."""

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


class Unit(Incidents, Drafts, Timeline, Alerts, Digests, Deliveries, Mentions, Outbox, Pacing,
           InboundJobs, SeenEvents, Questions, People, Tasks, Publications, Protocol):
    """One transaction: everything written through it commits together or not at all."""


class Store(Protocol):
    def unit(self) -> AbstractAsyncContextManager[Unit]:
        """Begin a transaction; it commits when the block exits cleanly, else rolls back.
        Opened inside another unit on the same task, it joins that one as a savepoint (see
        `Service.together`)."""
        ...
