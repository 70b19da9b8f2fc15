"""Published statements in the database."""

from __future__ import annotations

from sqlalchemy import select

from bot.core.publication import Publication
from bot.storage.sql.engine import SqlRole
from bot.storage.sql.mappers import to_publication
from bot.storage.sql.tables import PublicationRow


class SqlPublications(SqlRole):
    """The `Publications` port."""

    async def add_publication(self, publication: Publication) -> None:
        p = publication
        row = PublicationRow(
            incident=p.incident, draft=p.draft, version=p.version, text=p.text,
            sha256=p.sha256, language=p.language, destinations=list(p.destinations),
            published_at=p.at, published_by=p.by, title=p.title, replaces=p.replaces,
            updated_at=p.updated_at, links=dict(p.links), messages=dict(p.messages))
        self._s.add(row)
        await self._s.flush()
        publication.id = row.id

    async def update_publication(self, publication: Publication) -> None:
        row = await self._s.get(PublicationRow, publication.id, with_for_update=True)
        if row is None:
            raise LookupError(f"no publication {publication.id} to update")
        row.updated_at = publication.updated_at
        row.links = dict(publication.links)
        row.messages = dict(publication.messages)
        await self._s.flush()

    async def get_publication(self, publication_id: int) -> Publication | None:
        row = await self._s.get(PublicationRow, publication_id)
        return to_publication(row) if row else None

    async def publications(self, incident: int | None = None) -> list[Publication]:
        stmt = select(PublicationRow).order_by(PublicationRow.id)
        if incident is not None:
            stmt = stmt.where(PublicationRow.incident == incident)
        return [to_publication(row) for row in await self._s.scalars(stmt)]
