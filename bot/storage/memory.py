"""An in-memory Store for fast core tests: same contract as the SQL store, nothing on disk.

A unit works on a deep copy of the state and swaps it in on commit, so a refused command leaves
no trace, exactly as a rolled-back transaction would.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Collection, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime

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
from bot.core.sending import SendRate, book, settle
from bot.storage.nesting import OpenUnit


@dataclass
class _State:
    incidents: dict[int, Incident] = field(default_factory=dict)
    drafts: dict[tuple[int, int], Draft] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    deliveries: list[RawDelivery] = field(default_factory=list)
    mentions: dict[tuple[str, datetime], MentionMinute] = field(default_factory=dict)
    events: list[TimelineEvent] = field(default_factory=list)
    notices: dict[int, Notice] = field(default_factory=dict)
    done: dict[int, str | None] = field(default_factory=dict)
    next_attempt: dict[int, datetime] = field(default_factory=dict)
    claimed_by: dict[int, str] = field(default_factory=dict)
    sends: dict[str, list[float]] = field(default_factory=dict)
    seen: dict[str, datetime] = field(default_factory=dict)
    questions: dict[tuple[str, str, str], Question] = field(default_factory=dict)
    people: dict[PersonId, KnownPerson] = field(default_factory=dict)
    counter: int = 0
    tasks: dict[tuple[int, int], Task] = field(default_factory=dict)
    digests: dict[int, datetime] = field(default_factory=dict)
    untold: dict[str, int | None] = field(default_factory=dict)
    """Dedup key -> incident of each alert a digest has yet to tell."""
    inbound: dict[int, InboundJob] = field(default_factory=dict)
    """Pending jobs only (a finished one is dropped at once)."""
    inbound_due: dict[int, datetime | None] = field(default_factory=dict)
    inbound_claimed_by: dict[int, str] = field(default_factory=dict)
    inbound_count: int = 0
    publications: dict[int, Publication] = field(default_factory=dict)


class MemoryUnit:
    def __init__(self, state: _State) -> None:
        self.s = state

    async def next_incident_number(self) -> int:
        self.s.counter += 1
        return self.s.counter

    async def add_incident(self, incident: Incident) -> None:
        if incident.number in self.s.incidents:
            raise ValueError(f"duplicate incident {incident.number}")
        self.s.incidents[incident.number] = copy.deepcopy(incident)

    async def get_incident(self, number: int) -> Incident | None:
        found = self.s.incidents.get(number)
        return copy.deepcopy(found) if found else None

    async def update_incident(self, incident: Incident) -> None:
        if incident.number not in self.s.incidents:
            raise LookupError(f"no incident {incident.number} to update")
        self.s.incidents[incident.number] = copy.deepcopy(incident)

    async def incident_by_space(self, platform: str, channel: str) -> Incident | None:
        for incident in self.s.incidents.values():
            space = incident.space
            if space and space.platform == platform and space.channel == channel:
                return copy.deepcopy(incident)
        return None

    async def open_incidents_by_group(self, group_keys: Collection[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for incident in sorted(self.s.incidents.values(), key=lambda i: i.number):
            key = incident.group_key
            if key is not None and key in group_keys and key not in found and incident.is_open:
                found[key] = incident.number
        return found

    async def incidents(self, *, open_only: bool = False,
                        resolved_since: datetime | None = None) -> list[Incident]:
        def wanted(i: Incident) -> bool:
            if i.is_open:
                return True
            if resolved_since is not None:
                return i.resolved_at is not None and i.resolved_at >= resolved_since
            return not open_only

        return [copy.deepcopy(i) for _, i in sorted(self.s.incidents.items()) if wanted(i)]

    async def add_draft(self, draft: Draft) -> None:
        key = (draft.incident, draft.number)
        if key in self.s.drafts:
            raise ValueError(f"duplicate draft {key}")
        _check_decisions(draft)
        self.s.drafts[key] = copy.deepcopy(draft)

    async def update_draft(self, draft: Draft) -> None:
        key = (draft.incident, draft.number)
        if key not in self.s.drafts:
            raise LookupError(f"no draft {key} to update")
        _check_decisions(draft)
        self.s.drafts[key] = copy.deepcopy(draft)

    async def get_draft(self, incident: int, number: int) -> Draft | None:
        found = self.s.drafts.get((incident, number))
        return copy.deepcopy(found) if found else None

    async def drafts(self, incident: int) -> list[Draft]:
        return [copy.deepcopy(d) for (i, _), d in sorted(self.s.drafts.items()) if i == incident]

    async def alerts_seen(self, dedup_keys: Collection[str]) -> set[str]:
        return {a.dedup_key for a in self.s.alerts} & set(dedup_keys)

    async def look_up_batch(self, dedup_keys: Collection[str],
                            group_keys: Collection[str]) -> tuple[set[str], dict[str, int]]:
        return await self.alerts_seen(dedup_keys), await self.open_incidents_by_group(group_keys)

    async def add_alerts(self, alerts: Sequence[Alert], *,
                         untold: Collection[str] = ()) -> int:
        seen = await self.alerts_seen([a.dedup_key for a in alerts])
        stored = 0
        for alert in alerts:
            if alert.dedup_key in seen:
                continue
            seen.add(alert.dedup_key)
            self.s.alerts.append(replace(alert, id=len(self.s.alerts) + 1))
            if alert.dedup_key in untold:
                self.s.untold[alert.dedup_key] = alert.incident
            stored += 1
        return stored

    async def digest_windows(self, incidents: Collection[int]) -> dict[int, datetime]:
        return {n: at for n, at in self.s.digests.items() if n in incidents}

    async def start_digest(self, incident: int, at: datetime) -> None:
        self.s.digests.setdefault(incident, at)

    async def claim_digest(self, incident: int, since: datetime, at: datetime) -> bool:
        if self.s.digests.get(incident) != since:
            return False
        self.s.digests[incident] = at
        return True

    async def tell_untold(self, incident: int) -> list[str]:
        told = [key for key, number in self.s.untold.items() if number == incident]
        for key in told:
            del self.s.untold[key]
        by_key = {a.dedup_key: a.identity for a in self.s.alerts}
        return [by_key[key] for key in told]

    async def untold_incidents(self) -> list[int]:
        return sorted({n for n in self.s.untold.values() if n is not None})

    async def add_deliveries(self, deliveries: Sequence[RawDelivery]) -> list[int]:
        start = len(self.s.deliveries) + 1
        self.s.deliveries.extend(replace(d, id=start + i) for i, d in enumerate(deliveries))
        return list(range(start, start + len(deliveries)))

    async def deliveries(self) -> list[RawDelivery]:
        return list(self.s.deliveries)

    async def add_mentions(self, minutes: Sequence[MentionMinute]) -> None:
        for m in minutes:
            old = self.s.mentions.get((m.topic, m.minute))
            if old is not None:
                m = replace(m, mentions=old.mentions + m.mentions,
                            negative=old.negative + m.negative, reach=old.reach + m.reach)
            self.s.mentions[(m.topic, m.minute)] = m

    async def mentions(self, topic: str, since: datetime) -> list[MentionMinute]:
        return [m for (t, at), m in sorted(self.s.mentions.items())
                if t == topic and at >= since]

    async def alerts(self, incident: int) -> list[Alert]:
        return [copy.deepcopy(a) for a in self.s.alerts if a.incident == incident]

    async def append(self, event: TimelineEvent) -> None:
        self.s.events.append(replace(event, seq=len(self.s.events) + 1))

    async def timeline(self, incident: int) -> list[TimelineEvent]:
        return [e for e in self.s.events if e.incident == incident]

    async def enqueue(self, notice: Notice) -> None:
        notice.id = len(self.s.notices) + 1
        self.s.notices[notice.id] = copy.deepcopy(notice)

    async def pending_notices(self, limit: int) -> list[Notice]:
        pending = [n for i, n in sorted(self.s.notices.items()) if i not in self.s.done]
        return copy.deepcopy(pending[:limit])

    async def notice_done(self, notice_id: int, result: str | None = None) -> None:
        self.s.done.setdefault(notice_id, result)
        self.s.next_attempt.pop(notice_id, None)

    async def claim_notices(self, now: datetime, lease_until: datetime,
                            limit: int, holder: str | None = None) -> list[Notice]:
        pending = [n for i, n in sorted(self.s.notices.items()) if i not in self.s.done]
        held: dict[str, int] = {}  # queue -> its first notice leased or waiting for a retry
        for notice in pending:
            if self.s.next_attempt.get(_id(notice), now) > now:
                held.setdefault(notice.queue, _id(notice))
        due = sorted((n for n in pending if self.s.next_attempt.get(_id(n), now) <= now
                      and _id(n) < held.get(n.queue, _id(n) + 1)),
                     key=lambda n: (n.priority, _id(n)))[:limit]
        taken = {_id(n) for n in due}
        first_held: dict[str, int] = {}
        for notice in pending:
            if _id(notice) not in taken:
                first_held.setdefault(notice.queue, _id(notice))
        kept = [n for n in due if _id(n) < first_held.get(n.queue, _id(n) + 1)]
        for notice in kept:
            notice.attempts += 1
            self.s.next_attempt[_id(notice)] = lease_until
            if holder is not None:
                self.s.claimed_by[_id(notice)] = holder
        return copy.deepcopy(kept)

    async def notice_holders(self, now: datetime) -> list[str]:
        return sorted({holder for notice_id, holder in self.s.claimed_by.items()
                       if notice_id not in self.s.done
                       and self.s.next_attempt.get(notice_id, now) > now})

    async def free_claims(self, holders: Sequence[str]) -> int:
        freed = [i for i, holder in self.s.claimed_by.items()
                 if holder in holders and i not in self.s.done]
        for notice_id in freed:
            self.s.next_attempt.pop(notice_id, None)
            del self.s.claimed_by[notice_id]
        return len(freed)

    async def notice_retry(self, notice_id: int, at: datetime, result: str) -> None:
        self.s.next_attempt[notice_id] = at
        self.s.claimed_by.pop(notice_id, None)

    async def release_notices(self, notice_ids: Sequence[int]) -> None:
        for notice_id in notice_ids:
            if notice_id not in self.s.done:
                self.s.next_attempt.pop(notice_id, None)
                self.s.notices[notice_id].attempts -= 1
                self.s.claimed_by.pop(notice_id, None)

    async def extend_notices(self, notice_ids: Sequence[int], lease_until: datetime) -> None:
        for notice_id in notice_ids:
            if notice_id not in self.s.done:
                self.s.next_attempt[notice_id] = lease_until

    async def reserve_send(self, chat: str, now: float, rate: SendRate) -> float:
        slot, self.s.sends[chat] = book(self.s.sends.get(chat, []), now, rate)
        return slot

    async def sent(self, chat: str, slot: float, at: float) -> None:
        self.s.sends[chat] = settle(self.s.sends.get(chat, []), slot, at)

    async def forget(self, before: datetime) -> int:
        old = [key for key, at in self.s.seen.items() if at < before]
        for key in old:
            del self.s.seen[key]
        stale = [where for where, q in self.s.questions.items() if q.asked_at < before]
        for where in stale:
            del self.s.questions[where]
        return len(old) + len(stale)

    async def ask(self, question: Question) -> None:
        self.s.questions[(question.platform, question.chat, question.message)] = question

    async def question(self, platform: str, chat: str, message: str) -> Question | None:
        return self.s.questions.get((platform, chat, message))

    async def answered(self, question: Question) -> None:
        self.s.questions.pop((question.platform, question.chat, question.message), None)

    async def add_inbound(self, job: InboundJob) -> None:
        self.s.inbound_count += 1
        job.id = self.s.inbound_count
        self.s.inbound[job.id] = copy.deepcopy(job)
        self.s.inbound_due[job.id] = None

    async def claim_inbound(self, now: datetime, lease_until: datetime,
                            limit: int, holder: str | None = None) -> list[InboundJob]:
        due = sorted(i for i, at in self.s.inbound_due.items() if at is None or at <= now)
        claimed = []
        for job_id in due[:limit]:
            job = self.s.inbound[job_id]
            job.attempts += 1
            self.s.inbound_due[job_id] = lease_until
            if holder is not None:
                self.s.inbound_claimed_by[job_id] = holder
            claimed.append(copy.deepcopy(job))
        return claimed

    async def inbound_holders(self, now: datetime) -> list[str]:
        return sorted({holder for job_id, holder in self.s.inbound_claimed_by.items()
                       if (self.s.inbound_due.get(job_id) or now) > now})

    async def free_inbound(self, holders: Sequence[str]) -> int:
        freed = [i for i, holder in self.s.inbound_claimed_by.items() if holder in holders]
        for job_id in freed:
            self.s.inbound_due[job_id] = None
            del self.s.inbound_claimed_by[job_id]
        return len(freed)

    async def inbound_done(self, job_id: int, at: datetime, result: str | None = None) -> None:
        self.s.inbound_due.pop(job_id, None)
        self.s.inbound.pop(job_id, None)
        self.s.inbound_claimed_by.pop(job_id, None)

    async def inbound_retry(self, job_id: int, at: datetime, result: str) -> None:
        if job_id in self.s.inbound_due:
            self.s.inbound_due[job_id] = at
        self.s.inbound_claimed_by.pop(job_id, None)

    async def first_sight(self, key: str, at: datetime) -> bool:
        if key in self.s.seen:
            return False
        self.s.seen[key] = at
        return True

    async def remember_person(self, person: KnownPerson) -> None:
        self.s.people[person.person] = person

    async def person_by_username(self, platform: str, username: str) -> PersonId | None:
        wanted = username.lower()
        for known in self.s.people.values():
            if (known.person.startswith(f"{platform}:") and known.username is not None
                    and known.username.lower() == wanted):
                return known.person
        return None

    async def known_people(self, platform: str) -> list[KnownPerson]:
        return [p for p in self.s.people.values() if p.person.startswith(f"{platform}:")]

    async def add_publication(self, publication: Publication) -> None:
        p = publication
        if any((o.incident, o.draft, o.version) == (p.incident, p.draft, p.version)
               for o in self.s.publications.values()):
            raise ValueError(f"version {p.version} of draft {p.incident}/{p.draft} is "
                             "published already")
        publication.id = len(self.s.publications) + 1
        self.s.publications[publication.id] = copy.deepcopy(publication)

    async def update_publication(self, publication: Publication) -> None:
        if publication.id not in self.s.publications:
            raise LookupError(f"no publication {publication.id} to update")
        self.s.publications[publication.id] = copy.deepcopy(publication)

    async def get_publication(self, publication_id: int) -> Publication | None:
        return copy.deepcopy(self.s.publications.get(publication_id))

    async def publications(self, incident: int | None = None) -> list[Publication]:
        return [copy.deepcopy(p) for _id, p in sorted(self.s.publications.items())
                if incident is None or p.incident == incident]


    async def add_task(self, task: Task) -> None:
        key = (task.incident, task.number)
        if key in self.s.tasks:
            raise ValueError(f"duplicate task {key}")
        self.s.tasks[key] = copy.deepcopy(task)

    async def update_task(self, task: Task) -> None:
        key = (task.incident, task.number)
        if key not in self.s.tasks:
            raise LookupError(f"no task {key} to update")
        self.s.tasks[key] = copy.deepcopy(task)

    async def tasks(self, incident: int) -> list[Task]:
        return [copy.deepcopy(t) for (i, _), t in sorted(self.s.tasks.items()) if i == incident]


def _id(notice: Notice) -> int:
    if notice.id is None:
        raise ValueError("a stored notice has an id")
    return notice.id


def _check_decisions(draft: Draft) -> None:
    """One decision per person and version, as the SQL store's unique constraint demands."""
    keys = [(d.version, d.person) for d in draft.decisions]
    if len(keys) != len(set(keys)):
        raise ValueError(f"duplicate decision on draft {draft.incident}/{draft.number}")


class MemoryStore:
    def __init__(self) -> None:
        self._state = _State()
        self._lock = asyncio.Lock()
        self._open: OpenUnit[_State] = OpenUnit()

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[MemoryUnit]:
        outer = self._open.current()
        if outer is not None:  # joins it, as a savepoint (see `bot.storage.nesting`)
            working = copy.deepcopy(outer)
            with self._open.opened(working):
                yield MemoryUnit(working)
            vars(outer).update(vars(working))
            return
        async with self._lock:
            working = copy.deepcopy(self._state)
            with self._open.opened(working):
                yield MemoryUnit(working)
            self._state = working
