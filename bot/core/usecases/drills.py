"""Drills: a training incident marked DRILL everywhere, fed its playbook's simulated mentions
on the scheduler's tick."""

from __future__ import annotations

from functools import partial

from bot.core.models import SYSTEM, Alert, AlertStatus, CrisisKind, EventKind, Incident, PersonId
from bot.core.sources import MENTIONS
from bot.core.spikes import mention_minutes
from bot.core.text import _
from bot.core.tx import Tx
from bot.core.usecases.env import Env, Run
from bot.core.usecases.incidents import declare


async def start_drill(tx: Tx, env: Env, actor: PersonId, kind: CrisisKind, *,
                      platform: str | None = None) -> Incident:
    """A training incident, marked DRILL everywhere, fed by its playbook's simulated
    mentions on the scheduler's tick (the first ones at once)."""
    playbook = env.playbooks.get(kind)
    drill = playbook.drill if playbook else None
    title = drill.title.pick(env.language) if drill else kind.value
    severity = drill.severity if drill else None
    incident = await declare(tx, env, actor, title, severity=severity, kind=kind,
                             platform=platform, drill=True)
    # The drill's mentions form its own topic, so pulses and the report see them.
    incident.group_key = f"drill:{incident.public_id}"
    await tx.unit.update_incident(incident)
    await tx.say(incident.number, _("This is a DRILL, not a real crisis: practise the "
                                    "roles, the checklist, drafting and approvals. "
                                    "Simulated mentions will follow."))
    await feed_drill(tx, env, incident.number)
    return incident


async def feed_drills(run: Run, env: Env) -> int:
    """Feed every open drill the simulated mentions now due, one transaction each; return
    how many."""
    numbers = await run(_open_drills)
    fed = 0
    for number in numbers:
        fed += await run(partial(feed_drill, env=env, number=number))
    return fed


async def _open_drills(tx: Tx) -> list[int]:
    return [i.number for i in await tx.unit.incidents(open_only=True) if i.drill]


async def feed_drill(tx: Tx, env: Env, number: int) -> int:
    """Due mentions not yet stored (their dedup key says so), as alerts of the drill."""
    incident = await tx.incident(number)
    playbook = env.playbooks.get(incident.kind)
    if not incident.is_open or not incident.drill or playbook is None or not playbook.drill:
        return 0
    language = incident.language or env.language
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
        await tx.record(number, EventKind.ALERT_ATTACHED, SYSTEM, source="mentions",
                        title=alert.title, status=AlertStatus.FIRING.value, url=None)
        await tx.say(number, _("[DRILL] Simulated mention on {network} (reach {reach}): "
                               "“{text}”", network=mention.network, reach=mention.reach,
                               text=alert.description))
    return len(alerts)
