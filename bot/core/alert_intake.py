"""Alerts in: store a batch in one transaction, attach each alert to its group's open
incident or open one (routing rules; mentions only on a spike), and tell a storm as digests
at a bounded rate. A mixin of `Service`, which provides the unit of work and `_declare`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from bot.core.models import (
    SYSTEM,
    Alert,
    AlertStatus,
    EventKind,
    Incident,
    RawDelivery,
    public_id,
)
from bot.core.ports import Clock
from bot.core.rules import Rules, alert_severity
from bot.core.sender_notes import tell_sender_notes
from bot.core.spikes import mention_minutes
from bot.core.text import N_
from bot.core.tx import Tx
from bot.core.views import alerts_digest_text


@dataclass(frozen=True)
class AlertOutcome:
    incident: int | None
    opened: bool
    duplicate: bool


RawAlerts = tuple[RawDelivery, Sequence[Alert]]
"""A raw delivery and the alerts parsed from it."""


@dataclass
class Digest:
    """Alerts attached to one incident since its last digest message. Kept in memory for
    speed; after a restart `recover_digests` rebuilds it from the stored alerts."""

    since: datetime
    count: int = 0
    identities: set[str] = field(default_factory=set)


@dataclass
class AlertBatch:
    """What one group commit has seen so far; applied to the digests only after it commits."""

    groups: dict[str, int] = field(default_factory=dict)
    """The open incident of each group key seen in the batch that has one."""
    attached: dict[int, tuple[int, set[str]]] = field(default_factory=dict)
    resolved: set[int] = field(default_factory=set)
    spikes: dict[str, bool] = field(default_factory=dict)
    sent: set[int] = field(default_factory=set)


R = TypeVar("R")


class AlertIntake:
    rules: Rules
    clock: Clock
    _digests: dict[int, Digest]

    _declare: Callable[..., Awaitable[Incident]]

    if TYPE_CHECKING:  # provided by Service: one unit of work per call
        async def _run(self, work: Callable[[Tx], Awaitable[R]]) -> R: ...

    async def handle_alert(self, alert: Alert) -> AlertOutcome:
        return (await self.handle_alerts([alert]))[0]

    async def handle_alerts(self, alerts: Sequence[Alert], *,
                            raw: Sequence[RawAlerts] = ()) -> list[AlertOutcome]:
        """Store alerts in one transaction (group commit), attaching each to the open incident
        of its group and opening one, as the routing rules say, for a firing alert whose group
        has none. A mention opens an incident only when its tool flagged a severity or its
        topic's volume or negative share spikes (`rules.spike`).

        A re-delivery (same dedup key) changes nothing and a resolved alert never opens an
        incident. A storm is told (and timelined) as one digest per incident per
        `rules.digest_seconds`, and the channel hears when every alert of its incident has
        resolved.

        `raw` pairs each raw delivery with its alerts (the same objects as in `alerts`): a
        delivery is stored, in the same transaction, when any of its alerts is new, and those
        alerts point at it; a re-delivery stores nothing.
        """
        batch = AlertBatch()

        async def work(tx: Tx) -> list[AlertOutcome]:
            seen = await tx.unit.alerts_seen({a.dedup_key for a in alerts})
            fresh: list[Alert] = []
            for alert in alerts:
                if alert.dedup_key not in seen:
                    seen.add(alert.dedup_key)
                    fresh.append(alert)
            new = {id(a) for a in fresh}
            stored = [(d, [a for a in its if id(a) in new]) for d, its in raw]
            stored = [(d, its) for d, its in stored if its]
            numbers = await tx.unit.add_deliveries([d for d, _its in stored])
            for number, (_delivery, its) in zip(numbers, stored, strict=True):
                for alert in its:
                    alert.delivery = number
            await tx.unit.add_mentions(mention_minutes(fresh))
            batch.groups = await tx.unit.open_incidents_by_group({a.group_key for a in fresh})
            placed = {id(a): await self._place_alert(tx, a, batch) for a in fresh}
            await tx.unit.add_alerts(fresh)
            for number in batch.resolved:
                await self._tell_if_all_resolved(tx, number)
            for number, (count, identities) in batch.attached.items():
                digest = self._digests.setdefault(number, Digest(tx.now))
                if tx.now - digest.since >= self._digest_interval:
                    await self._say_digest(tx, number, digest, count, identities)
                    batch.sent.add(number)
            duplicate = AlertOutcome(None, opened=False, duplicate=True)
            return [placed.get(id(a), duplicate) for a in alerts]

        outcomes = await self._run(work)
        now = self.clock.now()
        for number, (count, identities) in batch.attached.items():
            digest = self._digests[number]
            if number in batch.sent:
                self._digests[number] = Digest(now)
            else:
                digest.count += count
                digest.identities |= identities
        return outcomes

    async def recover_digests(self) -> int:
        """After a start: count, per open incident, the alerts attached since its last digest
        (or its opening), which a stopped process had only in memory, so they are still told
        and timelined. Returns how many incidents have some."""

        async def work(tx: Tx) -> dict[int, Digest]:
            found: dict[int, Digest] = {}
            for incident in await tx.unit.incidents(open_only=True):
                told = [e.at for e in await tx.unit.timeline(incident.number)
                        if e.kind in (EventKind.ALERTS_DIGEST, EventKind.ALERT_ATTACHED)]
                since = max(told, default=incident.created_at)
                identities = await tx.unit.alert_identities_since(incident.number, since)
                if identities:
                    found[incident.number] = Digest(since, len(identities), set(identities))
            return found

        recovered = await self._run(work)
        for number, digest in recovered.items():
            self._digests.setdefault(number, digest)
        return len(recovered)

    async def send_digests(self) -> int:
        """Tell the digests that are due (a storm that stopped still gets its last digest);
        return how many were told."""
        due = [n for n, d in self._digests.items()
               if d.count and self.clock.now() - d.since >= self._digest_interval]
        if not due:
            return 0

        async def work(tx: Tx) -> None:
            for number in due:
                await self._say_digest(tx, number, self._digests[number], 0, set())

        await self._run(work)
        for number in due:
            self._digests[number] = Digest(self.clock.now())
        return len(due)

    @property
    def _digest_interval(self) -> timedelta:
        return timedelta(seconds=self.rules.digest_seconds)

    async def _place_alert(self, tx: Tx, alert: Alert, batch: AlertBatch) -> AlertOutcome:
        """Attach the alert to its group's open incident, or open one; record the opening."""
        incident = batch.groups.get(alert.group_key)
        opened = False
        if incident is None and await self._opens_incident(tx, alert, batch):
            route = self.rules.route(alert)
            incident = (await self._declare(
                tx, SYSTEM, alert.title, group_key=alert.group_key, platform=route.platform,
                severity=route.severity or alert_severity([alert], self.rules.default_severity),
                kind=route.set_kind or alert.kind, invite=route.invite, drill=False,
                playbook=route.playbook)).number
            batch.groups[alert.group_key] = incident
            self._digests[incident] = Digest(tx.now)
            opened = True
            await tx.record(incident, EventKind.ALERT_ATTACHED, SYSTEM,
                            source=alert.source, title=alert.title,
                            status=alert.status.value, url=alert.url)
        alert.incident = incident
        if incident is not None:
            await tell_sender_notes(tx, incident, alert)
            if alert.status is AlertStatus.RESOLVED:
                batch.resolved.add(incident)
            if not opened and not alert.update:
                count, identities = batch.attached.get(incident, (0, set()))
                batch.attached[incident] = (count + 1, identities | {alert.identity})
        return AlertOutcome(alert.incident, opened=opened, duplicate=False)

    async def _opens_incident(self, tx: Tx, alert: Alert, batch: AlertBatch) -> bool:
        """Firing alerts open incidents; an unflagged mention only when its topic spikes
        (decided once per topic per batch, after the batch's own mentions were counted)."""
        if alert.status is not AlertStatus.FIRING or alert.update:
            return False
        if not alert.is_mention or alert.severity is not None:
            return True
        if alert.group_key not in batch.spikes:
            spike = self.rules.spike
            series = await tx.unit.mentions(alert.group_key, spike.since(tx.now))
            batch.spikes[alert.group_key] = spike.verdict(series, tx.now).spike
        return batch.spikes[alert.group_key]

    @staticmethod
    async def _tell_if_all_resolved(tx: Tx, number: int) -> None:
        latest = {a.identity: a.status for a in await tx.unit.alerts(number)}
        if all(status is AlertStatus.RESOLVED for status in latest.values()):
            await tx.record(number, EventKind.ALERTS_RESOLVED, SYSTEM, count=len(latest))
            await tx.say(number, N_("The alert of {incident} has resolved.",
                                    "All {n} alerts of {incident} have resolved.",
                                    len(latest), incident=public_id(number)))

    async def _say_digest(self, tx: Tx, number: int, digest: Digest, count: int,
                          identities: set[str]) -> None:
        total = digest.count + count
        seconds = int((tx.now - digest.since).total_seconds())
        distinct = len(digest.identities | identities)
        await tx.record(number, EventKind.ALERTS_DIGEST, SYSTEM, count=total, seconds=seconds,
                        distinct=distinct)
        await tx.say(number, alerts_digest_text(total, seconds, distinct))

