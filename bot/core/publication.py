"""A published statement: the exact text of one approved version of a draft, its SHA-256, and
where it went. Destinations (a status page, a Telegram or Slack channel, a signed webhook) are
adapters behind the `Destination` protocol; the core decides what is published, they carry it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from bot.core.models import PersonId, public_id
from bot.core.ports import Once
from bot.core.text import Text, _

STATUS, TELEGRAM, SLACK, WEBHOOK = "status", "telegram", "slack", "webhook"
DESTINATIONS = (STATUS, TELEGRAM, SLACK, WEBHOOK)
"""Every destination a team may configure, in the order statements are delivered."""

DESTINATION_LABELS: Mapping[str, Text] = {
    STATUS: _("the status page"),
    TELEGRAM: _("the Telegram channel"),
    SLACK: _("the Slack channel"),
    WEBHOOK: _("the webhook"),
}


def digest(text: str) -> str:
    """The SHA-256 of the statement's UTF-8 bytes: what every destination must receive."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass
class Publication:
    """One version of one draft, published once to `destinations`. A later version of the same
    draft `replaces` it; then `updated_at` says when it stopped being the current word."""

    incident: int
    draft: int
    version: int
    text: str
    sha256: str
    language: str
    destinations: tuple[str, ...]
    at: datetime
    by: PersonId
    title: str | None = None
    """The public title, given at publish time; the incident's own title never leaves."""
    replaces: int | None = None
    updated_at: datetime | None = None
    links: dict[str, str] = field(default_factory=dict)
    """Destination -> where the statement can be seen (set as each delivery lands)."""
    messages: dict[str, str] = field(default_factory=dict)
    """Destination -> the platform's message id (to mark it updated later)."""
    id: int | None = None

    @property
    def incident_id(self) -> str:
        return public_id(self.incident)

    @property
    def key(self) -> str:
        """A stable public id of this publication (`INC-7-s3`), for anchors and webhooks."""
        return f"{self.incident_id}-s{self.id}"


@dataclass(frozen=True)
class Posted:
    """Where one delivery landed: the platform's message id (to edit it later) and a link."""

    message: str | None
    link: str


class Destination(Protocol):
    """A place statements are published to."""

    name: str

    async def publish(self, statement: Publication, earlier: Publication | None, *,
                      once: Once) -> Posted:
        """Deliver `statement` byte for byte (a correction names the `earlier` one it
        replaces); `once.notice` is stable across retries (an idempotency key)."""
        ...

    async def mark_updated(self, earlier: Publication, message: str,
                           later: Publication) -> None:
        """Mark the `earlier` statement's message as replaced by `later`, where the platform
        allows editing (a no-op where it does not)."""
        ...


def updated_note(later: Publication) -> Text:
    """What an earlier statement's message says once a correction replaced it."""
    return _("Updated {time}: a newer statement replaces this one.", time=later.at)
