"""Figures across incidents for the console's insights page: incidents by kind and by severity
week by week, the median times (acknowledge, first approved statement, resolve) and their trend,
and mention volume with its negative share per topic. Drills are counted apart, so a rehearsal
never flatters or spoils the team's numbers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from bot.core.models import CrisisKind, Severity
from bot.core.report import Report
from bot.core.store import Unit

WEEK = timedelta(days=7)
TIMES = ("to_acknowledge", "to_first_approved", "to_resolve")


@dataclass(frozen=True)
class Week:
    start: datetime
    by_severity: dict[Severity, int]
    medians: dict[str, float | None]
    """Median minutes of each of TIMES over the week's incidents that reached the point."""

    @property
    def incidents(self) -> int:
        return sum(self.by_severity.values())


@dataclass(frozen=True)
class Topic:
    name: str
    mentions: int
    negative: int

    @property
    def negative_share(self) -> int:
        return round(100 * self.negative / self.mentions) if self.mentions else 0


@dataclass(frozen=True)
class Insights:
    since: datetime
    until: datetime
    weeks: list[Week]
    by_kind: dict[CrisisKind, int]
    medians: dict[str, float | None]
    topics: list[Topic]
    drills: int


async def reports_since(unit: Unit, since: datetime) -> list[Report]:
    """Every incident opened since `since`, with what its metrics are made of."""
    return [Report(i, await unit.drafts(i.number), await unit.timeline(i.number),
                   await unit.alerts(i.number), await unit.tasks(i.number))
            for i in await unit.incidents() if i.created_at >= since]


def _minutes(values: Sequence[timedelta | None]) -> float | None:
    known = [v.total_seconds() / 60 for v in values if v is not None]
    return round(median(known), 1) if known else None


def _medians(reports: Sequence[Report]) -> dict[str, float | None]:
    metrics = [r.metrics for r in reports]
    return {name: _minutes([getattr(m, name) for m in metrics]) for name in TIMES}


def insights(reports: Sequence[Report], since: datetime, until: datetime) -> Insights:
    """Weeks counted back from `until` (the newest week ends now)."""
    real = [r for r in reports if not r.incident.drill]
    count = max(1, -(-(until - since) // WEEK))
    starts = [until - WEEK * (count - i) for i in range(count)]
    weeks = []
    for start in starts:
        inside = [r for r in real if start <= r.incident.created_at < start + WEEK]
        weeks.append(Week(start, {s: sum(r.incident.severity is s for r in inside)
                                  for s in Severity}, _medians(inside)))
    topics: dict[str, Topic] = {}
    for report in real:
        series = report.series
        if series is None:
            continue
        name = report.incident.group_key or report.incident.title
        known = topics.get(name, Topic(name, 0, 0))
        topics[name] = Topic(name, known.mentions + sum(p.count for p in series.points),
                             known.negative + sum(p.negative for p in series.points))
    return Insights(since, until, weeks,
                    dict(Counter(r.incident.kind for r in real).most_common()),
                    _medians(real), sorted(topics.values(), key=lambda t: -t.mentions),
                    sum(r.incident.drill for r in reports))
