"""How fast a chat may be written to, as one rule for every process: the next moment a message
may go out, given when the last ones went (a sliding window, so no burst ever exceeds it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class SendRate:
    """At least `gap` seconds between two messages and, when `burst` is set, at most `burst`
    messages in any `window` seconds."""

    gap: float
    burst: int | None = None
    window: float = 60.0

    @property
    def remembered(self) -> int:
        """How many past sends the rule looks at."""
        return max(1, self.burst or 1)


def next_slot(sent: Sequence[float], now: float, rate: SendRate) -> float:
    """The first moment from `now` on when one more message keeps to `rate` (`sent` sorted)."""
    if not sent:
        return now
    due = sent[-1] + rate.gap
    if rate.burst is not None and len(sent) >= rate.burst:
        due = max(due, sent[-rate.burst] + rate.window)
    return max(now, due)


def book(sent: Sequence[float], now: float, rate: SendRate) -> tuple[float, list[float]]:
    """Take the next slot: (the slot, the history to keep with it)."""
    slot = next_slot(sent, now, rate)
    return slot, [*sent, slot][-rate.remembered:]


def settle(sent: Sequence[float], slot: float, at: float) -> list[float]:
    """The message booked for `slot` reached the chat by `at`: stamp it there, as the chat
    counts it when it arrives (a slot already forgotten stays forgotten)."""
    stamps = list(sent)
    if slot in stamps:
        stamps[stamps.index(slot)] = max(slot, at)
    return sorted(stamps)
