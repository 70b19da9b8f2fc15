"""Mention-spike detection: does the volume (or the negative share) of the last window stand
out from its baseline? Pure arithmetic over per-minute series, so it can be tested on
synthetic timelines and run by whatever keeps the counts.

The rule is the one listening vendors use: a z-score of the window's count against the same
window in earlier periods, with a minimum count so a quiet brand's 3 mentions are not a crisis,
or a negative share over an absolute threshold or a margin above its baseline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import sqrt


@dataclass(frozen=True)
class SpikeRule:
    z: float = 3.0
    min_count: int = 30
    negative_share: float = 0.40
    negative_margin: float = 0.15
    min_negative_count: int = 20


@dataclass(frozen=True)
class Window:
    """Mentions in one window: how many, and how many of them negative."""

    count: int
    negative: int = 0

    @property
    def share(self) -> float:
        return self.negative / self.count if self.count else 0.0


@dataclass(frozen=True)
class Verdict:
    spike: bool
    volume: bool
    negative: bool
    zscore: float


def detect(current: Window, baseline: Sequence[Window], rule: SpikeRule = SpikeRule()
           ) -> Verdict:
    """Compare the current window with the same window of earlier periods (e.g. this hour
    against the same hour of the past 7 days)."""
    counts = [w.count for w in baseline]
    mean = sum(counts) / len(counts) if counts else 0.0
    spread = sqrt(sum((c - mean) ** 2 for c in counts) / len(counts)) if counts else 0.0
    # Poisson floor: a flat baseline must not make every extra mention infinitely surprising.
    zscore = (current.count - mean) / max(spread, sqrt(max(mean, 1.0)))
    volume = current.count >= rule.min_count and zscore >= rule.z
    total = sum(counts)
    base_share = sum(w.negative for w in baseline) / total if total else 0.0
    negative = current.negative >= rule.min_negative_count and (
        current.share >= rule.negative_share
        or current.share >= base_share + rule.negative_margin)
    return Verdict(volume or negative, volume, negative, zscore)
