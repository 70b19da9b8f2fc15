"""What the public status page shows: published statements only, grouped by incident.

Nothing else about an incident leaves: not its title, notes or drafts. A statement shows once
its status-page delivery has landed; an incident shows while it is open, and for `keep` after
it was resolved (with a "resolved" marker and time).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.models import Incident
from bot.core.publication import STATUS, Publication


@dataclass(frozen=True)
class Statement:
    key: str
    text: str
    title: str | None
    language: str
    at: datetime
    updated_at: datetime | None
    sha256: str


@dataclass(frozen=True)
class Board:
    """One incident on the page: its statements, newest first."""

    incident: str
    resolved_at: datetime | None
    statements: tuple[Statement, ...]

    @property
    def latest(self) -> Statement:
        return self.statements[0]

    @property
    def title(self) -> str | None:
        """The latest public title given at publish time, if any."""
        return next((s.title for s in self.statements if s.title), None)


def status_board(incidents: Sequence[Incident], publications: Sequence[Publication],
                 now: datetime, keep: timedelta) -> list[Board]:
    """Incidents with published statements, the latest statement first."""
    shown = {i.number: i for i in incidents
             if i.resolved_at is None or now - i.resolved_at <= keep}
    by_incident: dict[int, list[Statement]] = {}
    for p in publications:
        if p.incident in shown and STATUS in p.links:
            by_incident.setdefault(p.incident, []).append(Statement(
                p.key, p.text, p.title, p.language, p.at, p.updated_at, p.sha256))
    boards = [Board(shown[n].public_id, shown[n].resolved_at,
                    tuple(sorted(s, key=lambda x: x.at, reverse=True)))
              for n, s in by_incident.items()]
    return sorted(boards, key=lambda b: b.latest.at, reverse=True)
