"""What the core needs from adapters, as Protocols: a chat platform, a clock, sign-in links.
The store's ports are in `bot.core.store`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from bot.core.models import Answer, Draft, Incident, PersonId, Space
from bot.core.sending import SendRate
from bot.core.text import Text


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SignIn(Protocol):
    """One-time sign-in links to the web console (`/crisis web`)."""

    async def issue(self, person: str, ttl: timedelta) -> str:
        """A link that signs `person` in once, within `ttl`; never logged, never stored."""
        ...


@dataclass(frozen=True)
class Once:
    """The outbox notice a chat call delivers, for adapters that can avoid posting twice.

    `retry` is set when an earlier attempt may have reached the platform before the process
    could record it; the adapter then looks for what it already posted (Slack: message metadata
    carrying the notice id) before posting again.
    """

    notice: int
    retry: bool = False
    subject: str | None = None
    """What is posted, when several notices may post it (`summary`: any earlier refresh whose
    answer was lost may have posted the incident's summary); a retry looks for it too."""


@runtime_checkable
class Answers(Protocol):
    """A chat that can answer someone in place (outside any incident space)."""

    async def answer(self, answer: Answer) -> str:
        """Send it, ahead of routine messages to the same chat; the id of the message sent
        (the last one, when a long answer took several)."""
        ...


class SendSlots(Protocol):
    """Turns to speak in a chat, booked where every process sharing the database sees them
    (the store's `Pacing` role), so a platform's per-chat limits hold across replicas."""

    async def reserve(self, chat: str, now: float, rate: SendRate) -> float:
        """Book the chat's next slot within `rate`; return when it starts (epoch seconds)."""
        ...

    async def sent(self, chat: str, slot: float, at: float) -> None:
        """The call booked at `slot` returned at `at`: the next gap counts from then."""
        ...


LONGEST_WAIT = 3600.0
"""The longest `Retry-After` (seconds) any platform or receiver is granted: one asking for
days (or for more than a date can hold) is asked again within the hour, not never."""


class RetryLater(Exception):
    """Raised by an adapter when the platform says "not now" (rate limit, 5xx, connection
    lost): the outbox tries again after `after` seconds (e.g. Slack's `Retry-After`, at most
    `LONGEST_WAIT`), or after its own backoff when `after` is None."""

    def __init__(self, reason: str, after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.after = None if after is None else min(max(after, 0.0), LONGEST_WAIT)


class Chat(Protocol):
    """The little a chat platform must do for crisisbot; adapters translate to their API."""

    platform: str

    async def open_space(self, incident: Incident, *, once: Once | None = None) -> Space:
        """Create the incident's channel / topic and return where it lives."""
        ...

    async def invite(self, space: Space, people: Sequence[PersonId]) -> None: ...

    async def post(self, space: Space, lines: Sequence[Text], *, thread: str | None = None,
                   draft: Draft | None = None, language: str | None = None,
                   once: Once | None = None) -> str:
        """Post a message (a draft card when `draft` is given); return its message id."""
        ...

    async def update(self, space: Space, message: str, lines: Sequence[Text], *,
                     draft: Draft | None = None, language: str | None = None) -> None: ...

    async def pin(self, space: Space, message: str) -> None: ...

    async def close_space(self, space: Space) -> None:
        """The incident is resolved: close (or archive) its channel / topic."""
        ...

    async def reopen_space(self, space: Space) -> None: ...

    async def archive_space(self, space: Space) -> None:
        """Some days after resolution (`schedule.archive_after`, off by default): archive the
        channel for good. Must succeed when it is already archived (a retried notice)."""
        ...

    async def direct(self, person: PersonId, lines: Sequence[Text], *,
                     language: str | None = None, once: Once | None = None) -> None: ...
