"""Alerts in: store a batch in one transaction, attach each alert to its group's open
incident or open one (routing rules; mentions only on a spike), and tell a storm as digests
at a bounded rate. Every decision is the store's, so replicas sharing it agree."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial

from bot.core.models import (
    SYSTEM,
    Alert,
    AlertOutcome,
    AlertStatus,
    EventKind,
    RawAlerts,
    public_id,
)
from bot.core.rules import alert_severity
from bot.core.sender_notes import tell_sender_notes
from bot.core.spikes import mention_minutes
from bot.core.text import N_
from bot.core.tx import Tx
from bot.core.usecases.env import Env, Run
from bot.core.usecases.incidents import declare
from bot.core.views import alerts_digest_text


@dataclass
class AlertBatch:
    """What one group commit has seen so far."""

    groups: dict[str, int] = field(default_factory=dict)
    """The open incident of each group key seen in the batch that has one."""
    attached: set[int] = field(default_factory=set)
    """Incidents that got alerts beyond their opening one: their digest may be due."""
    untold: set[str] = field(default_factory=set)
    """Dedup keys of the alerts a digest still has to tell."""
    resolved: set[int] = field(default_factory=set)
    spikes: dict[str, bool] = field(default_factory=dict)


class LostRace(Exception):
    """Another process stored some of the batch's alerts between our look and our write; the
    batch is handled again, and then sees them as re-deliveries."""


RACE_RETRIES = 5
"""How often a batch that lost a race for a dedup key is handled again (each retry sees more
of the other process's alerts as stored, so one is nearly always enough)."""


DIGEST_HINTS_KEPT = 10_000
"""Incidents whose digest window a process remembers (see `DigestHints`)."""


class DigestHints:
    """When each incident's digest window began, as this process last saw it. A window only
    moves forward, so a hint that says "not due yet" is right without asking the store (a
    storm's usual batch); only a window the hint says may be due is read, and the hint is
    only ever what a read returned, never this unit's own claim (which could roll back), so
    it is never later than the truth."""

    def __init__(self) -> None:
        self._began: dict[int, datetime] = {}

    def began(self) -> dict[int, datetime]:
        if len(self._began) > DIGEST_HINTS_KEPT:
            self._began.clear()  # forgetting costs a read, never a wrong answer
        return self._began


async def handle_alerts(run: Run, env: Env, hints: DigestHints, alerts: Sequence[Alert],
                        raw: Sequence[RawAlerts] = ()) -> list[AlertOutcome]:
    """Store alerts in one transaction (group commit), attaching each to the open incident
    of its group and opening one, as the routing rules say, for a firing alert whose group
    has none. A mention opens an incident only when its tool flagged a severity or its
    topic's volume or negative share spikes (`rules.spike`).

    A re-delivery (same dedup key) changes nothing and a resolved alert never opens an
    incident. A storm is told (and timelined) as one digest per incident per
    `rules.digest_seconds`, and the channel hears when every alert of its incident has
    resolved.

    Several processes may take alerts of one group at once: the store decides which opens
    the incident (`open_incidents_by_group` holds the group until the unit ends), and a
    batch that lost a race for a dedup key is simply handled again.

    `raw` pairs each raw delivery with its alerts (the same objects as in `alerts`): a
    delivery is stored, in the same transaction, when any of its alerts is new, and those
    alerts point at it; a re-delivery stores nothing.
    """
    retries = 0
    while True:
        try:
            return await run(partial(_handle_batch, env=env, hints=hints, alerts=alerts,
                                     raw=raw))
        except LostRace:
            retries += 1
            if retries > RACE_RETRIES:
                raise


async def _handle_batch(tx: Tx, env: Env, hints: DigestHints, alerts: Sequence[Alert],
                        raw: Sequence[RawAlerts]) -> list[AlertOutcome]:
    batch = AlertBatch()
    seen, batch.groups = await tx.unit.look_up_batch({a.dedup_key for a in alerts},
                                                     {a.group_key for a in alerts})
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
    missing = {a.group_key for a in fresh} - batch.groups.keys()
    if missing:  # a new group: the store holds it while this unit decides
        batch.groups |= await tx.unit.open_incidents_by_group(missing)
    placed = {id(a): await _place_alert(tx, env, a, batch) for a in fresh}
    if await tx.unit.add_alerts(fresh, untold=batch.untold) < len(fresh):
        raise LostRace
    for number in batch.resolved:
        await _tell_if_all_resolved(tx, number)
    await tell_due_digests(tx, env, hints, batch.attached)
    duplicate = AlertOutcome(None, opened=False, duplicate=True)
    return [placed.get(id(a), duplicate) for a in alerts]


async def send_digests(tx: Tx, env: Env, hints: DigestHints) -> int:
    """Tell the digests that are due (a storm that stopped still gets its last digest);
    return how many were told."""
    return await tell_due_digests(tx, env, hints, await tx.unit.untold_incidents())


async def tell_due_digests(tx: Tx, env: Env, hints: DigestHints,
                           incidents: Collection[int]) -> int:
    """One digest per incident per window, whichever process gets there: the window is
    the store's, and `claim_digest` lets only one unit move it on."""
    hint = hints.began()
    interval = timedelta(seconds=env.rules.digest_seconds)
    unsure = [n for n in incidents if n not in hint or tx.now - hint[n] >= interval]
    if not unsure:
        return 0
    windows = await tx.unit.digest_windows(unsure)
    told = 0
    for number in sorted(unsure):
        since = windows.get(number)
        if since is None:  # an incident from before digests were stored
            await tx.unit.start_digest(number, tx.now)
            continue
        hint[number] = since
        if tx.now - since < interval:
            continue
        if not await tx.unit.claim_digest(number, since, tx.now):
            continue  # another process told this window
        identities = await tx.unit.tell_untold(number)
        if identities:
            await _say_digest(tx, number, since, identities)
            told += 1
    return told


async def _place_alert(tx: Tx, env: Env, alert: Alert, batch: AlertBatch) -> AlertOutcome:
    """Attach the alert to its group's open incident, or open one; record the opening."""
    rules = env.rules
    incident = batch.groups.get(alert.group_key)
    opened = False
    if incident is None and await _opens_incident(tx, env, alert, batch):
        route = rules.route(alert)
        incident = (await declare(
            tx, env, SYSTEM, alert.title, group_key=alert.group_key, platform=route.platform,
            severity=route.severity or alert_severity([alert], rules.default_severity),
            kind=route.set_kind or alert.kind, invite=route.invite, drill=False,
            playbook=route.playbook, publish_to=route.publish_to)).number
        batch.groups[alert.group_key] = incident
        await tx.unit.start_digest(incident, tx.now)
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
            batch.attached.add(incident)
            batch.untold.add(alert.dedup_key)
    return AlertOutcome(alert.incident, opened=opened, duplicate=False)


async def _opens_incident(tx: Tx, env: Env, alert: Alert, batch: AlertBatch) -> bool:
    """Firing alerts open incidents; an unflagged mention only when its topic spikes
    (decided once per topic per batch, after the batch's own mentions were counted)."""
    if alert.status is not AlertStatus.FIRING or alert.update:
        return False
    if not alert.is_mention or alert.severity is not None:
        return True
    if alert.group_key not in batch.spikes:
        spike = env.rules.spike
        series = await tx.unit.mentions(alert.group_key, spike.since(tx.now))
        batch.spikes[alert.group_key] = spike.verdict(series, tx.now).spike
    return batch.spikes[alert.group_key]


async def _tell_if_all_resolved(tx: Tx, number: int) -> None:
    latest = {a.identity: a.status for a in await tx.unit.alerts(number)}
    if all(status is AlertStatus.RESOLVED for status in latest.values()):
        await tx.record(number, EventKind.ALERTS_RESOLVED, SYSTEM, count=len(latest))
        await tx.say(number, N_("The alert of {incident} has resolved.",
                                "All {n} alerts of {incident} have resolved.",
                                len(latest), incident=public_id(number)))


async def _say_digest(tx: Tx, number: int, since: datetime,
                      identities: Sequence[str]) -> None:
    total = len(identities)
    seconds = int((tx.now - since).total_seconds())
    distinct = len(set(identities))
    await tx.record(number, EventKind.ALERTS_DIGEST, SYSTEM, count=total, seconds=seconds,
                    distinct=distinct)
    await tx.say(number, alerts_digest_text(total, seconds, distinct))
