"""Drills: a training incident marked DRILL everywhere, fed its playbook's simulated mentions
on the scheduler's tick. A mixin of `Service`, which provides the unit of work and `_declare`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, TypeVar

from bot.core.models import (
    SYSTEM,
    Alert,
    AlertStatus,
    CrisisKind,
    EventKind,
    Incident,
    PersonId,
    Severity,
)
from bot.core.playbooks import Playbook
from bot.core.rules import Rules
from bot.core.sources import MENTIONS
from bot.core.spikes import mention_minutes
from bot.core.store import Store
from bot.core.text import _
from bot.core.tx import Tx
from bot.core.usecase import canonical_people

R = TypeVar("R")


class Drills:
    rules: Rules
    store: Store
    playbooks: dict[CrisisKind, Playbook]
    language: str

    if TYPE_CHECKING:  # provided by Service
        async def _run(self, work: Callable[[Tx], Awaitable[R]]) -> R: ...
        async def _declare(self, tx: Tx, actor: PersonId, title: str, *,
                           severity: Severity | None, kind: CrisisKind | None,
                           platform: str | None, group_key: str | None,
                           invite: Sequence[PersonId], drill: bool,
                           playbook: str | None = None,
                           publish_to: tuple[str, ...] | None = None) -> Incident: ...

    @canonical_people
    async def start_drill(self, actor: PersonId, kind: CrisisKind, *,
                          platform: str | None = None) -> Incident:
        """A training incident, marked DRILL everywhere, fed by its playbook's simulated
        mentions on the scheduler's tick (the first ones at once)."""
        playbook = self.playbooks.get(kind)
        drill = playbook.drill if playbook else None
        title = drill.title.pick(self.language) if drill else kind.value
        severity = drill.severity if drill else None

        async def work(tx: Tx) -> Incident:
            incident = await self._declare(tx, actor, title, severity=severity, kind=kind,
                                           platform=platform, group_key=None, invite=(),
                                           drill=True)
            # The drill's mentions form its own topic, so pulses and the report see them.
            incident.group_key = f"drill:{incident.public_id}"
            await tx.unit.update_incident(incident)
            await tx.say(incident.number, _("This is a DRILL, not a real crisis: practise the "
                                            "roles, the checklist, drafting and approvals. "
                                            "Simulated mentions will follow."))
            await self._feed_drill(tx, incident.number)
            return incident

        return await self._run(work)

    async def feed_drills(self) -> int:
        """Feed every open drill the simulated mentions now due; return how many."""
        async with self.store.unit() as unit:
            numbers = [i.number for i in await unit.incidents(open_only=True) if i.drill]
        fed = 0
        for number in numbers:
            fed += await self._run(partial(self._feed_drill, number=number))
        return fed

    async def _feed_drill(self, tx: Tx, number: int) -> int:
        """Due mentions not yet stored (their dedup key says so), as alerts of the drill."""
        incident = await tx.incident(number)
        playbook = self.playbooks.get(incident.kind)
        if not incident.is_open or not incident.drill or playbook is None or not playbook.drill:
            return 0
        language = incident.language or self.language
        due = {f"drill:{incident.public_id}:{index}": mention
               for index, mention in enumerate(playbook.drill.mentions, start=1)
               if incident.created_at + mention.after <= tx.now}
        seen = await tx.unit.alerts_seen(due)
        fresh = [(key, mention) for key, mention in due.items() if key not in seen]
        alerts = [Alert(
            source=MENTIONS, dedup_key=key, group_key=f"drill:{incident.public_id}",
            title=mention.text.pick(language)[:200], received_at=tx.now,
            description=mention.text.pick(language), severity=incident.severity,
            kind=incident.kind, labels={"drill": "true", "network": mention.network},
            occurred_at=tx.now, metrics={"reach": mention.reach, "sentiment": mention.sentiment},
            incident=number) for key, mention in fresh]
        await tx.unit.add_alerts(alerts)
        await tx.unit.add_mentions(mention_minutes(alerts))
        for alert, (_key, mention) in zip(alerts, fresh, strict=True):
            await tx.record(number, EventKind.ALERT_ATTACHED, SYSTEM, source=MENTIONS,
                            title=alert.title, status=AlertStatus.FIRING.value, url=None)
            await tx.say(number, _("[DRILL] Simulated mention on {network} (reach {reach}): "
                                   "“{text}”", network=mention.network, reach=mention.reach,
                                   text=alert.description))
        return len(alerts)
