"""Mention dynamics of one incident: volume and negative share per interval, and the peak.

Built from the incident's own alerts (source `mentions`; `metrics.sentiment` < 0 counts as
negative, `metrics.reach` is summed), so it needs nothing beyond what ingest already stores.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.models import Alert, AlertStatus
from bot.core.sources import MENTIONS

STEPS_MINUTES = (1, 5, 15, 60, 240, 1440)
MAX_POINTS = 60
"""A chart wider than this is unreadable in chat; the interval grows instead."""


@dataclass(frozen=True)
class Point:
    at: datetime
    count: int
    negative: int
    reach: float

    @property
    def negative_share(self) -> int:
        """Percent of the interval's mentions that were negative."""
        return round(100 * self.negative / self.count) if self.count else 0


@dataclass(frozen=True)
class Series:
    points: tuple[Point, ...]
    step: timedelta

    @property
    def peak(self) -> Point:
        """The busiest interval (the first of equals)."""
        return max(self.points, key=lambda p: (p.count, -p.at.timestamp()))

    @property
    def total(self) -> int:
        return sum(p.count for p in self.points)

    @property
    def reach(self) -> float:
        return sum(p.reach for p in self.points)

    @property
    def negative_share(self) -> int:
        negative = sum(p.negative for p in self.points)
        return round(100 * negative / self.total) if self.total else 0


def mention_series(alerts: Sequence[Alert], source: str = MENTIONS) -> Series | None:
    """Per-interval series of the firing mention alerts; None when there are none."""
    mentions = [a for a in alerts if a.source == source and a.status is AlertStatus.FIRING]
    if not mentions:
        return None
    times = [a.occurred_at or a.received_at for a in mentions]
    start = min(times).replace(second=0, microsecond=0)
    span = (max(times) - start).total_seconds() / 60
    minutes = next((m for m in STEPS_MINUTES if span / m < MAX_POINTS), STEPS_MINUTES[-1])
    step = timedelta(minutes=minutes)
    count = int(span // minutes) + 1
    buckets: list[list[Alert]] = [[] for _ in range(count)]
    for alert, at in zip(mentions, times, strict=True):
        buckets[min(int((at - start) / step), count - 1)].append(alert)
    return Series(tuple(
        Point(start + i * step, len(b), sum(1 for a in b if a.metrics.get("sentiment", 0) < 0),
              sum(float(a.metrics.get("reach", 0)) for a in b))
        for i, b in enumerate(buckets)), step)
