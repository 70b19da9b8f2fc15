"""Reading: the incident a command addresses, everything known about one incident, its
report, and the metrics across incidents."""

from __future__ import annotations

from datetime import datetime

from bot.core.context import Context
from bot.core.errors import Invalid
from bot.core.insights import reports_since
from bot.core.models import Alert, Draft, Incident, TimelineEvent
from bot.core.report import Report
from bot.core.stats import Stats, collect_stats
from bot.core.text import _
from bot.core.tx import Tx


async def incident_for(tx: Tx, ctx: Context, number: int | None) -> Incident:
    """The incident a command addresses: named (`INC-7`) or the one owning the space."""
    if number is not None:
        return await tx.incident(number)
    if ctx.space is not None:
        found = await tx.unit.incident_by_space(ctx.space.platform, ctx.space.channel)
        if found is not None:
            return found
    raise Invalid(_("Which incident? Run the command in its channel or name it, "
                    "e.g. “/crisis ack INC-1”."))


async def load(tx: Tx, number: int) -> tuple[Incident, list[Draft], list[TimelineEvent],
                                             list[Alert]]:
    """Everything known about one incident (for reports and summaries)."""
    incident = await tx.incident(number)
    return (incident, await tx.unit.drafts(number), await tx.unit.timeline(number),
            await tx.unit.alerts(number))


async def report(tx: Tx, number: int) -> Report:
    incident = await tx.incident(number)
    return Report(incident, await tx.unit.drafts(number), await tx.unit.timeline(number),
                  await tx.unit.alerts(number), await tx.unit.tasks(number))


async def stats(tx: Tx, since: datetime, *, include_drills: bool = False) -> Stats:
    """Incidents opened since `since` (drills only when asked), with their metrics."""
    reports = [r for r in await reports_since(tx.unit, since)
               if include_drills or not r.incident.drill]
    return collect_stats(reports, since, tx.now, include_drills=include_drills)
