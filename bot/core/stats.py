"""Reports across incidents: how many, of which kinds and severities, and the median times the
team wants to bring down (acknowledge, first status update, first approved statement, resolve).
Drills are left out unless asked for, so rehearsals never flatter or spoil the trend."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

from bot.core.models import KIND_LABELS, CrisisKind, Severity
from bot.core.report import Metrics, Report, duration
from bot.core.text import BLANK, N_, Text, _


@dataclass(frozen=True)
class Median:
    value: timedelta | None
    count: int
    """How many incidents the median is taken over (the others never reached the point)."""


@dataclass(frozen=True)
class Stats:
    since: datetime
    until: datetime
    include_drills: bool
    incidents: int
    drills: int
    by_kind: Mapping[CrisisKind, int]
    by_severity: Mapping[Severity, int]
    medians: Mapping[str, Median]


MEDIANS: tuple[tuple[str, Callable[[Metrics], timedelta | None]], ...] = (
    ("to_acknowledge", lambda m: m.to_acknowledge),
    ("to_first_update", lambda m: m.to_first_update),
    ("to_first_approved", lambda m: m.to_first_approved),
    ("to_resolve", lambda m: m.to_resolve),
)


def _median(values: Sequence[timedelta | None]) -> Median:
    seconds = [v.total_seconds() for v in values if v is not None]
    return Median(timedelta(seconds=median(seconds)) if seconds else None, len(seconds))


def collect_stats(reports: Sequence[Report], since: datetime, until: datetime, *,
                  include_drills: bool = False) -> Stats:
    chosen = [r for r in reports if include_drills or not r.incident.drill]
    metrics = [r.metrics for r in chosen]
    return Stats(
        since=since, until=until, include_drills=include_drills, incidents=len(chosen),
        drills=sum(1 for r in chosen if r.incident.drill),
        by_kind=dict(Counter(r.incident.kind for r in chosen).most_common()),
        by_severity=dict(sorted(Counter(r.incident.severity for r in chosen).items())),
        medians={name: _median([get(m) for m in metrics]) for name, get in MEDIANS},
    )


MEDIAN_LABELS: Mapping[str, Text] = {
    "to_acknowledge": _("time to acknowledge"),
    "to_first_update": _("time to first status update"),
    "to_first_approved": _("time to first approved statement"),
    "to_resolve": _("time to resolve"),
}


def stats_lines(stats: Stats) -> list[Text]:
    lines = [
        _("# Incidents from {since} to {until}", since=stats.since, until=stats.until),
        BLANK,
        N_("{n} incident", "{n} incidents", stats.incidents),
        (N_("Drills included: {n} drill.", "Drills included: {n} drills.", stats.drills)
         if stats.include_drills else _("Drills are left out (add --include-drills).")),
    ]
    if not stats.incidents:
        return lines
    lines += [BLANK, _("## By kind")]
    lines += [_("- {kind}: {count}", kind=KIND_LABELS[k], count=n)
              for k, n in stats.by_kind.items()]
    lines += [BLANK, _("## By severity")]
    lines += [_("- {severity}: {count}", severity=s.value, count=n)
              for s, n in stats.by_severity.items()]
    lines += [BLANK, _("## Median times"), _("| metric | median | incidents |"),
              _("|---|---|---|")]
    lines += [_("| {metric} | {value} | {count} |", metric=MEDIAN_LABELS[name],
                value=duration(m.value), count=m.count) for name, m in stats.medians.items()]
    return lines
