"""What a sender says about its alerts besides firing and resolving: an update to an alert it
already sent (PagerDuty's acknowledged, reassigned, priority changed, note added), and how
many alerts of its group it left out (`truncatedAlerts`). Both land in the incident's
timeline; left-out alerts are told in the channel too, since nobody would know otherwise."""

from __future__ import annotations

from bot.core.models import SYSTEM, Alert, EventKind
from bot.core.tx import Tx
from bot.core.views import truncated_text

MAX_DETAIL = 500


async def tell_sender_notes(tx: Tx, incident: int, alert: Alert) -> None:
    if alert.update:
        await tx.record(incident, EventKind.ALERT_UPDATE, SYSTEM, source=alert.source,
                        title=alert.title, update=alert.update,
                        detail=alert.description[:MAX_DETAIL], url=alert.url)
    if alert.truncated > 0:
        await tx.record(incident, EventKind.ALERTS_TRUNCATED, SYSTEM, count=alert.truncated,
                        source=alert.source, group=alert.group_key)
        await tx.say(incident, truncated_text(alert.truncated, alert.source))
