"""Drafts in the database, with their versions and decisions as history rows."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.models import Draft
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.mappers import decision_row, to_draft, version_row
from bot.storage.sql.tables import DraftRow


class SqlDrafts(SqlRole):
    """The `Drafts` port."""

    async def add_draft(self, draft: Draft) -> None:
        row = DraftRow(incident=draft.incident, number=draft.number, author=draft.author,
                       created_at=draft.created_at, target=draft.target,
                       state=draft.state.value,
                       versions=[version_row(v) for v in draft.versions], decisions=[])
        self._s.add(row)
        await self._s.flush()  # versions before the decisions that reference them
        row.decisions.extend(decision_row(d) for d in draft.decisions)
        await self._s.flush()

    async def update_draft(self, draft: Draft) -> None:
        """Versions and decisions are history: new ones are added, a version's message id may
        be set, nothing is removed, and a decision already stored is not stored twice."""
        row = await self._draft_row(draft.incident, draft.number)
        if row is None:
            raise LookupError(f"no draft {draft.incident}/{draft.number} to update")
        row.target = draft.target
        row.state = draft.state.value
        stored = {v.number: v for v in row.versions}
        for version in draft.versions:
            if version.number in stored:
                stored[version.number].message = version.message
                stored[version.number].published_at = version.published_at
            else:
                row.versions.append(version_row(version))
        await self._s.flush()  # versions before the decisions that reference them
        decided = {(d.version, d.person) for d in row.decisions}
        row.decisions.extend(decision_row(d) for d in draft.decisions
                             if (d.version, d.person) not in decided)
        await self._s.flush()

    async def get_draft(self, incident: int, number: int) -> Draft | None:
        row = await self._draft_row(incident, number)
        return to_draft(row) if row else None

    async def drafts(self, incident: int) -> list[Draft]:
        rows = await self._s.scalars(
            select(DraftRow).where(DraftRow.incident == incident).order_by(DraftRow.number)
        )
        return [to_draft(row) for row in rows]

    async def _draft_row(self, incident: int, number: int) -> DraftRow | None:
        row: DraftRow | None = await self._s.scalar(
            select(DraftRow).where(DraftRow.incident == incident, DraftRow.number == number)
        )
        return row
